"""Occlusion-sensitivity heat maps (backend.explain), POST /v1/explain, and the model-randomisation
sanity check of Adebayo et al. 2018 on the bundled model."""

from __future__ import annotations

import base64
import dataclasses
import io
import itertools

import numpy as np
import onnx
import onnxruntime as ort
import provenance_images as pi
import pytest
from image_bytes import solid
from onnx import TensorProto, helper, numpy_helper
from PIL import Image, ImageDraw

from backend.explain import GRID, blurred, cell_bounds, occlusion_map
from backend.inference import Detector
from backend.model_card import load_card
from backend.preprocessing import center_crop_box, preprocess, to_model_input

BUNDLED = "backend/models/shinsaku-detector.onnx"
REGION = 96  # the texture model below looks at the top-left 96 x 96 px: 3 x 3 cells of a 7 x 7 grid


def texture_model(region: int = REGION, size: int = 224) -> ort.InferenceSession:
    """ONNX model: sigmoid(10 * mean |horizontal gradient| in the top-left ``region`` px - 1)."""
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, size, size])
    prob = helper.make_tensor_value_info("p", TensorProto.FLOAT, ["batch"])
    ints = lambda name, values: helper.make_tensor(name, TensorProto.INT64, [len(values)], values)
    nodes = [helper.make_node("Slice", ["image", "s0", "e0", "ax"], ["reg"]),
             helper.make_node("Slice", ["reg", "one", "end", "w"], ["right"]),
             helper.make_node("Slice", ["reg", "zero", "endm1", "w"], ["left"]),
             helper.make_node("Sub", ["right", "left"], ["d"]), helper.make_node("Abs", ["d"], ["a"]),
             helper.make_node("ReduceMean", ["a"], ["m"], axes=[1, 2, 3], keepdims=0),
             helper.make_node("Mul", ["m", "k"], ["z"]), helper.make_node("Sub", ["z", "c"], ["zc"]),
             helper.make_node("Sigmoid", ["zc"], ["p"])]
    inits = [ints("s0", [0, 0]), ints("e0", [region, region]), ints("ax", [2, 3]), ints("one", [1]),
             ints("end", [region]), ints("zero", [0]), ints("endm1", [region - 1]), ints("w", [3]),
             helper.make_tensor("k", TensorProto.FLOAT, [], [10.0]),
             helper.make_tensor("c", TensorProto.FLOAT, [], [1.0])]
    model = helper.make_model(helper.make_graph(nodes, "texture", [image], [prob], inits),
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def drawing(size=(320, 256), seed=0) -> Image.Image:
    """A structured test picture: gradient background, shapes, lines and fine noise."""
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx / w * 255, yy / h * 255, np.full((h, w), 128.0)], axis=-1)
    base += rng.normal(0, 12, base.shape)
    img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    draw.ellipse((40, 30, 150, 140), fill=(250, 220, 200), outline=(20, 20, 20), width=4)
    for i in range(0, w, 23):
        draw.line((i, h - 80, i + 40, h), fill=(10, 10, 60), width=2)
    draw.rectangle((w - 110, 20, w - 20, 110), fill=(30, 160, 90))
    return img


