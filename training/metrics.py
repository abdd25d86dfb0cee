"""Evaluation metrics and validation-set selection rules for the human-vs-AI detector.

Conventions used by every function here:

* ``y_true``: (N,) int in {0, 1}; 0 = human-drawn, 1 = AI-generated. AI is the positive class.
* ``prob``: (N,) float in [0, 1], the model's probability of AI (sigmoid of the logits).
* A prediction is AI when ``prob >= threshold``.

Every metric sklearn provides comes from sklearn; only the expected calibration error
is computed here, because sklearn has no ECE.
"""

from __future__ import annotations

import itertools

import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    confusion_matrix,
    log_loss,
    precision_recall_fscore_support,
    roc_auc_score,
)

CLASS_NAMES = ("human", "ai")  # index = label
POSITIVE_CLASS = "ai"


def _check_inputs(y_true, prob) -> tuple[np.ndarray, np.ndarray]:
    """Validate and convert labels/probabilities; ValueError on bad shapes or values."""
    y = np.asarray(y_true)
    p = np.asarray(prob, dtype=np.float64)
    if y.ndim != 1 or p.ndim != 1:
        raise ValueError(f"y_true and prob must be 1-D, got shapes {y.shape} and {p.shape}")
    if len(y) != len(p):
        raise ValueError(f"y_true and prob have different lengths: {len(y)} != {len(p)}")
    if len(y) == 0:
        raise ValueError("empty input")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("y_true must contain only 0 (human) and 1 (AI)")
    if not (np.isfinite(p).all() and (p >= 0).all() and (p <= 1).all()):
        raise ValueError("prob must be finite and in [0, 1]")
    return y.astype(np.int64), p


def _check_threshold(threshold: float) -> float:
    if not 0.0 <= float(threshold) <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")
    return float(threshold)


def _both_classes(y: np.ndarray) -> bool:
    return len(np.unique(y)) == 2


