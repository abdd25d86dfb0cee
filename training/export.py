"""Export a checkpoint to ONNX with its model card (``shinsaku export`` / ``python -m training.export``).

The graph holds the input normalisation and the TTA views chosen on validation: input ``image``
``(B, 3, 224, 224)`` float32 RGB in [0, 1] with a dynamic batch axis, output ``probability_ai`` ``(B,)``.
After export: ``onnx.checker`` and a parity check of onnxruntime against PyTorch (max abs difference
<= ``PARITY_ATOL``), as timm's ``onnx_export.py`` / ``onnx_validate.py`` do.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from backend.preprocessing import BACKGROUND, INPUT_SIZE
from training.calibration import IDENTITY
from training.evaluate import load_checkpoint
from training.tta import DEFAULT_VIEWS, TTAModel

PARITY_ATOL = 1e-4
INPUT_NAME, OUTPUT_NAME = "image", "probability_ai"


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    """Command-line options of ``export``."""
    parser = argparse.ArgumentParser(description="Export a Shinsaku checkpoint to ONNX", add_help=add_help)
    parser.add_argument("--checkpoint", required=True, help="best.pth written by train")
    parser.add_argument("--metrics", default=None,
                        help="metrics.json from evaluate: TTA views, threshold and band chosen on val")
    parser.add_argument("--extra-metrics", nargs="*", default=[], metavar="NAME=PATH",
                        help="more metrics.json files for the card, e.g. cross_source=runs/cross/eval/metrics.json")
    parser.add_argument("--output-dir", default="backend/models")
    parser.add_argument("--name", default="shinsaku-detector")
    parser.add_argument("--version", default="1.0.0")
    parser.add_argument("--opset", type=int, default=18)
    return parser


def export_onnx(model: torch.nn.Module, path: Path, opset: int = 18) -> None:
    """Write ``model`` (``(B, 3, 224, 224)`` -> ``(B,)``) to ``path`` with a dynamic batch axis."""
    example = torch.rand(2, 3, INPUT_SIZE, INPUT_SIZE)
    batch = torch.export.Dim("batch", min=1, max=1024)
    program = torch.onnx.export(model, (example,), dynamo=True, opset_version=opset,
                                input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                                dynamic_shapes={"x": {0: batch}}, external_data=False)
    program.save(str(path))


def parity(model: torch.nn.Module, path: Path, batch: int = 5, seed: int = 0) -> float:
    """Max abs difference between onnxruntime (CPU) and PyTorch on a random ``(batch, 3, 224, 224)``
    input. Raises ``AssertionError`` above ``PARITY_ATOL``."""
    x = torch.rand(batch, 3, INPUT_SIZE, INPUT_SIZE, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        expected = model(x).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run([OUTPUT_NAME], {INPUT_NAME: x.numpy()})
    diff = float(np.abs(got - expected).max())
    assert got.shape == (batch,) and diff <= PARITY_ATOL, f"ONNX parity failed: max abs diff {diff}"
    return diff


def model_card(args, onnx_path: Path, ckpt: dict, selection: dict, metrics: dict, diff: float) -> dict:
    """The card written beside the .onnx (see README "Model card")."""
    targs = ckpt["args"]
    return {
        "name": args.name, "version": args.version,
        "onnx_file": onnx_path.name, "sha256": hashlib.sha256(onnx_path.read_bytes()).hexdigest(),
        "architecture": "MobileNetV2 (ImageNet) + squeeze-and-excitation (r=4) + dense head 256-128-64"
        if targs["attention"] and targs["head"] == "dense" else f"MobileNetV2, head={targs['head']}, "
        f"attention={targs['attention']}",
        "input": {"name": INPUT_NAME, "shape": ["B", 3, INPUT_SIZE, INPUT_SIZE], "dtype": "float32",
                  "range": [0.0, 1.0], "color": "RGB", "size": INPUT_SIZE, "resize": targs["resize_mode"],
                  "alpha_background": list(BACKGROUND),
                  "preprocessing": "backend.preprocessing.preprocess: Pillow decode (JPEG, PNG, WebP, GIF, "
                  "BMP), frame 0, EXIF orientation, 16-bit/palette to 8-bit RGB, alpha onto white, "
                  f"{targs['resize_mode']} to {INPUT_SIZE}x{INPUT_SIZE} (bicubic); ImageNet mean/std "
                  "normalisation is inside the graph"},
        "output": {"name": OUTPUT_NAME, "shape": ["B"], "dtype": "float32", "meaning": "probability of AI"},
        "tta_views": selection["tta_views"], "threshold": selection["threshold"],
        "calibration": {"method": "Platt scaling of the TTA mean probability, inside the graph",
                        "a": selection["platt"][0], "b": selection["platt"][1],
                        "fitted_on": selection["chosen_on"]},
        "uncertain_band": selection["uncertain_band"], "selection_chosen_on": selection["chosen_on"],
        "onnx_parity_max_abs_diff": diff,
        "metrics": metrics,
        "metrics_note": "the entry named after the checkpoint's own split measured these weights on that "
        "split's test set; every other entry measured a model trained with the same recipe on its own "
        "split (cross_source: trained without the held-out sources), not these weights",
        "data_manifest_sha256": ckpt["data_manifest_sha256"], "training_args": targs,
    }


def main(args) -> dict:
    """Export ``args.checkpoint``; returns the model card also written as ``<name>.json``."""
    model, ckpt = load_checkpoint(Path(args.checkpoint))
    selection = {"tta_views": list(DEFAULT_VIEWS), "threshold": 0.5, "uncertain_band": [0.5, 0.5],
                 "platt": IDENTITY, "chosen_on": "defaults (no metrics given)"}
    metrics = {}
    if args.metrics:
        evaluated = json.loads(Path(args.metrics).read_text())
        selection, metrics[evaluated["run"]] = evaluated["selection"], _summary(evaluated)
    for item in args.extra_metrics:
        name, _, path = item.partition("=")
        metrics[name] = _summary(json.loads(Path(path).read_text()))
    wrapped = TTAModel(model, selection["tta_views"], selection["platt"]).eval()
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    onnx_path = out / f"{args.name}.onnx"
    export_onnx(wrapped, onnx_path, args.opset)
    onnx.checker.check_model(onnx.load(str(onnx_path)), full_check=True)
    diff = parity(wrapped, onnx_path)
    card = model_card(args, onnx_path, ckpt, selection, metrics, diff)
    (out / f"{args.name}.json").write_text(json.dumps(card, indent=2))
    print(f"wrote {onnx_path} (sha256 {card['sha256'][:12]}..., parity max abs diff {diff:.2e})")
    return card


def _summary(evaluated: dict) -> dict:
    """The part of an evaluate ``metrics.json`` that goes in the card: split, selection and results."""
    return {"checkpoint": evaluated["checkpoint"], "split": evaluated["split"], "model": evaluated["model"],
            "selection": evaluated["selection"],
            "laundered": evaluated["laundered"], "results": evaluated["results"]}


if __name__ == "__main__":
    main(get_args_parser().parse_args())
