"""Execution provider and precision: reported by /v1/health and /v1/model; ``PRECISION=int8`` and
``PRECISION=fp16`` load the card's entry of that name or refuse to start with a clear reason; fp16 on
the CPU provider is served with a warning; the I/O binding path gives the same output as
``session.run``."""

from __future__ import annotations

import json
import logging

import numpy as np
import onnx
import pytest
from image_bytes import solid
from onnx import TensorProto, helper, numpy_helper
from onnx_fixture import SCALE, SIZE, build_onnx, fixture_probability, write_model
from test_model_state import assert_unavailable

from backend.config import ConfigError, build_config
from backend.inference import Detector
from backend.model_card import PRECISIONS, ModelError, file_sha256, for_precision, load_card
from backend.preprocessing import preprocess

REDUCED = [p for p in PRECISIONS if p != "fp32"]


def add_entry(card_path, onnx_bytes: bytes, precision: str = "int8", **overrides) -> None:
    """Write ``onnx_bytes`` as the ``precision`` file beside the card and its entry into the card."""
    card = json.loads(card_path.read_text())
    name = f"shinsaku-detector-{precision}.onnx"
    (card_path.parent / name).write_bytes(onnx_bytes)
    card[precision] = {"onnx_file": name, "sha256": file_sha256(card_path.parent / name),
                       "fp32_sha256": card["sha256"], **overrides}
    card_path.write_text(json.dumps(card))


def build_fp16_onnx() -> bytes:
    """The fixture model's function computed in float16 between float32 input and output casts (the
    shape of ``training.quantize.to_fp16``'s output): ``image`` (B, 3, S, S) float32 ->
    ``probability_ai`` (B,) float32."""
    half = numpy_helper.from_array(np.array(0.5, np.float16), "half")
    scale = numpy_helper.from_array(np.array(SCALE, np.float16), "scale")
    nodes = [helper.make_node("Cast", ["image"], ["image16"], to=TensorProto.FLOAT16),
             helper.make_node("ReduceMean", ["image16"], ["mean"], axes=[1, 2, 3], keepdims=0),
             helper.make_node("Sub", ["mean", "half"], ["centred"]),
             helper.make_node("Mul", ["centred", "scale"], ["logit"]),
             helper.make_node("Sigmoid", ["logit"], ["p16"]),
             helper.make_node("Cast", ["p16"], ["probability_ai"], to=TensorProto.FLOAT)]
    graph = helper.make_graph(
        nodes, "shinsaku-fixture-fp16",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, SIZE, SIZE])],
        [helper.make_tensor_value_info("probability_ai", TensorProto.FLOAT, ["batch"])], [half, scale])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def test_health_and_model_report_provider_and_precision(client):
    health = client.get("/v1/health").json
    assert health["execution_provider"] == "CPUExecutionProvider" and health["precision"] == "fp32"
    model = client.get("/v1/model").json
    assert model["precision"] == "fp32" and model["quantization"] == {}


def test_config_accepts_the_precisions_and_refuses_others(tmp_path):
    assert PRECISIONS == ("fp32", "int8", "fp16")
    for precision in PRECISIONS:
        assert build_config(environ={"SHINSAKU_PRECISION": precision})["PRECISION"] == precision
    with pytest.raises(ConfigError, match="PRECISION must be one of fp32, int8, fp16, got 'bf16'"):
        build_config(environ={"SHINSAKU_PRECISION": "bf16"})
    with pytest.raises(ModelError, match="PRECISION must be one of"):
        for_precision(load_card(write_model(tmp_path)), "FP16")


@pytest.mark.parametrize("precision", REDUCED)
def test_reduced_precision_without_entry_refuses_with_the_command_to_run(make_app, precision):
    assert_unavailable(make_app(PRECISION=precision).test_client(),
                       f"python -m training.quantize --precision {precision}")


@pytest.mark.parametrize("precision", REDUCED)
def test_reduced_precision_entry_of_another_model_is_refused(make_app, tmp_path, precision):
    card = write_model(tmp_path)
    add_entry(card, build_onnx(), precision, fp32_sha256="0" * 64)
    assert_unavailable(make_app(MODEL_PATH=str(card), PRECISION=precision).test_client(),
                       f"the card's {precision} entry was made from another model")