def calibration_bins(y_true, prob, n_bins: int = 15) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Equal-width reliability bins over the probability of AI.

    Bins are ``[0, 1/n_bins], (1/n_bins, 2/n_bins], ..., ((n_bins-1)/n_bins, 1]``, the same
    rule as ``sklearn.calibration.calibration_curve(strategy="uniform")``; empty bins are dropped.

    Returns ``(frac_ai, mean_prob, count)``, each (B,) with B <= n_bins non-empty bins:
    fraction of true AI examples (float), mean probability of AI (float), examples per bin (int).
    Raises ValueError on invalid inputs or ``n_bins < 1``.
    """
    y, p = _check_inputs(y_true, prob)
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    frac_ai, mean_prob = calibration_curve(y, p, n_bins=n_bins, strategy="uniform", pos_label=1)
    bin_ids = np.searchsorted(np.linspace(0.0, 1.0, n_bins + 1)[1:-1], p)
    count = np.bincount(bin_ids, minlength=n_bins)
    return frac_ai, mean_prob, count[count > 0]


def expected_calibration_error(y_true, prob, n_bins: int = 15) -> float:
    """Expected calibration error (ECE) of the probability of AI.

    ECE = sum_b (|B_b| / N) * |acc(B_b) - conf(B_b)| over equal-width bins, where acc is the
    fraction of AI examples in the bin and conf the mean probability of AI there
    (Guo et al. 2017, "On Calibration of Modern Neural Networks", Eq. 3; Naeini et al. 2015).

    Args: y_true (N,) int in {0, 1}; prob (N,) float in [0, 1]; n_bins >= 1.
    Returns a float in [0, 1]; defined also when only one class is present.
    Raises ValueError on mismatched lengths, empty input, labels outside {0, 1},
    probabilities outside [0, 1] or n_bins < 1.
    """
    frac_ai, mean_prob, count = calibration_bins(y_true, prob, n_bins)
    return float(np.sum(count / count.sum() * np.abs(frac_ai - mean_prob)))


def binary_metrics(y_true, prob, threshold: float = 0.5) -> dict:
    """All evaluation metrics for one result set at one decision threshold.

    Args: y_true (N,) int in {0, 1}, 1 = AI (the positive class); prob (N,) float in [0, 1],
    probability of AI; threshold in [0, 1], predict AI when ``prob >= threshold``.

    Returns a JSON-serialisable dict (plain Python floats/ints):
    ``n``, ``accuracy``, ``roc_auc``, ``average_precision``, ``ece``, ``log_loss``, ``threshold``,
    ``confusion_matrix`` ([[TN, FP], [FN, TP]]: rows = true [human, ai], cols = predicted
    [human, ai]), ``per_class`` {"human"|"ai": {"precision", "recall", "f1", "support"}} and
    ``positive_class`` = "ai". ``roc_auc`` and ``average_precision`` are None when only one
    class is present (they are undefined there); precision of a class never predicted is 0.

    Raises ValueError on mismatched lengths, empty input, labels outside {0, 1},
    probabilities or threshold outside [0, 1].
    """
    y, p = _check_inputs(y_true, prob)
    threshold = _check_threshold(threshold)
    pred = (p >= threshold).astype(np.int64)
    both = _both_classes(y)
    precision, recall, f1, support = precision_recall_fscore_support(y, pred, labels=[0, 1], zero_division=0)
    return {
        "n": len(y),
        "accuracy": float(accuracy_score(y, pred)),
        "roc_auc": float(roc_auc_score(y, p)) if both else None,
        "average_precision": float(average_precision_score(y, p)) if both else None,
        "ece": expected_calibration_error(y, p),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "threshold": threshold,
        "confusion_matrix": confusion_matrix(y, pred, labels=[0, 1]).tolist(),
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(CLASS_NAMES)
        },
        "positive_class": POSITIVE_CLASS,
    }


def choose_threshold(y_true, prob) -> float:
    """Threshold that maximises accuracy on the given (validation) set.

    Candidates are the midpoints between consecutive sorted unique probabilities, plus 0.5;
    ties in accuracy are broken by closeness to 0.5. Args as in ``binary_metrics``.
    Returns a float in [0, 1]. Raises ValueError on invalid inputs.
    """
    y, p = _check_inputs(y_true, prob)
    unique = np.unique(p)
    candidates = np.append((unique[:-1] + unique[1:]) / 2.0, 0.5)
    order = np.argsort(p, kind="stable")
    p_sorted, y_sorted = p[order], y[order]
    # below[k] = number of examples among the k smallest probabilities, per class
    pos_below = np.concatenate(([0], np.cumsum(y_sorted)))
    neg_below = np.arange(len(y) + 1) - pos_below
    k = np.searchsorted(p_sorted, candidates, side="left")  # examples with prob < candidate
    correct = neg_below[k] + (pos_below[-1] - pos_below[k])  # integer, so ties are exact
    best = np.flatnonzero(correct == correct.max())
    return float(candidates[best[np.argmin(np.abs(candidates[best] - 0.5))]])


def choose_tta_views(y_true, view_probs, view_names, must_include: str = "original") -> list[str]:
    """Subset of test-time augmentation (TTA) views whose mean probability ranks best.

    Every non-empty subset of views containing ``must_include`` is scored by the ROC AUC of the
    mean-probability ensemble on the (validation) set; ties go to the lower log loss, then to
    fewer views.

    Args: y_true (N,) int in {0, 1}, 1 = AI, both classes required; view_probs (N, V) float in
    [0, 1], probability of AI per view; view_names V unique str; must_include one of them.
    Returns the chosen view names in the order of ``view_names``.
    Raises ValueError on shape mismatches, duplicate names, ``must_include`` not in
    ``view_names``, or a single class in y_true (ROC AUC is undefined there).
    """
    views = np.asarray(view_probs, dtype=np.float64)
    names = list(view_names)
    if views.ndim != 2 or views.shape[1] != len(names):
        raise ValueError(f"view_probs must be (N, {len(names)}), got shape {views.shape}")
    if len(set(names)) != len(names):
        raise ValueError(f"view_names must be unique, got {names}")
    if must_include not in names:
        raise ValueError(f"must_include={must_include!r} is not among view_names {names}")
    y, _ = _check_inputs(y_true, views.mean(axis=1))
    if not _both_classes(y):
        raise ValueError("choose_tta_views needs both classes: ROC AUC is undefined with one")
    anchor = names.index(must_include)
    others = [i for i in range(len(names)) if i != anchor]
    best_key, best_subset = None, None
    for r in range(len(others) + 1):
        for extra in itertools.combinations(others, r):
            subset = sorted((anchor, *extra))
            ensemble = views[:, subset].mean(axis=1)
            key = (-round(roc_auc_score(y, ensemble), 12), log_loss(y, ensemble, labels=[0, 1]), len(subset))
            if best_key is None or key < best_key:
                best_key, best_subset = key, subset
    return [names[i] for i in best_subset]
