"""Execution provider and precision: reported by /v1/health and /v1/model; ``PRECISION=int8`` loads
the card's int8 entry or refuses to start with a clear reason; the I/O binding path gives the same
output as ``session.run``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from image_bytes import solid
from onnx_fixture import build_onnx, fixture_probability, write_model
from test_model_state import assert_unavailable

from backend.config import ConfigError, build_config
from backend.inference import Detector
from backend.model_card import ModelError, file_sha256, for_precision, load_card
from backend.preprocessing import preprocess


def add_int8_entry(card_path, onnx_bytes: bytes, **overrides) -> None:
    """Write ``onnx_bytes`` as the int8 file beside the card and its ``int8`` entry into the card."""
    card = json.loads(card_path.read_text())
    (card_path.parent / "shinsaku-detector-int8.onnx").write_bytes(onnx_bytes)
    card["int8"] = {"onnx_file": "shinsaku-detector-int8.onnx", "sha256": file_sha256(
        card_path.parent / "shinsaku-detector-int8.onnx"), "fp32_sha256": card["sha256"], **overrides}
    card_path.write_text(json.dumps(card))


def test_health_and_model_report_provider_and_precision(client):
    health = client.get("/v1/health").json
    assert health["execution_provider"] == "CPUExecutionProvider" and health["precision"] == "fp32"
    model = client.get("/v1/model").json
    assert model["precision"] == "fp32" and model["quantization"] == {}


def test_unknown_precision_is_a_config_error():
    with pytest.raises(ConfigError, match="PRECISION"):
        build_config(environ={"SHINSAKU_PRECISION": "fp16"})
    assert build_config(environ={"SHINSAKU_PRECISION": "int8"})["PRECISION"] == "int8"


def test_int8_without_entry_refuses_with_the_command_to_run(make_app):
    assert_unavailable(make_app(PRECISION="int8").test_client(), "python -m training.quantize")


def test_int8_entry_of_another_model_is_refused(make_app, tmp_path):
    card = write_model(tmp_path)
    add_int8_entry(card, build_onnx(), fp32_sha256="0" * 64)
    assert_unavailable(make_app(MODEL_PATH=str(card), PRECISION="int8").test_client(), "another model")


def test_int8_entry_with_missing_file_is_refused(make_app, tmp_path):
    card = write_model(tmp_path)
    add_int8_entry(card, build_onnx())
    (tmp_path / "shinsaku-detector-int8.onnx").unlink()
    assert_unavailable(make_app(MODEL_PATH=str(card), PRECISION="int8").test_client(), "not readable")


def test_int8_serves_the_entry_file_with_its_sha256(make_app, tmp_path):
    card = write_model(tmp_path)
    # a different file than the FP32 one (graph name), so the reported sha256 tells them apart
    int8_bytes = build_onnx().replace(b"shinsaku-fixture", b"shinsaku-int8-fx")
    add_int8_entry(card, int8_bytes, comparison={"label_agreement": 1.0})
    client = make_app(MODEL_PATH=str(card), PRECISION="int8").test_client()
    health = client.get("/v1/health").json
    assert health["precision"] == "int8"
    assert health["model_sha256"] == json.loads(card.read_text())["int8"]["sha256"] != json.loads(
        card.read_text())["sha256"]
    assert client.get("/v1/model").json["quantization"]["comparison"] == {"label_agreement": 1.0}
    assert client.post("/v1/classify", data=solid("white"), content_type="image/png").json["label"] == "ai"


def test_fp32_ignores_a_broken_int8_entry(tmp_path):
    card_path = write_model(tmp_path)
    add_int8_entry(card_path, build_onnx())
    (card_path.parent / "shinsaku-detector-int8.onnx").write_bytes(b"replaced after quantising")
    card = load_card(card_path)
    assert for_precision(card, "fp32") is card
    with pytest.raises(ModelError, match="sha256 mismatch"):
        for_precision(card, "int8")


def test_io_binding_path_matches_session_run(fixture_model):
    detector = Detector(load_card(fixture_model), provider="cpu")
    assert detector.io_binding_device is None  # CPU provider: plain run
    batch = np.stack([preprocess(solid(c)) for c in ("white", "black", (100, 150, 200))])
    plain = detector.predict(batch)
    detector.io_binding_device = "cpu"  # the CUDA path's binding code, on host memory
    bound = detector.predict(batch)
    np.testing.assert_allclose(bound, plain, atol=1e-6)
    np.testing.assert_allclose(bound, fixture_probability(batch), atol=1e-4)
