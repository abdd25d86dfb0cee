"""``training.quantize``: static QDQ INT8 with per-channel weights and the FP16 conversion (float32
input and output kept) on a small convolutional model, the quality comparison and its bar, the
card's ``int8`` / ``fp16`` entries (rewritten, never duplicated, each checked against its file and
its FP32 model) that the backend then serves with ``PRECISION=int8|fp16``, and ``run`` comparing
both variants on the same held-out part of the same split."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx_fixture import card_dict

from backend.inference import Detector
from backend.model_card import ModelError, for_precision, load_card
from training import quantize
from training.data import Sample

SIZE = 224
CHANNELS = 4


def conv_model(seed: int = 0) -> bytes:
    """A small detector-shaped model: image (B, 3, 224, 224) -> Conv 3->4 (stride 8) -> Relu ->
    GlobalAveragePool -> Gemm 4->1 -> Sigmoid -> (B,); weights seeded."""
    rng = np.random.default_rng(seed)
    inits = [numpy_helper.from_array(rng.normal(0, 0.5, (CHANNELS, 3, 3, 3)).astype(np.float32), "w"),
             numpy_helper.from_array(rng.normal(0, 0.1, CHANNELS).astype(np.float32), "b"),
             numpy_helper.from_array(rng.normal(0, 2.0, (1, CHANNELS)).astype(np.float32), "fc"),
             numpy_helper.from_array(np.array([-0.5], np.float32), "fcb"),
             numpy_helper.from_array(np.array([-1], np.int64), "flat")]
    nodes = [helper.make_node("Conv", ["image", "w", "b"], ["c"], strides=[8, 8], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("GlobalAveragePool", ["r"], ["g"]),
             helper.make_node("Flatten", ["g"], ["f"]),
             helper.make_node("Gemm", ["f", "fc", "fcb"], ["logit"], transB=1),
             helper.make_node("Sigmoid", ["logit"], ["p"]),
             helper.make_node("Reshape", ["p", "flat"], ["probability_ai"])]
    graph = helper.make_graph(nodes, "conv-fixture",
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, SIZE, SIZE])],
                              [helper.make_tensor_value_info("probability_ai", TensorProto.FLOAT, ["batch"])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


@pytest.fixture
def card(tmp_path) -> Path:
    data = conv_model()
    (tmp_path / "shinsaku-detector.onnx").write_bytes(data)
    path = tmp_path / "shinsaku-detector.json"
    path.write_text(json.dumps(card_dict(data, headline={"protocol": "kept"})))
    return path


def images(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.random((n, 3, SIZE, SIZE), dtype=np.float32) * rng.random((n, 1, 1, 1), dtype=np.float32)


def test_quantize_writes_qdq_with_per_channel_int8_weights(card):
    loaded = load_card(card)
    out = quantize.quantize(loaded, images(16, 0), quantize.variant_path(loaded, "int8"), batch_size=4)
    assert out.name == "shinsaku-detector-int8.onnx" and out.parent == card.parent
    model = onnx.load(out)
    ops = [n.op_type for n in model.graph.node]
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    int8_weights = [a for a in inits.values() if a.dtype == np.int8 and a.ndim == 4]
    assert int8_weights and int8_weights[0].shape == (CHANNELS, 3, 3, 3)
    # per channel: the weight's DequantizeLinear has one scale per output channel
    weight_dq = [n for n in model.graph.node if n.op_type == "DequantizeLinear"
                 and inits.get(n.input[0]) is not None and inits[n.input[0]].ndim == 4]
    assert inits[weight_dq[0].input[1]].shape == (CHANNELS,)
    # the output probability stays float: the last node is not a DequantizeLinear of an 8-bit value
    assert ops[-1] == "Reshape" and "Sigmoid" in ops
    held_out = images(32, 1)
    fp32 = quantize.predict(loaded.onnx_path, "image", held_out)
    int8 = quantize.predict(out, "image", held_out)
    assert np.abs(fp32 - int8).max() < 0.05 and not np.array_equal(fp32, int8)


def test_compare_measures_auc_and_agreement_against_the_bar(card):
    loaded = load_card(card)  # threshold 0.5, uncertain band [0.4, 0.6)
    labels = np.array([0] * 50 + [1] * 50)
    fp32 = np.concatenate([np.linspace(0.05, 0.35, 50), np.linspace(0.65, 0.95, 50)]).astype(np.float32)
    same = quantize.compare(loaded, fp32, fp32.copy(), labels)
    assert same["roc_auc_diff"] == 0 and same["label_agreement"] == 1 and same["meets_bar"] is True
    flipped = fp32.copy()
    flipped[:2] = 0.9  # two human images now called AI: 98% agreement, AUC drops
    worse = quantize.compare(loaded, fp32, flipped, labels)
    assert worse["label_agreement"] == pytest.approx(0.98) and worse["roc_auc_diff"] < 0
    assert worse["meets_bar"] is False and worse["prob_abs_diff_max"] == pytest.approx(0.85, abs=1e-6)
    named = quantize.compare(loaded, fp32, flipped, labels, "fp16")  # the variant names its AUC key
    assert named["roc_auc_fp16"] == worse["roc_auc_int8"] and "roc_auc_int8" not in named


def test_card_entry_is_rewritten_and_served(card, tmp_path):
    loaded = load_card(card)
    out = quantize.quantize(loaded, images(8, 2), quantize.variant_path(loaded, "int8"), batch_size=4)
    for run in range(2):  # a second run replaces the entry, never adds another
        quantize.write_entry(loaded, {"onnx_file": out.name, "sha256": quantize.file_sha256(out),
                                      "fp32_sha256": loaded.sha256, "run": run})
    raw = json.loads(card.read_text())
    assert raw["int8"]["run"] == 1 and raw["headline"] == {"protocol": "kept"}
    assert raw["sha256"] == loaded.sha256  # the FP32 entry is untouched
    int8 = for_precision(load_card(card), "int8")
    assert int8.precision == "int8" and int8.onnx_path == out
    batch = images(4, 3)
    got = Detector(int8, provider="cpu").predict(batch)
    np.testing.assert_allclose(got, quantize.predict(out, "image", batch), atol=1e-6)


def test_float_sensitive_keeps_depthwise_ends_and_head_in_float():
    # a depthwise conv between two ordinary ones, then the head
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.normal(size=s).astype(np.float32), n)
             for n, s in (("w0", (4, 3, 3, 3)), ("wd", (4, 1, 3, 3)), ("w1", (4, 4, 1, 1)), ("w2", (4, 4, 1, 1)))]
    nodes = [helper.make_node("Conv", ["image", "w0"], ["a"], name="first"),
             helper.make_node("Conv", ["a", "wd"], ["b"], name="depthwise", group=4),
             helper.make_node("Conv", ["b", "w1"], ["c"], name="pointwise"),
             helper.make_node("Conv", ["c", "w2"], ["d"], name="last"),
             helper.make_node("Gemm", ["d", "d"], ["e"], name="head")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("image", TensorProto.FLOAT, None)],
                              [helper.make_tensor_value_info("e", TensorProto.FLOAT, None)], inits)
    assert quantize.sensitive_nodes(helper.make_model(graph)) == ["depthwise", "first", "head", "last"]


def test_to_fp16_keeps_float32_io_and_matches_fp32(card):
    loaded = load_card(card)
    out = quantize.to_fp16(loaded, quantize.variant_path(loaded, "fp16"))
    assert out == card.parent / "shinsaku-detector-fp16.onnx"
    model = onnx.load(out)
    ends = [*model.graph.input, *model.graph.output]
    assert [(v.name, v.type.tensor_type.elem_type) for v in ends] == [
        ("image", TensorProto.FLOAT), ("probability_ai", TensorProto.FLOAT)]
    weights = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    assert weights["w"].dtype == np.float16 and weights["fc"].dtype == np.float16  # really converted
    held_out = images(8, 4)
    fp32 = quantize.predict(loaded.onnx_path, "image", held_out)
    fp16 = quantize.predict(out, "image", held_out)
    assert fp16.shape == (8,) and np.abs(fp32 - fp16).max() < 5e-3 and not np.array_equal(fp32, fp16)


def test_to_fp16_refuses_a_model_that_is_fp16_already(card):
    loaded = load_card(card)
    out = quantize.to_fp16(loaded, quantize.variant_path(loaded, "fp16"))
    with pytest.raises(ValueError, match="already converted"):
        quantize.to_fp16(dataclasses.replace(loaded, onnx_path=out), card.parent / "again.onnx")


def test_fp16_entry_is_written_beside_int8_and_loaded_with_its_checks(card):
    loaded = load_card(card)
    quantize.write_entry(loaded, {"onnx_file": "x-int8.onnx", "sha256": "1" * 64, "fp32_sha256": loaded.sha256})
    out = quantize.to_fp16(loaded, quantize.variant_path(loaded, "fp16"))
    for run in range(2):  # a second run replaces the entry, never adds another
        quantize.write_entry(loaded, {"onnx_file": out.name, "sha256": quantize.file_sha256(out),
                                      "fp32_sha256": loaded.sha256, "run": run}, "fp16")
    raw = json.loads(card.read_text())
    assert raw["fp16"]["run"] == 1 and raw["int8"]["onnx_file"] == "x-int8.onnx"  # int8 kept
    assert raw["sha256"] == loaded.sha256 and raw["headline"] == {"protocol": "kept"}
    fp16 = for_precision(load_card(card), "fp16")
    assert fp16.precision == "fp16" and fp16.onnx_path == out and fp16.sha256 == raw["fp16"]["sha256"]
    batch = images(4, 5)
    np.testing.assert_allclose(Detector(fp16, provider="cpu").predict(batch),
                               quantize.predict(out, "image", batch), atol=1e-6)
    # made from another FP32 model: refused with the command that makes it again
    raw["fp16"]["fp32_sha256"] = "0" * 64
    card.write_text(json.dumps(raw))
    with pytest.raises(ModelError, match="fp16 entry was made from another model.*--precision fp16"):
        for_precision(load_card(card), "fp16")
    # the file changed after the entry was written: sha256 mismatch
    raw["fp16"]["fp32_sha256"] = loaded.sha256
    card.write_text(json.dumps(raw))
    out.write_bytes(out.read_bytes() + b"\0")
    with pytest.raises(ModelError, match="sha256 mismatch"):
        for_precision(load_card(card), "fp16")


def test_unknown_variant_is_refused(card):
    loaded = load_card(card)
    with pytest.raises(ValueError, match="int8, fp16"):
        quantize.variant_path(loaded, "fp32")
    with pytest.raises(ValueError, match="int8, fp16"):
        quantize.write_entry(loaded, {}, "bf16")
    assert quantize.get_args_parser().parse_args([]).precision == "int8"  # the existing command unchanged


def test_run_compares_int8_and_fp16_on_the_same_held_out_sources(card, tmp_path, monkeypatch):
    """``run`` end to end on 16 tiny PNGs with the data split stubbed: calibration sources c-*,
    comparison sources h-* (held out); both variants compared on the same images."""
    from PIL import Image

    rng = np.random.default_rng(0)
    samples = []
    for i in range(16):
        source = f"{'c' if i < 8 else 'h'}-{'ai' if i % 2 else 'human'}"
        file = f"{source}/{i}.png"
        (tmp_path / source).mkdir(exist_ok=True)
        pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) // (1 if i % 2 else 3)
        Image.fromarray(pixels).save(tmp_path / file)
        samples.append(Sample(file, i % 2, source, str(tmp_path)))
    split = (samples, np.arange(8), np.arange(8, 16))
    monkeypatch.setattr(quantize, "source_split", lambda data, seed=0: split)
    monkeypatch.setattr("training.data.data_sha256", lambda roots: "d" * 64)
    int8 = quantize.run(card, tmp_path, calibration_images=4, precision="int8")
    fp16 = quantize.run(card, tmp_path, precision="fp16")
    assert int8["calibration"]["sources"] == ["c-ai", "c-human"] and "calibration" not in fp16
    for entry, key in ((int8, "roc_auc_int8"), (fp16, "roc_auc_fp16")):
        comparison = entry["comparison"]
        assert comparison["sources"] == ["h-ai", "h-human"] and comparison["images"] == 8
        assert key in comparison and comparison["bar"] == {"max_abs_roc_auc_diff": 0.003,
                                                           "min_label_agreement": 0.99}
        assert comparison["split"] == quantize.SPLIT and comparison["data_manifest_sha256"] == "d" * 64
    assert fp16["comparison"]["prob_abs_diff_max"] < 5e-3 and "convert_float_to_float16" in fp16["method"]
    raw = json.loads(card.read_text())
    assert raw["int8"] == int8 and raw["fp16"] == fp16 and fp16["fp32_sha256"] == raw["sha256"]
    assert for_precision(load_card(card), "fp16").sha256 == fp16["sha256"]
