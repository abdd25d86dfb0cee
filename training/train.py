"""Train the detector (``shinsaku train`` or ``python -m training.train``).

Two-stage schedule (Vu 2025): stage 1 trains SE attention + head on a frozen ImageNet backbone;
stage 2 fine-tunes the last feature blocks too, at a lower learning rate. Early stopping,
learning-rate reduction and the choice of ``best.pth`` watch the validation split only: ROC AUC
first, then loss (validation loss alone kept the frozen-backbone model, whose ranking was worse,
because fine-tuning makes probabilities more confident). CPU by default; CUDA and mixed precision
when present; several GPUs through ``torchrun`` (DistributedDataParallel).

Layout after the torchvision classification references: ``get_args_parser``, ``main(args)``,
``train_one_epoch``, ``evaluate``, checkpoint dicts with ``--resume``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm

from training import model as model_lib
from training.augment import TrainTransform
from training.data import HOLDOUT_SOURCES, SPLITS, make_splits, manifest_sha256
from training.dataset import EvalTransform, ImageDataset, seed_worker
from training.metrics import binary_metrics


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    """Command-line options of ``train``."""
    parser = argparse.ArgumentParser(description="Train the Shinsaku detector", add_help=add_help)
    parser.add_argument("--data-path", default="../shared/data", help="folder with manifest.tsv")
    parser.add_argument("--split", default="random", choices=SPLITS)
    parser.add_argument("--holdout-sources", nargs="*", default=list(HOLDOUT_SOURCES),
                        help="sources held out as test by the cross-source split")
    parser.add_argument("--output-dir", default="runs/random", help="checkpoints and logs")
    parser.add_argument("--cache-dir", default=".cache", help="perceptual-hash cache")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-per-class", type=int, default=None, help="subsample (short runs)")
    parser.add_argument("--weights", default="deep-sort",
                        help="backbone: imagenet (download), deep-sort (offline), none, or a path")
    parser.add_argument("--head", default="dense", choices=("dense", "baseline"))
    parser.add_argument("--no-attention", dest="attention", action="store_false")
    parser.add_argument("--resize-mode", default="center_crop", choices=("center_crop", "letterbox"))
    parser.add_argument("--epochs-frozen", type=int, default=3, help="stage 1 epochs")
    parser.add_argument("--epochs", type=int, default=14, help="stage 2 epochs (at most)")
    parser.add_argument("--unfreeze-blocks", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3, help="stage 1 learning rate")
    parser.add_argument("--lr-finetune", type=float, default=1e-4, help="stage 2 learning rate")
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--patience", type=int, default=4, help="early stopping, epochs")
    parser.add_argument("--lr-patience", type=int, default=2, help="ReduceLROnPlateau, epochs")
    parser.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1))
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--amp", action=argparse.BooleanOptionalAction, default=torch.cuda.is_available(),
                        help="mixed precision (CUDA only; on by default when CUDA is present)")
    parser.add_argument("--resume", default="", help="checkpoint.pth to resume from")
    return parser


def init_distributed(args) -> None:
    """Set ``args.distributed``, ``args.rank``, ``args.world_size`` from torchrun's environment."""
    args.distributed = "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1
    args.rank = int(os.environ.get("RANK", 0))
    args.world_size = int(os.environ.get("WORLD_SIZE", 1))
    if args.distributed:
        local_rank = int(os.environ["LOCAL_RANK"])
        if args.device.startswith("cuda"):
            torch.cuda.set_device(local_rank)
            args.device = f"cuda:{local_rank}"
        dist.init_process_group("nccl" if args.device.startswith("cuda") else "gloo")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch; ask torch for deterministic kernels where it has them."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.backends.cudnn.benchmark = False
    torch.use_deterministic_algorithms(True, warn_only=True)


