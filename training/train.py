"""Train the detector (``shinsaku train`` or ``python -m training.train``).

The shipped recipe (chosen by the leave-source-out protocol, README "The bundled model"):

1. cache the frozen ImageNet MobileNetV2's pooled features of every image under augmentation draws
   and evaluation views (``training.features``, onnxruntime);
2. fit the recipe (``training.recipe.fit_recipe``): the SE attention and head are trained on those
   features; the TTA views, Platt calibration, threshold (at most 5% false accusations) and
   uncertain band are chosen on out-of-fold predictions of leave-source-out folds of the training
   sources, and the final head is trained on all of them;
3. write ``best.pth``: a checkpoint dict with the full detector's state (backbone + attention + head),
   the recipe, the selection, the feature config and the data's sha256.

Measuring the recipe is ``evaluate``'s job (``training.evaluate``). Layout after the torchvision
classification references: ``get_args_parser``, ``main(args)``, checkpoint dicts.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from training.augment import STRENGTHS
from training.data import (
    data_sha256,
    leave_source_out_folds,
    load_data,
    near_duplicate_groups,
    perceptual_hashes,
    source_groups,
    subsample,
)
from training.features import FeatureConfig, extract
from training.model import TAP_BLOCKS, build_model
from training.recipe import Recipe, fit_recipe
from training.selection import MAX_FALSE_ACCUSATION_RATE, MAX_UNCERTAIN

#: The recipe the leave-source-out ablation chose on validation (training/results/ablation-leave-source-out.md): the
#: frozen backbone's final and intermediate-block features, trained on global and native-resolution
#: detail draws, source-balanced, AdamW weight decay 0.1; TTA views from the contract's input only
#: (exportable).
SHIPPED = Recipe(taps=TAP_BLOCKS, detail=True, detail_view=False, weight_decay=0.1)


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    """Command-line options of ``train`` (defaults: the shipped recipe)."""
    parser = argparse.ArgumentParser(description="Train the Shinsaku detector", add_help=add_help)
    parser.add_argument("--data-path", default="../shared/data", help="folder with manifest.tsv")
    parser.add_argument("--extra-data", nargs="*", default=[],
                        help="more data roots (e.g. .devdata/extra built by ../shared/data-extra/build.py)")
    parser.add_argument("--output-dir", default="runs/ship", help="best.pth and train.json")
    parser.add_argument("--cache-dir", default=".cache", help="perceptual hashes, trunk ONNX, feature bank")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-per-class", type=int, default=None, help="subsample (short runs)")
    parser.add_argument("--weights", default="deep-sort",
                        help="backbone: imagenet (download), deep-sort (offline), none, or a path")
    group = parser.add_argument_group("features")
    group.add_argument("--draws", type=int, default=FeatureConfig.draws, help="augmented draws per image")
    group.add_argument("--detail-draws", type=int, default=FeatureConfig.detail_draws)
    group.add_argument("--strength", default=FeatureConfig.strength, choices=STRENGTHS, help="augmentation")
    group.add_argument("--jpeg-draft", action=argparse.BooleanOptionalAction, default=FeatureConfig.jpeg_draft,
                       help="decode large JPEGs shrunk by DCT scaling (backend.preprocessing.draft_for_input), "
                            "written to the card's input.jpeg_draft")
    group.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="decode processes")
    group = parser.add_argument_group("recipe")
    group.add_argument("--head", default=SHIPPED.head, choices=("dense", "baseline"))
    group.add_argument("--no-attention", dest="attention", action="store_false")
    group.add_argument("--taps", type=int, nargs="*", default=list(SHIPPED.taps), choices=TAP_BLOCKS)
    group.add_argument("--tap-std", action=argparse.BooleanOptionalAction, default=SHIPPED.tap_std,
                       help="also pool the taps by their spatial standard deviation")
    group.add_argument("--detail", action=argparse.BooleanOptionalAction, default=SHIPPED.detail,
                       help="also train on native-resolution detail crops")
    group.add_argument("--detail-view", action=argparse.BooleanOptionalAction, default=SHIPPED.detail_view,
                       help="with --detail, the detail crop is a candidate TTA view (not exportable yet)")
    group.add_argument("--epochs", type=int, default=SHIPPED.epochs)
    group.add_argument("--lr", type=float, default=SHIPPED.lr)
    group.add_argument("--weight-decay", type=float, default=SHIPPED.weight_decay)
    group.add_argument("--batch-size", type=int, default=SHIPPED.batch_size)
    group.add_argument("--label-smoothing", type=float, default=SHIPPED.label_smoothing)
    group.add_argument("--source-balance", type=float, default=SHIPPED.source_balance)
    group.add_argument("--mixup", type=float, default=SHIPPED.mixup)
    group.add_argument("--swa", action=argparse.BooleanOptionalAction, default=SHIPPED.swa)
    group = parser.add_argument_group("selection")
    group.add_argument("--folds", type=int, default=5, help="leave-source-out folds choosing the selection")
    group.add_argument("--max-false-accusation-rate", type=float, default=MAX_FALSE_ACCUSATION_RATE)
    group.add_argument("--max-uncertain", type=float, default=MAX_UNCERTAIN)
    return parser


def recipe_from_args(args) -> Recipe:
    """The ``Recipe`` named by the command-line options."""
    return Recipe(attention=args.attention, head=args.head, taps=tuple(args.taps), tap_std=args.tap_std,
                  detail=args.detail,
                  detail_view=args.detail_view,
                  epochs=args.epochs, lr=args.lr, weight_decay=args.weight_decay, batch_size=args.batch_size,
                  label_smoothing=args.label_smoothing, source_balance=args.source_balance, mixup=args.mixup,
                  swa=args.swa, seed=args.seed)


def feature_config_from_args(args) -> FeatureConfig:
    """The ``FeatureConfig`` named by the command-line options."""
    return FeatureConfig(draws=args.draws, detail_draws=args.detail_draws, strength=args.strength,
                         seed=args.seed, weights=args.weights,
                         jpeg_draft=getattr(args, "jpeg_draft", False))  # checkpoints before the option


def prepare(args):
    """``(bank, near_duplicate_groups, source_groups, data_sha256)`` for ``args`` (data roots,
    subsampling, cache, feature config)."""
    roots = [Path(args.data_path), *map(Path, args.extra_data)]
    samples = subsample(load_data(roots), args.max_per_class, args.seed)
    near = near_duplicate_groups(perceptual_hashes(roots, samples, Path(args.cache_dir)))
    sha = data_sha256(roots)
    bank = extract(samples, feature_config_from_args(args), sha, Path(args.cache_dir), args.workers)
    return bank, near, source_groups(samples, near), sha


def main(args) -> dict:
    """Train with ``args`` (see ``get_args_parser``); writes ``best.pth`` and ``train.json`` to
    ``args.output_dir`` and returns the summary written to ``train.json``."""
    started = time.time()
    torch.manual_seed(args.seed)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    bank, _, groups, sha = prepare(args)
    recipe = recipe_from_args(args)
    idx = np.flatnonzero(bank.ok)
    folds = [(idx[a], idx[b]) for a, b in leave_source_out_folds(bank.labels[idx], groups[idx], args.folds,
                                                                  args.seed)]
    fitted = fit_recipe(bank, idx, recipe, folds, f"{args.folds} leave-source-out folds of all training "
                        "sources (out-of-fold)", max_far=args.max_false_accusation_rate,
                        max_uncertain=args.max_uncertain)
    model = build_model(recipe.attention, recipe.head, args.weights, recipe.taps, recipe.tap_std)
    model.attention.load_state_dict(fitted.model.attention.state_dict())
    model.head.load_state_dict(fitted.model.head.state_dict())
    summary = {"recipe": recipe.to_dict(), "selection": fitted.selection.to_dict(),
               "feature_config": feature_config_from_args(args).__dict__, "args": vars(args),
               "data_manifest_sha256": sha, "n_images": len(idx),
               "n_sources": len(set(bank.sources[idx])), "unreadable": int((~bank.ok).sum()),
               "elapsed_s": round(time.time() - started, 1)}
    torch.save({"model": model.state_dict(), **summary}, out / "best.pth")
    (out / "train.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps({"selection": summary["selection"], "elapsed_s": summary["elapsed_s"]}, indent=2))
    return summary


if __name__ == "__main__":
    main(get_args_parser().parse_args())