@pytest.mark.parametrize("precision", REDUCED)
def test_reduced_precision_entry_with_missing_file_is_refused(make_app, tmp_path, precision):
    card = write_model(tmp_path)
    add_entry(card, build_onnx(), precision)
    (tmp_path / f"shinsaku-detector-{precision}.onnx").unlink()
    assert_unavailable(make_app(MODEL_PATH=str(card), PRECISION=precision).test_client(), "not readable")


def test_int8_serves_the_entry_file_with_its_sha256(make_app, tmp_path):
    card = write_model(tmp_path)
    # a different file than the FP32 one (graph name), so the reported sha256 tells them apart
    int8_bytes = build_onnx().replace(b"shinsaku-fixture", b"shinsaku-int8-fx")
    add_entry(card, int8_bytes, comparison={"label_agreement": 1.0})
    client = make_app(MODEL_PATH=str(card), PRECISION="int8").test_client()
    health = client.get("/v1/health").json
    assert health["precision"] == "int8"
    assert health["model_sha256"] == json.loads(card.read_text())["int8"]["sha256"] != json.loads(
        card.read_text())["sha256"]
    assert client.get("/v1/model").json["quantization"]["comparison"] == {"label_agreement": 1.0}
    assert client.post("/v1/classify", data=solid("white"), content_type="image/png").json["label"] == "ai"


def test_fp32_ignores_a_broken_int8_entry(tmp_path):
    card_path = write_model(tmp_path)
    add_entry(card_path, build_onnx())
    (card_path.parent / "shinsaku-detector-int8.onnx").write_bytes(b"replaced after quantising")
    card = load_card(card_path)
    assert for_precision(card, "fp32") is card
    with pytest.raises(ModelError, match="sha256 mismatch"):
        for_precision(card, "int8")


def test_fp16_serves_the_entry_file_and_warns_on_the_cpu(make_app, tmp_path, caplog):
    card = write_model(tmp_path)
    add_entry(card, build_fp16_onnx(), "fp16", method="test", comparison={"label_agreement": 1.0})
    add_entry(card, b"not a model", "int8")  # another precision's broken entry does not matter
    raw = json.loads(card.read_text())
    with caplog.at_level(logging.WARNING, logger="shinsaku"):
        client = make_app(MODEL_PATH=str(card), PRECISION="fp16").test_client()
        health = client.get("/v1/health").json
    assert health["status"] == "ok" and health["precision"] == "fp16"
    assert health["execution_provider"] == "CPUExecutionProvider"
    assert health["model_sha256"] == raw["fp16"]["sha256"] != raw["sha256"]
    assert any("PRECISION=fp16 on CPUExecutionProvider" in r.getMessage() for r in caplog.records)
    model = client.get("/v1/model").json
    assert model["precision"] == "fp16" and model["quantization"] == raw["fp16"]
    white = client.post("/v1/classify", data=solid("white"), content_type="image/png").json
    black = client.post("/v1/classify", data=solid("black"), content_type="image/png").json
    assert (white["label"], black["label"]) == ("ai", "human")
    assert white["probability_ai"] == pytest.approx(fixture_probability(np.ones((1, 3, 2, 2)))[0], abs=2e-3)


def test_fp16_model_keeps_the_float32_contract(tmp_path):
    card_path = write_model(tmp_path)
    add_entry(card_path, build_fp16_onnx(), "fp16")
    card = for_precision(load_card(card_path), "fp16")
    assert card.precision == "fp16" and card.onnx_path.name == "shinsaku-detector-fp16.onnx"
    batch = np.stack([preprocess(solid(c)) for c in ("white", "black", (100, 150, 200))])
    got = Detector(card, provider="cpu").predict(batch)
    assert got.dtype == np.float32 and got.shape == (3,)
    np.testing.assert_allclose(got, fixture_probability(batch), atol=2e-3)


def test_io_binding_path_matches_session_run(fixture_model):
    detector = Detector(load_card(fixture_model), provider="cpu")
    assert detector.io_binding_device is None  # CPU provider: plain run
    batch = np.stack([preprocess(solid(c)) for c in ("white", "black", (100, 150, 200))])
    plain = detector.predict(batch)
    detector.io_binding_device = "cpu"  # the CUDA path's binding code, on host memory
    bound = detector.predict(batch)
    np.testing.assert_allclose(bound, plain, atol=1e-6)
    np.testing.assert_allclose(bound, fixture_probability(batch), atol=1e-4)
