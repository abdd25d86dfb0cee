"""A training recipe and how it is fitted: the SE attention and head trained on cached backbone
features (``training.features``), with its selection made on held-out sources by cross-fitting.

``fit_recipe(bank, train_idx, recipe, val_folds)``:
1. for each ``(inner_train, inner_val)`` pair, train a head on ``inner_train`` and predict the views'
   logits on ``inner_val`` (sources of ``inner_val`` unseen by that head);
2. choose the selection (``training.selection.select``) on those out-of-fold predictions;
3. train the final head on all of ``train_idx``.
So every knob that touches a threshold is chosen on sources the deciding model never saw, and the
shipped model is made by exactly the procedure that each leave-source-out fold measures.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from training.features import EVAL_VIEWS, FeatureBank
from training.model import BLOCK_CHANNELS, FEATURE_CHANNELS, TAP_BLOCKS, Detector
from training.selection import Selection, select


@dataclass(frozen=True)
class Recipe:
    """Knobs of head training, each chosen on held-out-source validation (README ablation).

    Attributes:
        attention / head / taps / tap_std: the model (``training.model.Detector``).
        detail: also train on the detail-view draws (native-resolution 224 px crops).
        detail_view: with ``detail``, make the detail crop a candidate TTA view. The preprocessing
            contract's single 224 px input cannot carry it, so a selection that picks it cannot be
            exported (``training.export``); ``detail_view=False`` keeps the recipe exportable.
        epochs, lr, weight_decay, batch_size: AdamW schedule (cosine decay), one draw per image per epoch.
        label_smoothing: targets ``y (1 - e) + e / 2``.
        source_balance: sampling weight of an image ``n_source ** -source_balance`` (0: none, 1: every
            source equal), then both classes given equal total weight.
        mixup: Beta(a, a) mixing of pooled features and targets (0: off).
        swa: average the weights of the last half of the epochs (stochastic weight averaging).
        seed: initialisation and sampling seed.
    """

    attention: bool = True
    head: str = "dense"
    taps: tuple[int, ...] = ()
    tap_std: bool = False
    detail: bool = False
    detail_view: bool = True
    epochs: int = 30
    lr: float = 1e-3
    weight_decay: float = 1e-2
    batch_size: int = 64
    label_smoothing: float = 0.0
    source_balance: float = 1.0
    mixup: float = 0.0
    swa: bool = False
    seed: int = 0

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        d = asdict(self)
        d["taps"] = list(self.taps)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Recipe:
        """Inverse of ``to_dict`` (unknown keys raise ``TypeError``)."""
        return cls(**{**d, "taps": tuple(d.get("taps", ()))})

    def views(self) -> list[str]:
        """Candidate TTA views for this recipe."""
        return [v for v in EVAL_VIEWS if v != "detail" or (self.detail and self.detail_view)]


def feature_columns(taps: tuple[int, ...], tap_std: bool = False) -> np.ndarray:
    """Columns of the bank's ``D = 1280 + 376 + 376`` features (final, taps' means, taps' standard
    deviations) that a model with ``taps`` (and ``tap_std``) reads, in its order."""
    cols, start = [np.arange(FEATURE_CHANNELS)], FEATURE_CHANNELS
    for stat in (False, True):
        for block in TAP_BLOCKS:
            width = BLOCK_CHANNELS[block]
            if block in taps and (tap_std or not stat):
                cols.append(np.arange(start, start + width))
            start += width
    return np.concatenate(cols)


def sample_weights(labels: np.ndarray, sources: np.ndarray, source_balance: float) -> np.ndarray:
    """Sampling weights ``(N,) float64`` summing to 1: ``n_source ** -source_balance`` per image,
    then rescaled so the two classes weigh the same."""
    _, inverse, counts = np.unique(sources, return_inverse=True, return_counts=True)
    w = counts[inverse].astype(np.float64) ** -source_balance
    for label in (0, 1):
        mask = labels == label
        if mask.any():
            w[mask] /= 2 * w[mask].sum()
    return w / w.sum()


def train_one_epoch(model: Detector, optimizer, rows: np.ndarray, targets: np.ndarray, recipe: Recipe,
                    rng: np.random.Generator) -> float:
    """One pass of minibatches over ``rows`` ``(M, D)`` float32 with ``targets`` ``(M,)`` in [0, 1];
    returns the mean loss (BCE with logits)."""
    model.train()
    criterion = nn.BCEWithLogitsLoss()
    order = rng.permutation(len(rows))
    total = 0.0
    for start in range(0, len(order), recipe.batch_size):
        idx = order[start:start + recipe.batch_size]
        z, t = torch.from_numpy(rows[idx]), torch.from_numpy(targets[idx])
        if recipe.mixup > 0:
            lam = float(rng.beta(recipe.mixup, recipe.mixup))
            perm = torch.from_numpy(rng.permutation(len(idx)))
            z, t = lam * z + (1 - lam) * z[perm], lam * t + (1 - lam) * t[perm]
        loss = criterion(model.classify_pooled(z), t)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(idx)
    return total / max(len(order), 1)


def train_head(bank: FeatureBank, idx: np.ndarray, recipe: Recipe) -> Detector:
    """Train the SE attention and head of a ``Detector`` on the cached features of images ``idx``
    (the backbone stays as built: its weights are loaded at export). Returns the model in eval mode.

    Each epoch draws ``len(idx)`` images by ``sample_weights`` and one augmentation draw of each.
    Runs on one thread: minibatches of 64 x 1,656 features are too small to share, and on 2 busy
    cores two threads made each step about 10x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train_head(bank, idx, recipe)
    finally:
        torch.set_num_threads(threads)