def png(img: Image.Image, **save) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", **save)
    return buf.getvalue()


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of two maps (ties broken by position)."""
    ra, rb = a.ravel().argsort().argsort(), b.ravel().argsort().argsort()
    return float(np.corrcoef(ra, rb)[0, 1])


def test_map_finds_the_only_region_the_model_reads():
    session = texture_model()
    predict = lambda batch: session.run(["p"], {"image": batch})[0]
    x = to_model_input(drawing(), 224)
    ex = occlusion_map(predict, x)
    cells = REGION // (224 // GRID)
    assert ex.heat.shape == (GRID, GRID) and ex.heat.max() == pytest.approx(1.0)
    assert np.all(ex.heat[:cells, :cells] > 0.05)  # every cell of the region matters
    outside = ex.heat.copy()
    outside[:cells, :cells] = 0
    assert np.all(outside == 0)  # nothing outside it does
    assert ex.delta[:cells, :cells].sum() > 0  # blurring texture lowers this model's probability overall
    assert ex.probability_ai == pytest.approx(float(predict(x[None])[0]))


def test_blur_keeps_shape_range_and_flattens_texture():
    x = to_model_input(drawing(), 224)
    b = blurred(x)
    assert b.shape == x.shape and b.dtype == np.float32 and 0 <= b.min() and b.max() <= 1
    assert np.abs(np.diff(b, axis=2)).mean() < 0.25 * np.abs(np.diff(x, axis=2)).mean()


def test_cells_cover_the_input():
    bounds = cell_bounds(224, 7)
    assert bounds[0][0] == 0 and bounds[-1][1] == 224 and all(a[1] == b[0] for a, b in itertools.pairwise(bounds))


def test_bad_input_shape_and_grid_are_refused():
    with pytest.raises(ValueError):
        occlusion_map(lambda b: np.zeros(len(b)), np.zeros((224, 224, 3), np.float32))
    with pytest.raises(ValueError):
        occlusion_map(lambda b: np.zeros(len(b)), np.zeros((3, 8, 8), np.float32), grid=9)


@pytest.mark.parametrize("size", [(400, 300), (300, 400), (224, 224), (1000, 250)])
def test_crop_box_is_the_region_the_model_sees(size):
    img = drawing(size)
    left, top, right, bottom = center_crop_box(*size, 224)
    side = min(size)
    assert right - left == pytest.approx(side, abs=1) and bottom - top == pytest.approx(side, abs=1)
    cropped = img.crop(tuple(round(v) for v in (left, top, right, bottom)))
    diff = np.abs(to_model_input(cropped, 224) - to_model_input(img, 224)).mean()
    assert diff < 0.02  # same region (the rest would differ by far more on this picture)


def randomised_copy(card, directory, seed=0):
    """The bundled model with every weight tensor (>= 2 dims) redrawn from a normal of the same mean
    and standard deviation (Adebayo et al. 2018, full model-parameter randomisation)."""
    model = onnx.load(str(card.onnx_path))
    rng = np.random.default_rng(seed)
    count = 0
    for init in model.graph.initializer:
        weights = numpy_helper.to_array(init)
        if weights.dtype == np.float32 and weights.ndim >= 2:
            fresh = rng.standard_normal(weights.shape) * weights.std() + weights.mean()
            init.CopyFrom(numpy_helper.from_array(fresh.astype(np.float32), init.name))
            count += 1
    path = directory / "randomised.onnx"
    onnx.save(model, str(path))
    return dataclasses.replace(card, onnx_path=path), count


def test_sanity_check_map_changes_when_weights_are_randomised(tmp_path):
    card = load_card(BUNDLED)
    random_card, count = randomised_copy(card, tmp_path)
    assert count > 10
    x = preprocess(png(drawing()))
    trained = occlusion_map(Detector(card, "cpu", 2).predict, x)
    again = occlusion_map(Detector(card, "cpu", 2).predict, x)
    random = occlusion_map(Detector(random_card, "cpu", 2).predict, x)
    assert trained.max_change > 0 and np.allclose(trained.heat, again.heat, atol=1e-4)  # deterministic
    changed = random.max_change == 0 or rank_correlation(trained.heat, random.heat) < 0.5
    assert changed, (trained.heat.round(2), random.heat.round(2))


# ---- POST /v1/explain on the fixture model ----

def test_explain_answers_map_overlay_crop_and_evidence(client):
    data = png(drawing((400, 300)), pnginfo=None)
    tagged = pi.png_with_text({"parameters": pi.A1111})
    body = client.post("/v1/explain", data=data, content_type="image/png").json
    classify = client.post("/v1/classify", data=data, content_type="image/png").json
    assert body["probability_ai"] == pytest.approx(classify["probability_ai"], abs=1e-5)
    assert body["label"] == classify["label"] and body["image_sha256"] == classify["image_sha256"]
    heat = np.array(body["heatmap"]["heat"])
    assert heat.shape == (GRID, GRID) and heat.min() >= 0 and heat.max() <= 1
    assert np.array(body["heatmap"]["delta"]).shape == (GRID, GRID) and "Zeiler" in body["heatmap"]["method"]
    overlay = Image.open(io.BytesIO(base64.b64decode(body["heatmap"]["overlay_png"])))
    assert overlay.format == "PNG" and overlay.mode == "RGBA" and overlay.size == (224, 224)
    crop = body["crop"]
    assert (crop["image_width"], crop["image_height"], crop["y"], crop["height"]) == (400, 300, 0, 300)
    assert crop["x"] == pytest.approx(50, abs=1) and crop["width"] == pytest.approx(300, abs=1)
    assert body["evidence"] == []
    assert client.post("/v1/explain", data=tagged, content_type="image/png").json["evidence"][0]["says"] == "ai"


def test_explain_crop_follows_exif_orientation(client):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90: a 400 x 300 file is shown 300 x 400
    buf = io.BytesIO()
    drawing((400, 300)).save(buf, "JPEG", exif=exif.tobytes())
    crop = client.post("/v1/explain", data=buf.getvalue(), content_type="image/jpeg").json["crop"]
    assert (crop["image_width"], crop["image_height"], crop["x"]) == (300, 400, 0)
    assert crop["y"] == pytest.approx(50, abs=1)


def test_explain_crop_is_in_full_size_pixels_when_the_jpeg_is_decoded_shrunk(client):
    """The fixture card has ``input.jpeg_draft``: a 2000 x 1000 JPEG turned by EXIF is decoded at
    half size, yet the crop is reported in pixels of the full, oriented image."""
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    drawing((2000, 1000)).save(buf, "JPEG", exif=exif.tobytes())
    crop = client.post("/v1/explain", data=buf.getvalue(), content_type="image/jpeg").json["crop"]
    assert (crop["image_width"], crop["image_height"], crop["x"]) == (1000, 2000, 0)
    assert crop["y"] == pytest.approx(500, abs=2) and crop["height"] == pytest.approx(1000, abs=2)


@pytest.mark.parametrize("data,ctype,status,code", [
    (b"junk", "image/png", 415, "unsupported_media_type"),
    (solid("white", fmt="JPEG")[:40], "image/jpeg", 422, "corrupt_image"),
    (solid("white"), "text/plain", 415, "unsupported_media_type"),
    (b"x" * (21 << 20), "image/png", 413, "payload_too_large")])
def test_explain_errors_are_json(client, data, ctype, status, code):
    response = client.post("/v1/explain", data=data, content_type=ctype, headers={"Content-Length": str(len(data))})
    assert response.status_code == status and response.is_json and response.json["error"] == code


def test_a_second_explanation_waits_then_gets_busy(make_app):
    application = make_app(REQUEST_TIMEOUT_S=0.2)
    service = application.extensions["shinsaku"]
    assert service._explaining.acquire(timeout=1)  # an explanation in progress
    try:
        response = application.test_client().post("/v1/explain", data=png(drawing()), content_type="image/png")
    finally:
        service._explaining.release()
    assert response.status_code == 503 and response.json["error"] == "busy" and "Retry-After" in response.headers
    assert application.test_client().post("/v1/explain", data=png(drawing()), content_type="image/png").status_code == 200
