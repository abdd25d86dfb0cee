"""Export a checkpoint to ONNX with its model card (``shinsaku export`` / ``python -m training.export``).

The graph holds the input normalisation, the TTA views and the Platt calibration chosen on held-out
sources (the checkpoint's ``Selection``): input ``image``
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
from training.model import load_checkpoint
from training.recipe import Recipe
from training.selection import Selection
from training.tta import VIEWS, TTAModel

PARITY_ATOL = 1e-4
INPUT_NAME, OUTPUT_NAME = "image", "probability_ai"


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    """Command-line options of ``export``."""
    parser = argparse.ArgumentParser(description="Export a Shinsaku checkpoint to ONNX", add_help=add_help)
    parser.add_argument("--checkpoint", required=True, help="best.pth written by train")
    parser.add_argument("--metrics", default=None, help="metrics.json from evaluate (the protocols' figures)")
    parser.add_argument("--output-dir", default="backend/models")
    parser.add_argument("--name", default="shinsaku-detector")
    parser.add_argument("--version", default="2.1.0")
    parser.add_argument("--opset", type=int, default=18)
    return parser


def export_onnx(model: torch.nn.Module, path: Path, opset: int = 18, output_name: str = OUTPUT_NAME) -> None:
    """Write ``model`` (``(B, 3, 224, 224)`` -> ``(B, ...)``; its forward argument named ``x``) to
    ``path`` with a dynamic batch axis, input ``image`` and output ``output_name``."""
    example = torch.rand(2, 3, INPUT_SIZE, INPUT_SIZE)
    batch = torch.export.Dim("batch", min=1, max=1024)
    program = torch.onnx.export(model, (example,), dynamo=True, opset_version=opset,
                                input_names=[INPUT_NAME], output_names=[output_name],
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


def model_card(args, onnx_path: Path, ckpt: dict, selection: Selection, metrics: dict | None,
               diff: float) -> dict:
    """The card written beside the .onnx (README "The bundled model"): the input contract, the
    selection, and the recipe's measured figures with the protocol that measured them; the
    ``headline`` entry is the leave-source-out false accusation rate and its companions."""
    recipe = Recipe.from_dict(ckpt["recipe"])
    jpeg_draft = bool(ckpt["feature_config"].get("jpeg_draft", False))  # as the features were decoded
    card = {
        "name": args.name, "version": args.version,
        "onnx_file": onnx_path.name, "sha256": hashlib.sha256(onnx_path.read_bytes()).hexdigest(),
        "architecture": "MobileNetV2 (ImageNet, frozen) + "
        + ("squeeze-and-excitation (r=4) + " if recipe.attention else "")
        + ("dense head 256-128-64" if recipe.head == "dense" else "linear head")
        + (f" + pooled taps of blocks {list(recipe.taps)}" if recipe.taps else "")
        + (" (mean and spatial standard deviation)" if recipe.tap_std else ""),
        "input": {"name": INPUT_NAME, "shape": ["B", 3, INPUT_SIZE, INPUT_SIZE], "dtype": "float32",
                  "range": [0.0, 1.0], "color": "RGB", "size": INPUT_SIZE, "resize": "center_crop",
                  "alpha_background": list(BACKGROUND), "jpeg_draft": jpeg_draft,
                  "preprocessing": "backend.preprocessing.preprocess: Pillow decode (JPEG, PNG, WebP, GIF, "
                  f"BMP{'; JPEG shrunk by DCT scaling while both sides stay >= 448' if jpeg_draft else ''}), "
                  "frame 0, EXIF orientation, 16-bit/palette to 8-bit RGB, alpha onto white, "
                  f"shorter side to {INPUT_SIZE} and centre crop (bicubic); ImageNet mean/std "
                  "normalisation is inside the graph"},
        "output": {"name": OUTPUT_NAME, "shape": ["B"], "dtype": "float32", "meaning": "probability of AI"},
        "tta_views": selection.tta_views, "threshold": selection.threshold,
        "calibration": {"method": "Platt scaling of the TTA views' mean logit, inside the graph",
                        "a": selection.platt[0], "b": selection.platt[1], "fitted_on": selection.chosen_on},
        "uncertain_band": list(selection.uncertain_band), "selection": selection.to_dict(),
        "onnx_parity_max_abs_diff": diff,
        "recipe": recipe.to_dict(), "feature_config": ckpt["feature_config"],
        "data_manifest_sha256": ckpt["data_manifest_sha256"], "n_training_images": ckpt["n_images"],
        "n_training_sources": ckpt["n_sources"], "training_args": ckpt["args"],
    }
    if metrics:
        lso = metrics["protocols"]["leave-source-out"]["summary"]
        card["headline"] = {
            "protocol": "leave-source-out: StratifiedGroupKFold over source groups, k=5; each fold's recipe "
            "fitted on 4/5 of the sources with its selection chosen on inner held-out sources, measured on "
            "the unseen fifth; mean and std over folds. These weights train on every source, so the "
            "figures measure their recipe, not these weights on unseen data of their own.",
            **{key: lso["test"][key]["mean"] for key in HEADLINE_KEYS},
            **{f"{key}_std": lso["test"][key]["std"] for key in HEADLINE_KEYS},
            "laundered_roc_auc": lso["test_laundered"]["roc_auc"]["mean"]}
        if "random" in metrics["protocols"]:  # in-distribution, for the comparison with Vu 2025
            card["headline"]["random_split_accuracy"] = \
                metrics["protocols"]["random"]["summary"]["test"]["accuracy"]["mean"]
        card["metrics"] = {name: {"summary": result["summary"], "pooled": result["pooled"],
                                  "per_source": result["per_source"]}
                           for name, result in metrics["protocols"].items()}
    return card


#: The headline figures the card, ``GET /v1/model`` and the README quote, false accusations first.
HEADLINE_KEYS = ("false_accusation_rate", "ai_recall", "share_uncertain", "accuracy", "roc_auc")


def main(args) -> dict:
    """Export ``args.checkpoint``; returns the model card also written as ``<name>.json``.

    Raises SystemExit when the selection names a view the graph cannot compute from its input."""
    model, ckpt = load_checkpoint(Path(args.checkpoint))
    selection = Selection.from_dict(ckpt["selection"])
    if set(selection.tta_views) - set(VIEWS):
        raise SystemExit(f"views {selection.tta_views} are not all computable inside the graph ({list(VIEWS)})")
    metrics = json.loads(Path(args.metrics).read_text()) if args.metrics else None
    wrapped = TTAModel(model, selection.tta_views, selection.platt).eval()
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


if __name__ == "__main__":
    main(get_args_parser().parse_args())