def train_one_epoch(model, criterion, optimizer, loader, device, scaler=None, desc="train") -> float:
    """One pass over ``loader``; returns the mean training loss (BCE with logits)."""
    model.train()
    model_lib.set_frozen_bn_eval(model.module if hasattr(model, "module") else model)
    total, count = 0.0, 0
    for images, labels in tqdm(loader, desc=desc, leave=False, disable=not _is_main()):
        images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
        with torch.autocast(device_type=device.split(":")[0], enabled=scaler is not None):
            loss = criterion(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
        total += loss.item() * len(labels)
        count += len(labels)
    return total / max(count, 1)


@torch.no_grad()
def evaluate(model, criterion, loader, device) -> dict:
    """Validation loss and metrics (``training.metrics.binary_metrics`` at threshold 0.5)."""
    model.eval()
    logits, labels = [], []
    for images, y in loader:
        logits.append(model(images.to(device)).float().cpu())
        labels.append(y)
    logits, labels = torch.cat(logits), torch.cat(labels)
    metrics = binary_metrics(labels.numpy().astype(int), torch.sigmoid(logits).numpy(), 0.5)
    metrics["loss"] = criterion(logits, labels).item()
    return metrics


def validation_score(val: dict) -> tuple[float, float]:
    """Model-selection key, higher is better: (validation ROC AUC, minus validation loss)."""
    return (val["roc_auc"] if val["roc_auc"] is not None else 0.0, -val["loss"])


def _is_main() -> bool:
    return not dist.is_initialized() or dist.get_rank() == 0


def make_loaders(args, splits) -> tuple[DataLoader, DataLoader]:
    """Training loader (augmented, shuffled / distributed) and validation loader (contract only)."""
    train_set = ImageDataset(args.data_path, splits["train"],
                             TrainTransform(resize_mode=args.resize_mode, seed=args.seed))
    val_set = ImageDataset(args.data_path, splits["val"], EvalTransform(resize_mode=args.resize_mode))
    sampler = DistributedSampler(train_set, seed=args.seed) if args.distributed else None
    generator = torch.Generator().manual_seed(args.seed)
    common = dict(batch_size=args.batch_size, num_workers=args.workers, worker_init_fn=seed_worker,
                  pin_memory=args.device.startswith("cuda"), persistent_workers=args.workers > 0)
    train_loader = DataLoader(train_set, shuffle=sampler is None, sampler=sampler, drop_last=True,
                              generator=generator, **common)
    return train_loader, DataLoader(val_set, shuffle=False, **common)


def save_checkpoint(path: Path, **state) -> None:
    """Write a checkpoint dict atomically (temporary file, then rename)."""
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def main(args) -> dict:
    """Train with ``args`` (see ``get_args_parser``); writes ``checkpoint.pth`` (latest, resumable),
    ``best.pth`` (best ``validation_score``) and ``log.jsonl`` to ``args.output_dir``. Returns the
    best validation metrics."""
    init_distributed(args)
    seed_everything(args.seed + args.rank)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    splits = make_splits(Path(args.data_path), args.split, args.seed, Path(args.cache_dir),
                         args.max_per_class)
    if args.split == "cross-source" and tuple(args.holdout_sources) != HOLDOUT_SOURCES:
        raise SystemExit("custom --holdout-sources: edit training.data.HOLDOUT_SOURCES to keep splits in one place")
    train_loader, val_loader = make_loaders(args, splits)
    device = args.device
    model = model_lib.build_model(args.attention, args.head, args.weights).to(device)
    criterion = nn.BCEWithLogitsLoss()
    scaler = torch.amp.GradScaler() if args.amp and device.startswith("cuda") else None
    meta = {"args": vars(args), "data_manifest_sha256": manifest_sha256(Path(args.data_path)),
            "split_sizes": {k: len(v) for k, v in splits.items()}}
    state = {"stage": 1, "epoch": 0, "best_score": (-1.0, -float("inf")), "bad_epochs": 0}
    if args.resume:
        ckpt = torch.load(args.resume, map_location="cpu", weights_only=False)
        model.load_state_dict(ckpt["model"])
        state = ckpt["state"]
    log_path = out / "log.jsonl"
    best = {}
    started = time.time()
    for stage, epochs, lr in ((1, args.epochs_frozen, args.lr), (2, args.epochs, args.lr_finetune)):
        if stage < state["stage"]:
            continue
        params = model_lib.trainable_parameters(model, stage, args.unfreeze_blocks)
        optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=args.weight_decay)
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=0.3,
                                                               patience=args.lr_patience)
        net = nn.parallel.DistributedDataParallel(model) if args.distributed else model
        if args.resume and stage == state["stage"] and "optimizer" in ckpt:
            optimizer.load_state_dict(ckpt["optimizer"])
            scheduler.load_state_dict(ckpt["lr_scheduler"])
        while state["epoch"] < epochs:
            if args.distributed:
                train_loader.sampler.set_epoch(stage * 1000 + state["epoch"])
            train_loss = train_one_epoch(net, criterion, optimizer, train_loader, device, scaler,
                                         desc=f"stage {stage} epoch {state['epoch']}")
            val = evaluate(model, criterion, val_loader, device)
            score = validation_score(val)
            scheduler.step(score[0])
            state["epoch"] += 1
            improved = score > tuple(state["best_score"])
            state["best_score"] = max(score, tuple(state["best_score"]))
            state["bad_epochs"] = 0 if improved else state["bad_epochs"] + 1
            row = {"epoch": state["epoch"], "stage": stage, "train_loss": train_loss,
                   "val_loss": val["loss"], "val_accuracy": val["accuracy"], "val_roc_auc": val["roc_auc"],
                   "lr": optimizer.param_groups[0]["lr"], "elapsed_s": time.time() - started}
            if _is_main():
                with open(log_path, "a") as fh:
                    fh.write(json.dumps(row) + "\n")
                tqdm.write(json.dumps(row))
                if improved:
                    best = val
                    save_checkpoint(out / "best.pth", model=model.state_dict(), val=val, stage=stage,
                                    epoch=state["epoch"], **meta)
                save_checkpoint(out / "checkpoint.pth", model=model.state_dict(), optimizer=optimizer.state_dict(),
                                lr_scheduler=scheduler.state_dict(), state=state, **meta)
            if stage == 2 and state["bad_epochs"] >= args.patience:
                break
        state.update(stage=stage + 1, epoch=0, bad_epochs=0)
    if _is_main():
        tqdm.write(f"training took {time.time() - started:.0f} s on {device}")
    if args.distributed:
        dist.destroy_process_group()
    return best


if __name__ == "__main__":
    main(get_args_parser().parse_args())
