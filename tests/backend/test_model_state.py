"""Health is 200 only with a loaded, warmed-up model; 503 while loading, missing, corrupt or failing."""

from __future__ import annotations

import json
import threading

import pytest
from image_bytes import solid
from onnx_fixture import build_onnx, card_dict, write_model

from backend.inference import Detector
from backend.model_card import ModelError, load_card


def assert_unavailable(client, reason: str | None = None):
    health = client.get("/v1/health")
    assert health.status_code == 503 and health.headers["Retry-After"]
    if reason:
        assert reason in health.json["message"]
    for response in (client.get("/v1/model"),
                     client.post("/v1/classify", data=solid(), content_type="image/png")):
        assert response.status_code == 503 and response.json["error"] == "model_unavailable"


def test_missing_model_is_503(make_app, tmp_path):
    assert_unavailable(make_app(MODEL_PATH=str(tmp_path / "nothing.json")).test_client(), "not found")


def test_sha256_mismatch_is_503(make_app, tmp_path):
    card = write_model(tmp_path, sha256="0" * 64)
    assert_unavailable(make_app(MODEL_PATH=str(card)).test_client(), "sha256 mismatch")


def test_corrupt_model_is_503(make_app, tmp_path):
    garbage = build_onnx()[:200]  # sha256 in the card matches, the bytes are not a model
    card = write_model(tmp_path, onnx_bytes=garbage)
    assert_unavailable(make_app(MODEL_PATH=str(card)).test_client(), "cannot load")


def test_wrong_io_names_is_503(make_app, tmp_path):
    card = write_model(tmp_path, output={"name": "logits", "shape": ["batch"]})
    assert_unavailable(make_app(MODEL_PATH=str(card)).test_client(), "outputs")


def test_failing_warm_up_is_503(make_app, tmp_path):
    card = write_model(tmp_path / "m", input={"name": "image", "size": 100, "resize": "center_crop"})
    assert_unavailable(make_app(MODEL_PATH=str(card)).test_client(), "warm-up")


def test_model_path_may_name_the_onnx_file(make_app, fixture_model):
    client = make_app(MODEL_PATH=str(fixture_model.with_suffix(".onnx"))).test_client()
    assert client.get("/v1/health").status_code == 200


def test_503_while_loading_then_200(make_app, monkeypatch):
    release = threading.Event()
    real = Detector.warm_up
    monkeypatch.setattr(Detector, "warm_up", lambda self: release.wait(10) and real(self))
    application = make_app(LOAD_MODEL_ASYNC=True)
    client = application.test_client()
    health = client.get("/v1/health")
    assert health.status_code == 503 and health.json["status"] == "loading"
    assert client.post("/v1/classify", data=solid(), content_type="image/png").status_code == 503
    release.set()
    assert application.extensions["shinsaku"].wait_loaded(10)
    assert client.get("/v1/health").status_code == 200


@pytest.mark.parametrize("change", [{"resize": "stretch"}, {"threshold": 0.7}, {"uncertain_band": [0.6, 0.4]}])
def test_invalid_cards_are_refused(tmp_path, change):
    data = build_onnx()
    card = card_dict(data)
    if "resize" in change:
        card["input"]["resize"] = change["resize"]
    else:
        card.update(change)
    (tmp_path / "shinsaku-detector.onnx").write_bytes(data)
    (tmp_path / "shinsaku-detector.json").write_text(json.dumps(card))
    with pytest.raises(ModelError):
        load_card(tmp_path / "shinsaku-detector.json")


@pytest.mark.parametrize("jpeg_draft", [True, False, None])
def test_jpeg_draft_follows_the_card(make_app, tmp_path, monkeypatch, jpeg_draft):
    """Large JPEGs are decoded shrunk only for a card whose ``input.jpeg_draft`` is true; a card
    without the key (models before 2.2.0) gets the full decode it was trained with."""
    import io

    from PIL import Image
    from PIL.JpegImagePlugin import JpegImageFile

    sizes = []
    real = JpegImageFile.draft
    monkeypatch.setattr(JpegImageFile, "draft", lambda self, mode, size: sizes.append(size) or real(self, mode, size))
    inp = {"name": "image", "shape": ["batch", 3, 224, 224], "size": 224, "resize": "center_crop"}
    card = write_model(tmp_path, input=inp if jpeg_draft is None else {**inp, "jpeg_draft": jpeg_draft})
    client = make_app(MODEL_PATH=str(card)).test_client()
    buf = io.BytesIO()
    Image.new("RGB", (1800, 1000), "white").save(buf, "JPEG")
    response = client.post("/v1/classify", data=buf.getvalue(), content_type="image/jpeg")
    assert response.status_code == 200 and response.json["label"] == "ai"
    assert sizes == ([(448, 448)] if jpeg_draft else [])
    assert load_card(card).draft_size == (224 if jpeg_draft else None)