def _train_head(bank: FeatureBank, idx: np.ndarray, recipe: Recipe) -> Detector:
    idx = np.asarray(idx)[bank.ok[idx]]
    torch.manual_seed(recipe.seed)
    rng = np.random.default_rng(recipe.seed)
    model = Detector(recipe.attention, recipe.head, recipe.taps, recipe.tap_std)
    params = [p for n, p in model.named_parameters() if not n.startswith("features.")]
    optimizer = torch.optim.AdamW(params, lr=recipe.lr, weight_decay=recipe.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=recipe.epochs)
    averaged = torch.optim.swa_utils.AveragedModel(model) if recipe.swa else None
    cols = feature_columns(recipe.taps, recipe.tap_std)
    draws = np.concatenate([bank.train, bank.train_detail], axis=1) if recipe.detail else bank.train
    weights = sample_weights(bank.labels[idx], bank.sources[idx], recipe.source_balance)
    smooth = recipe.label_smoothing
    for epoch in range(recipe.epochs):
        picked = idx[rng.choice(len(idx), size=len(idx), p=weights)]
        which = rng.integers(0, draws.shape[1], size=len(picked))
        rows = draws[picked, which][:, cols].astype(np.float32)
        targets = (bank.labels[picked] * (1 - smooth) + smooth / 2).astype(np.float32)
        train_one_epoch(model, optimizer, rows, targets, recipe, rng)
        scheduler.step()
        if averaged is not None and epoch >= recipe.epochs // 2:
            averaged.update_parameters(model)
    if averaged is not None:
        model = averaged.module
    return model.eval()


@torch.no_grad()
def view_logits(model: Detector, bank: FeatureBank, idx: np.ndarray, views: list[str],
                laundered: bool = False) -> np.ndarray:
    """``(len(idx), V)`` float64 logits of ``model`` on the cached evaluation ``views`` of images
    ``idx`` (their laundered copies when ``laundered``)."""
    source = bank.laundered if laundered else bank.views
    cols = feature_columns(model.taps, model.tap_std)
    out = [model.classify_pooled(torch.from_numpy(source[v][idx][:, cols].astype(np.float32))).numpy()
           for v in views]
    return np.stack(out, axis=1).astype(np.float64)


@dataclass
class FittedModel:
    """A fitted recipe: the trained ``model`` (head and attention; backbone as built), its
    ``selection``, and the out-of-fold validation predictions it was chosen on (``oof_index``
    ``(M,)`` bank indices, ``oof_logits`` ``(M, V)``)."""

    model: Detector
    selection: Selection
    oof_index: np.ndarray
    oof_logits: np.ndarray


def fit_recipe(bank: FeatureBank, train_idx: np.ndarray, recipe: Recipe,
               val_folds: list[tuple[np.ndarray, np.ndarray]], chosen_on: str, **select_kwargs) -> FittedModel:
    """Fit ``recipe`` on ``train_idx`` with its selection chosen on ``val_folds`` (bank indices; see
    the module docstring). ``select_kwargs`` go to ``training.selection.select``.

    Raises ValueError when the validation predictions lack a class.
    """
    views = recipe.views()
    index, logits = [], []
    for inner_train, inner_val in val_folds:
        inner_val = inner_val[bank.ok[inner_val]]
        head = train_head(bank, inner_train, recipe)
        index.append(inner_val)
        logits.append(view_logits(head, bank, inner_val, views))
    index, logits = np.concatenate(index), np.concatenate(logits)
    selection = select(bank.labels[index], logits, views, chosen_on, **select_kwargs)
    return FittedModel(train_head(bank, train_idx, recipe), selection, index, logits)
