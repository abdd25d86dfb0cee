"""Hostile images: bounded work per image (crop before scale), a decode memory budget shared by
concurrent requests, and the centre crop unchanged for ordinary shapes."""

from __future__ import annotations

import io
import threading

import numpy as np
import pytest
from image_bytes import encode
from PIL import Image

from backend import preprocessing as P
from backend.memory import BudgetTimeout, DecodeBudget, release_free_memory, tune_allocator


def scale_then_crop(img: Image.Image, size: int = 224) -> Image.Image:
    """The centre crop as it was before cropping first: the reference."""
    scale = size / min(img.size)
    new = (max(size, round(img.size[0] * scale)), max(size, round(img.size[1] * scale)))
    img = img.resize(new, Image.Resampling.BICUBIC, reducing_gap=P.REDUCING_GAP)
    left, top = (new[0] - size) // 2, (new[1] - size) // 2
    return img.crop((left, top, left + size, top + size))


@pytest.mark.parametrize("size", [(224, 224), (185, 273), (1023, 777), (3001, 1000), (449, 1500), (100, 50)])
def test_center_crop_is_unchanged_up_to_four_to_one(size):
    img = Image.fromarray(np.random.default_rng(sum(size)).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
    np.testing.assert_array_equal(np.asarray(P.resize_to_input(img)), np.asarray(scale_then_crop(img)))


def test_extreme_aspect_ratio_scales_only_the_crop(monkeypatch):
    sizes = []
    real = Image.Image.resize
    monkeypatch.setattr(Image.Image, "resize", lambda self, size, *a, **k: sizes.append(tuple(size)) or real(self, size, *a, **k))
    row = np.zeros((1, 16384, 3), dtype=np.uint8)
    row[0, 8192 - 2:8192 + 2] = 255  # a white centre: the crop's source
    out = P.resize_to_input(Image.fromarray(row))
    assert max(w * h for w, h in sizes) <= P.MAX_SCALED_AREA * 224 * 224  # never the 3,670,016 x 224 image
    assert out.size == (224, 224) and np.asarray(out).mean() > 200


def test_extreme_crop_stays_close_to_scale_then_crop():
    grad = np.tile(np.linspace(0, 255, 2400, dtype=np.float32), (120, 1))  # smooth 20:1 image
    img = Image.fromarray(np.stack([grad] * 3, axis=-1).astype(np.uint8))
    diff = np.abs(np.asarray(P.resize_to_input(img), dtype=int) - np.asarray(scale_then_crop(img), dtype=int))
    assert diff.max() <= 2


@pytest.mark.parametrize("fmt", ["PNG", "GIF", "WEBP", "BMP", "JPEG"])
@pytest.mark.parametrize("shape", [(16383, 1), (1, 16383), (16383, 300)])  # WebP's largest side
def test_extreme_shapes_are_a_clear_422(client, fmt, shape):
    data = encode(Image.new("RGB", shape, "white"), fmt)
    response = client.post("/v1/classify", data=data, content_type="image/png")
    assert response.status_code == 422 and response.json["error"] == "extreme_aspect_ratio"


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "JPEG"])
@pytest.mark.parametrize("shape", [(5000, 100), (100, 5000)])  # 50:1, the most accepted
def test_long_strips_up_to_the_limit_are_judged(client, fmt, shape):
    response = client.post("/v1/classify", data=encode(Image.new("RGB", shape, "white"), fmt), content_type="image/png")
    assert response.status_code == 200 and response.json["label"] == "ai"  # white, as a square white image


def test_aspect_ratio_limit_follows_the_config(make_app):
    client = make_app(MAX_ASPECT_RATIO=2).test_client()

    def post(shape):
        return client.post("/v1/classify", data=encode(Image.new("RGB", shape), "PNG"), content_type="image/png")

    assert post((200, 100)).status_code == 200 and post((100, 200)).status_code == 200  # 2:1, the most accepted
    assert post((201, 100)).json["error"] == "extreme_aspect_ratio"


def test_extreme_batch_item_is_its_own_422(client):
    files = [encode(Image.new("RGB", shape), "PNG") for shape in ((64, 64), (16384, 1))]
    response = client.post("/v1/classify/batch", data={"images": [(io.BytesIO(f), f"f{i}.png") for i, f in enumerate(files)]})
    first, second = response.json["results"]
    assert response.status_code == 200 and "label" in first
    assert second["status"] == 422 and second["error"] == "extreme_aspect_ratio"


def test_training_decoding_has_no_aspect_ratio_limit():
    img = P.decode_image(encode(Image.new("RGB", (16384, 1)), "PNG"))  # DecodeLimits(): as training decodes
    assert P.to_model_input(img).shape == (3, 224, 224)


def test_animated_bomb_is_judged_on_frame_zero(client):
    frames = [Image.new("P", (4000, 4000), i % 2) for i in range(3)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert client.post("/v1/classify", data=data, content_type="image/gif").status_code == 200


def test_alpha_is_composited_bit_for_bit_as_before():
    rgba = Image.fromarray(np.random.default_rng(3).integers(0, 256, (40, 50, 4), dtype=np.uint8), "RGBA")
    canvas = Image.new("RGBA", rgba.size, P.BACKGROUND + (255,))
    expected = Image.alpha_composite(canvas, rgba).convert("RGB")
    np.testing.assert_array_equal(np.asarray(P.decode_image(encode(rgba, "PNG"))), np.asarray(expected))


def test_header_is_checked_before_decoding():
    img = P.open_image(encode(Image.new("RGB", (300, 200)), "PNG"))
    assert img.size == (300, 200) and P.decoded_bytes(img) == 300 * 200 * 8
    with pytest.raises(P.ImageTooLarge):
        P.open_image(encode(Image.new("1", (20_000, 20_000)), "PNG"))


def test_budget_bounds_concurrent_holders():
    budget = DecodeBudget(100)
    peak, inside, lock = [0], [0], threading.Lock()
    gate = threading.Barrier(6)

    def worker():
        gate.wait()
        with budget.hold(40, timeout=10):
            with lock:
                inside[0] += 40
                peak[0] = max(peak[0], inside[0])
            threading.Event().wait(0.02)
            with lock:
                inside[0] -= 40

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert peak[0] <= 100 and budget.in_use == 0


def test_budget_larger_than_capacity_runs_alone_and_times_out():
    budget = DecodeBudget(100)
    with budget.hold(10_000):  # clamped: takes the whole budget
        assert budget.in_use == 100
        with pytest.raises(BudgetTimeout), budget.hold(1, timeout=0.05):
            pass
    assert budget.in_use == 0


def test_busy_decoding_budget_is_503(make_app):
    application = make_app(REQUEST_TIMEOUT_S=0.1)
    service = application.extensions["shinsaku"]
    with service.budget.hold(service.budget.capacity):
        response = application.test_client().post("/v1/classify", data=encode(Image.new("RGB", (64, 64)), "PNG"),
                                                   content_type="image/png")
    assert response.status_code == 503 and response.json["error"] == "busy" and response.headers["Retry-After"]


def test_allocator_helpers_never_fail():
    assert tune_allocator() in (True, False) and release_free_memory() in (True, False)
