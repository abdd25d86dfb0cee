"""Evaluate a checkpoint (``shinsaku evaluate`` or ``python -m training.evaluate``).

For the checkpoint's split it computes the probability of AI under every candidate TTA view on the
validation set, the test set and a laundered copy of the test set (each file re-encoded to JPEG q85
with its long side at most 512 px). On the **validation set only** it chooses the TTA view subset,
a Platt scaling of the TTA probability, the decision threshold and the
uncertain band; then it reports, with and without TTA, accuracy,
per-class precision / recall / F1 (AI is the positive class), ROC AUC, average precision, expected
calibration error and the confusion matrix. Writes ``metrics.json``, ``report.md`` and PNG plots.
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader
from tqdm import tqdm

from backend.preprocessing import decode_image
from training import metrics as M
from training import report
from training.calibration import IDENTITY, apply_platt, fit_platt
from training.data import make_splits
from training.dataset import EvalTransform, ImageDataset
from training.model import build_model
from training.tta import DEFAULT_VIEWS, check_views, view_probabilities

LAUNDER_LONG_SIDE = 512
LAUNDER_QUALITY = 85


def launder(data: bytes, long_side: int = LAUNDER_LONG_SIDE, quality: int = LAUNDER_QUALITY) -> bytes:
    """Re-encode image bytes as a site would: decode (contract), shrink so the long side is at most
    ``long_side`` pixels, save as JPEG at ``quality``. Returns JPEG bytes."""
    img = decode_image(data)
    img.thumbnail((long_side, long_side), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    """Command-line options of ``evaluate``."""
    parser = argparse.ArgumentParser(description="Evaluate a Shinsaku checkpoint", add_help=add_help)
    parser.add_argument("--checkpoint", required=True, help="best.pth written by train")
    parser.add_argument("--data-path", default="../shared/data", help="original data (manifest.tsv)")
    parser.add_argument("--cache-dir", default=".cache")
    parser.add_argument("--output-dir", default=None, help="default: <checkpoint dir>/eval")
    parser.add_argument("--views", nargs="+", default=list(DEFAULT_VIEWS), help="candidate TTA views")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    return parser


def load_checkpoint(path: Path, device: str = "cpu"):
    """``(model in eval mode, checkpoint dict)`` from a ``best.pth`` written by ``train``."""
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    args = ckpt["args"]
    model = build_model(args["attention"], args["head"], weights="none")
    model.load_state_dict(ckpt["model"])
    return model.to(device).eval(), ckpt


@torch.no_grad()
def predict_views(model, dataset, views, batch_size: int, workers: int, device: str, desc: str):
    """``(labels (N,) int, probabilities (N, V) float32)`` over ``dataset`` for each view."""
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=workers)
    probs, labels = [], []
    for images, y in tqdm(loader, desc=desc, leave=False):
        probs.append(view_probabilities(model, images.to(device), views).float().cpu())
        labels.append(y)
    return torch.cat(labels).numpy().astype(int), torch.cat(probs).numpy()


def tta_probability(view_probs, views, selection) -> np.ndarray:
    """``(N, V)`` per-view probabilities -> ``(N,)`` TTA probability: mean over the selected views,
    then the selected Platt scaling (as the exported graph computes it)."""
    names = list(views)
    mean = view_probs[:, [names.index(v) for v in selection["tta_views"]]].mean(axis=1)
    return apply_platt(mean, *selection["platt"])


def results_for(y, view_probs, views, selection, no_tta_threshold) -> dict:
    """Metrics without TTA (view ``original``, uncalibrated) and with the selected TTA views
    (Platt-calibrated)."""
    names = list(views)
    tta = tta_probability(view_probs, views, selection)
    low, high = selection["uncertain_band"]
    sure = (tta < low) | (tta >= high)
    return {
        "no_tta": M.binary_metrics(y, view_probs[:, names.index("original")], no_tta_threshold),
        "tta": M.binary_metrics(y, tta, selection["threshold"]),
        "tta_uncertain_band": {
            "share_uncertain": float(1 - sure.mean()),
            "accuracy_outside_band": float(((tta[sure] >= selection["threshold"]) == y[sure]).mean())
            if sure.any() else None},
        "_prob_tta": tta,
    }


def main(args) -> dict:
    """Evaluate ``args.checkpoint``; returns the metrics dict also written to ``metrics.json``."""
    views = check_views(args.views)
    if "original" not in views:
        raise SystemExit("--views must include 'original' (the no-TTA baseline)")
    model, ckpt = load_checkpoint(Path(args.checkpoint), args.device)
    targs = ckpt["args"]
    out = Path(args.output_dir or Path(args.checkpoint).parent / "eval")
    out.mkdir(parents=True, exist_ok=True)
    splits = make_splits(Path(args.data_path), targs["split"], targs["seed"], Path(args.cache_dir),
                         targs.get("max_per_class"))
    transform = EvalTransform(resize_mode=targs["resize_mode"])
    sets = {"val": (splits["val"], None), "test": (splits["test"], None),
            "test_laundered": (splits["test"], launder)}
    predictions = {
        name: predict_views(model, ImageDataset(args.data_path, samples, transform, degrade), views,
                            args.batch_size, args.workers, args.device, name)
        for name, (samples, degrade) in sets.items()
    }
    y_val, p_val = predictions["val"]
    selection = {"chosen_on": "val", "tta_views": M.choose_tta_views(y_val, p_val, list(views)), "platt": IDENTITY}
    selection["platt"] = fit_platt(y_val, tta_probability(p_val, views, selection))
    p_val_tta = tta_probability(p_val, views, selection)
    selection["threshold"] = M.choose_threshold(y_val, p_val_tta)
    selection["uncertain_band"] = list(M.choose_uncertain_band(y_val, p_val_tta, selection["threshold"]))
    selection["no_tta_threshold"] = M.choose_threshold(y_val, p_val[:, views.index("original")])
    band = (p_val_tta >= selection["uncertain_band"][0]) & (p_val_tta < selection["uncertain_band"][1])
    selection["val_share_uncertain"] = float(band.mean())
    results = {name: results_for(y, p, views, selection, selection["no_tta_threshold"])
               for name, (y, p) in predictions.items()}
    metrics = {
        "run": targs["split"], "checkpoint": str(args.checkpoint),
        "model": {"attention": targs["attention"], "head": targs["head"], "resize_mode": targs["resize_mode"]},
        "split": {"name": targs["split"], "seed": targs["seed"], "sizes": {k: len(v) for k, v in splits.items()},
                  "description": "stratified random 64/16/20" if targs["split"] == "random"
                  else "held-out sources as test; train/val from the other sources"},
        "selection": selection,
        "laundered": {"long_side_px": LAUNDER_LONG_SIDE, "jpeg_quality": LAUNDER_QUALITY},
        "data_manifest_sha256": ckpt["data_manifest_sha256"], "training_args": targs,
        "results": {k: {m: v for m, v in r.items() if not m.startswith("_")} for k, r in results.items()},
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    write_plots(out, metrics, predictions, results, Path(args.checkpoint).parent / "log.jsonl")
    report.write_markdown_report(metrics, out / "report.md")
    print(json.dumps({k: {m: round(r[m]["accuracy"], 4) for m in ("no_tta", "tta")}
                      for k, r in metrics["results"].items()}))
    return metrics


def write_plots(out: Path, metrics: dict, predictions: dict, results: dict, log_path: Path) -> None:
    """Confusion matrices, ROC curves, reliability diagram and training curves as PNG in ``out``."""
    split = metrics["split"]["name"]
    for name in ("test", "test_laundered"):
        report.plot_confusion_matrix(metrics["results"][name]["tta"]["confusion_matrix"],
                                     out / f"confusion_{name}.png", f"{split} {name} (TTA)")
    report.plot_roc({name: (predictions[name][0], results[name]["_prob_tta"]) for name in predictions},
                    out / "roc.png", f"ROC, {split} split (TTA)")
    report.plot_reliability(predictions["test"][0], results["test"]["_prob_tta"], out / "reliability.png",
                            f"reliability, {split} test (TTA)")
    if log_path.exists():
        rows = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
        report.plot_training_curves(rows, out / "training_curves.png")


if __name__ == "__main__":
    main(get_args_parser().parse_args())
