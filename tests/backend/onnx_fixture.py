"""A small real ONNX model standing in for the detector in tests, and its model card.

The graph follows the bundled model's contract (input ``image`` (B, 3, S, S) float32 in [0, 1],
output ``probability_ai`` (B,) float32) and computes ``sigmoid(SCALE * (mean(pixels) - 0.5))``:
white images are "ai" (p ~ 0.98), black ones "human" (p ~ 0.02), mid-grey ones "uncertain" (0.5).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

SCALE = 8.0
SIZE = 224


def fixture_probability(x: np.ndarray) -> np.ndarray:
    """What the fixture model computes, in NumPy: ``(B, 3, S, S)`` -> ``(B,)`` float."""
    return 1.0 / (1.0 + np.exp(-SCALE * (x.reshape(x.shape[0], -1).mean(axis=1) - 0.5)))


def build_onnx(size: int = SIZE) -> bytes:
    """Serialized ONNX model (opset 17) with a dynamic batch axis."""
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, size, size])
    prob = helper.make_tensor_value_info("probability_ai", TensorProto.FLOAT, ["batch"])
    nodes = [
        helper.make_node("ReduceMean", ["image"], ["mean"], axes=[1, 2, 3], keepdims=0),
        helper.make_node("Sub", ["mean", "half"], ["centred"]),
        helper.make_node("Mul", ["centred", "scale"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], ["probability_ai"]),
    ]
    inits = [helper.make_tensor("half", TensorProto.FLOAT, [], [0.5]),
             helper.make_tensor("scale", TensorProto.FLOAT, [], [SCALE])]
    graph = helper.make_graph(nodes, "shinsaku-fixture", [image], [prob], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def card_dict(onnx_bytes: bytes, size: int = SIZE, **overrides) -> dict:
    """A model card matching ``onnx_bytes`` (keys as in the bundled card); ``overrides`` replace keys."""
    card = {
        "name": "shinsaku-fixture", "version": "0.0.0-test",
        "sha256": hashlib.sha256(onnx_bytes).hexdigest(), "onnx_file": "shinsaku-detector.onnx",
        "input": {"name": "image", "shape": ["batch", 3, size, size], "dtype": "float32", "range": [0, 1],
                  "color": "RGB", "size": size, "resize": "center_crop",
                  "jpeg_draft": True},
        "output": {"name": "probability_ai", "shape": ["batch"]},
        "tta_views": ["identity", "hflip", "crop_tl", "crop_br"],
        "threshold": 0.5, "uncertain_band": [0.4, 0.6], "metrics": {"note": "test fixture"},
        "data_manifest_sha256": "0" * 64, "training_args": {},
    }
    card.update(overrides)
    return card


def write_model(directory: Path, onnx_bytes: bytes | None = None, **overrides) -> Path:
    """Write ``shinsaku-detector.onnx`` and its card into ``directory``; return the card's path."""
    directory.mkdir(parents=True, exist_ok=True)
    onnx_bytes = build_onnx() if onnx_bytes is None else onnx_bytes
    (directory / "shinsaku-detector.onnx").write_bytes(onnx_bytes)
    card_path = directory / "shinsaku-detector.json"
    card_path.write_text(json.dumps(card_dict(onnx_bytes, **overrides)), encoding="utf-8")
    return card_path
