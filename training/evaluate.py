"""Measure a checkpoint's recipe (``shinsaku evaluate`` or ``python -m training.evaluate``).

The shipped model trains on every source, so nothing is left to test it on; what is measured is its
recipe (stored in the checkpoint), by the protocols of ``training.protocol``:

- ``leave-source-out`` (headline): 5 folds over source groups, each fold fitted on 4/5 of the sources
  with its selection chosen by inner leave-source-out folds, measured on the unseen fifth and on a
  laundered copy of it (JPEG q85, long side <= 512 px);
- ``random``: the stratified 64/16/20 split, for the in-distribution comparison with Vu 2025.

Writes ``metrics.json`` (``EvaluationReport``), ``report.md``, ROC and reliability plots, a per-source
table and contact sheets of the worst false accusations and misses on held-out sources.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from training import report
from training.features import LAUNDER_LONG_SIDE, LAUNDER_QUALITY, FeatureConfig
from training.protocol import ProtocolResult, leave_source_out, random_split
from training.recipe import Recipe
from training.selection import Selection
from training.train import prepare

PROTOCOLS = ("leave-source-out", "random")
CONTACT_SHEET_SIZE = 24


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    """Command-line options of ``evaluate``."""
    parser = argparse.ArgumentParser(description="Measure a Shinsaku checkpoint's recipe", add_help=add_help)
    parser.add_argument("--checkpoint", required=True, help="best.pth written by train")
    parser.add_argument("--data-path", default=None, help="default: the checkpoint's")
    parser.add_argument("--extra-data", nargs="*", default=None, help="default: the checkpoint's")
    parser.add_argument("--cache-dir", default=".cache")
    parser.add_argument("--output-dir", default=None, help="default: <checkpoint dir>/eval")
    parser.add_argument("--protocols", nargs="+", default=list(PROTOCOLS), choices=PROTOCOLS)
    parser.add_argument("--folds", type=int, default=5, help="outer leave-source-out folds")
    parser.add_argument("--inner-folds", type=int, default=4, help="inner folds choosing each selection")
    parser.add_argument("--workers", type=int, default=2)
    return parser


@dataclass
class EvaluationReport:
    """What ``metrics.json`` holds: the recipe, the checkpoint's own selection (chosen on its
    out-of-fold predictions, see ``training.train``), and each protocol's result."""

    checkpoint: str
    recipe: Recipe
    selection: Selection
    feature_config: dict
    data_manifest_sha256: str
    n_images: int
    laundered: dict = field(default_factory=lambda: {"long_side_px": LAUNDER_LONG_SIDE,
                                                     "jpeg_quality": LAUNDER_QUALITY})
    protocols: dict[str, ProtocolResult] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return {"checkpoint": self.checkpoint, "recipe": self.recipe.to_dict(),
                "selection": self.selection.to_dict(), "feature_config": self.feature_config,
                "data_manifest_sha256": self.data_manifest_sha256, "n_images": self.n_images,
                "laundered": self.laundered, "protocols": {k: v.to_dict() for k, v in self.protocols.items()}}


def headline(metrics: dict, protocol: str = "leave-source-out", result_set: str = "test") -> dict:
    """``metric -> (mean, std)`` of a protocol's summary in a ``metrics.json`` dict; the headline
    figures that the model card, ``GET /v1/model`` and the README quote."""
    summary = metrics["protocols"][protocol]["summary"][result_set]
    return {k: (v["mean"], v["std"]) for k, v in summary.items()}


def main(args) -> dict:
    """Evaluate ``args.checkpoint``'s recipe; returns the dict also written to ``metrics.json``."""
    ckpt = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    targs = argparse.Namespace(**ckpt["args"])
    targs.data_path = args.data_path or targs.data_path
    targs.extra_data = targs.extra_data if args.extra_data is None else args.extra_data
    targs.cache_dir, targs.workers = args.cache_dir, args.workers
    recipe = Recipe.from_dict(ckpt["recipe"])
    bank, near, groups, sha = prepare(targs)
    out = Path(args.output_dir or Path(args.checkpoint).parent / "eval")
    out.mkdir(parents=True, exist_ok=True)
    kwargs = {"max_far": targs.max_false_accusation_rate, "max_uncertain": targs.max_uncertain}
    evaluation = EvaluationReport(str(args.checkpoint), recipe, Selection.from_dict(ckpt["selection"]),
                                  FeatureConfig(**ckpt["feature_config"]).__dict__, sha, int(bank.ok.sum()))
    if "leave-source-out" in args.protocols:
        evaluation.protocols["leave-source-out"] = leave_source_out(
            bank, groups, recipe, args.folds, args.inner_folds, targs.seed, **kwargs)
    if "random" in args.protocols:
        evaluation.protocols["random"] = random_split(bank, near, recipe, targs.seed, **kwargs)
    metrics = evaluation.to_dict()
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    write_figures(out, evaluation, bank)
    report.write_markdown_report(metrics, out / "report.md")
    print(json.dumps({name: {k: round(m, 4) for k, (m, _) in headline(metrics, name).items() if m is not None}
                      for name in evaluation.protocols}, indent=2))
    return metrics


def write_figures(out: Path, evaluation: EvaluationReport, bank) -> None:
    """ROC curves, reliability diagram and contact sheets (PNG) in ``out``."""
    curves = {}
    for name, result in evaluation.protocols.items():
        pred = result.predictions
        y = bank.labels[pred.index]
        curves[f"{name} test"] = (y, pred.prob)
        curves[f"{name} test, laundered"] = (y, pred.prob_laundered)
    report.plot_roc(curves, out / "roc.png", "ROC (AI positive), pooled over folds")
    lso = evaluation.protocols.get("leave-source-out")
    if lso is None:
        return
    pred = lso.predictions
    y = bank.labels[pred.index]
    report.plot_reliability(y, pred.prob, out / "reliability.png", "reliability, leave-source-out (pooled)")
    humans = np.flatnonzero(y == 0)
    worst = humans[np.argsort(-pred.prob[humans])][:CONTACT_SHEET_SIZE]
    ais = np.flatnonzero(y == 1)
    missed = ais[np.argsort(pred.prob[ais])][:CONTACT_SHEET_SIZE]
    for name, picked, title in (("worst_false_accusations", worst, "human images with the highest P(AI)"),
                                ("worst_misses", missed, "AI images with the lowest P(AI)")):
        entries = [(bank.samples[pred.index[i]], float(pred.prob[i]), str(pred.label[i])) for i in picked]
        report.contact_sheet(entries, out / f"{name}.png", f"{title}, held-out sources (leave-source-out)")


if __name__ == "__main__":
    main(get_args_parser().parse_args())
