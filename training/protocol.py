"""Measurement protocols and their typed result records.

- **Leave-source-out** (the headline): ``StratifiedGroupKFold`` over source groups
  (``training.data.source_groups``: a source and its near-duplicates stay together), k = 5. For each
  fold the recipe is fitted on the other 4/5 of the sources, with its selection chosen by inner
  leave-source-out folds inside them (``training.recipe.fit_recipe``), and measured on the unseen
  fifth. Reported per fold, as mean and standard deviation over folds, pooled, and per source.
- **Random split** (in-distribution, for the comparison with Vu 2025): the stratified 64/16/20 split of
  ``training.data.split_indices``; the selection is chosen on its validation part.

Every rate is at the selection's threshold and uncertain band; AI is the positive class; the false
accusation rate is the share of human images labelled AI.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from training import metrics as M
from training.data import leave_source_out_folds, split_indices
from training.features import FeatureBank
from training.recipe import Recipe, fit_recipe, view_logits
from training.selection import Selection, operating_point

#: Summary metrics of a result set, in report order.
HEADLINE = ("false_accusation_rate", "ai_recall", "share_uncertain", "accuracy", "roc_auc",
            "average_precision", "ece")


def result_metrics(y: np.ndarray, prob: np.ndarray, selection: Selection) -> dict:
    """The ``HEADLINE`` metrics (plus ``n``, ``confusion_matrix``, ``per_class``) of probabilities
    ``prob`` ``(N,)`` for labels ``y`` ``(N,)`` at the selection's operating point."""
    full = M.binary_metrics(y, prob, selection.threshold)
    point = operating_point(y, prob, selection.threshold, selection.uncertain_band)
    return {**point, "roc_auc": full["roc_auc"], "average_precision": full["average_precision"],
            "ece": full["ece"], "confusion_matrix": full["confusion_matrix"], "per_class": full["per_class"]}


@dataclass
class FoldResult:
    """One fold: its test sources, the selection chosen without them, and the metrics on them
    (``test``) and on their laundered copies (``test_laundered``)."""

    fold: int
    test_sources: list[str]
    selection: Selection
    test: dict
    test_laundered: dict

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return {**asdict(self), "selection": self.selection.to_dict()}


@dataclass
class Predictions:
    """Per-image predictions gathered over folds: bank ``index`` ``(N,)``, calibrated ``prob`` and
    ``prob_laundered`` ``(N,)``, ``label`` ``(N,)`` str, and the ``fold`` that measured each."""

    index: np.ndarray
    prob: np.ndarray
    prob_laundered: np.ndarray
    label: np.ndarray
    fold: np.ndarray


@dataclass
class ProtocolResult:
    """A protocol's measurement of a recipe: per-fold results, their ``summary`` (metric -> mean,
    std over folds), ``pooled`` metrics over all folds' images, ``per_source`` rows (worst first),
    and the per-image ``predictions`` (not serialised)."""

    protocol: str
    recipe: Recipe
    folds: list[FoldResult]
    summary: dict = field(default_factory=dict)
    pooled: dict = field(default_factory=dict)
    per_source: list[dict] = field(default_factory=list)
    predictions: Predictions | None = None

    def to_dict(self) -> dict:
        """JSON-ready dict (without ``predictions``)."""
        return {"protocol": self.protocol, "recipe": self.recipe.to_dict(),
                "folds": [f.to_dict() for f in self.folds], "summary": self.summary,
                "pooled": self.pooled, "per_source": self.per_source}


def _inner_folds(bank: FeatureBank, idx: np.ndarray, groups: np.ndarray, k: int, seed: int):
    """Leave-source-out folds within ``idx``, as bank indices."""
    return [(idx[a], idx[b]) for a, b in leave_source_out_folds(bank.labels[idx], groups[idx], k, seed)]


def _measure(bank: FeatureBank, fitted, idx: np.ndarray, recipe: Recipe):
    """``(prob, prob_laundered)`` of a fitted model on images ``idx``."""
    views = recipe.views()
    return tuple(fitted.selection.probability(view_logits(fitted.model, bank, idx, views, laundered), views)
                 for laundered in (False, True))


def _summarise(result: ProtocolResult, bank: FeatureBank) -> ProtocolResult:
    """Fill ``summary``, ``pooled`` and ``per_source`` from the folds and predictions."""
    for name in ("test", "test_laundered"):
        for key in HEADLINE:
            values = [f.__dict__[name][key] for f in result.folds if f.__dict__[name][key] is not None]
            result.summary.setdefault(name, {})[key] = {
                "mean": float(np.mean(values)) if values else None,
                "std": float(np.std(values)) if values else None, "folds": len(values)}
    pred = result.predictions
    y = bank.labels[pred.index]
    # pooled rates use each image's own fold labels; ROC AUC pools the calibrated probabilities
    is_ai, unc = pred.label == "ai", pred.label == "uncertain"
    result.pooled = {"n": len(y), "false_accusation_rate": float(is_ai[y == 0].mean()),
                     "ai_recall": float(is_ai[y == 1].mean()), "share_uncertain": float(unc.mean()),
                     "roc_auc": M.binary_metrics(y, pred.prob)["roc_auc"]}
    sources = bank.sources[pred.index]
    rows = []
    for source in np.unique(sources):
        m = sources == source
        label = "ai" if y[m][0] == 1 else "human"
        rows.append({"source": str(source), "class": label, "n": int(m.sum()), "fold": int(pred.fold[m][0]),
                     "labelled_ai": float(is_ai[m].mean()), "labelled_uncertain": float(unc[m].mean()),
                     "labelled_human": float((pred.label[m] == "human").mean()),
                     "mean_probability_ai": float(pred.prob[m].mean())})
    # worst first: human sources by false accusations, AI sources by misses
    rows.sort(key=lambda r: -(r["labelled_ai"] if r["class"] == "human" else r["labelled_human"]))
    result.per_source = rows
    return result


def leave_source_out(bank: FeatureBank, groups: np.ndarray, recipe: Recipe, k: int = 5, inner_k: int = 4,
                     seed: int = 0, **select_kwargs) -> ProtocolResult:
    """Measure ``recipe`` by leave-source-out cross-validation (module docstring). ``groups``:
    ``(N,)`` source groups of the bank's images. Raises ValueError when folds cannot be made."""
    folds = leave_source_out_folds(bank.labels, groups, k, seed)
    result = ProtocolResult("leave-source-out", recipe, [])
    parts = []
    for f, (train, test) in enumerate(folds):
        inner = _inner_folds(bank, train, groups, inner_k, seed + 1 + f)
        fitted = fit_recipe(bank, train, recipe, inner, "inner leave-source-out folds of the training sources "
                            "(out-of-fold)", **select_kwargs)
        test = test[bank.ok[test]]
        prob, prob_l = _measure(bank, fitted, test, recipe)
        y = bank.labels[test]
        result.folds.append(FoldResult(f, sorted(set(bank.sources[test])), fitted.selection,
                                       result_metrics(y, prob, fitted.selection),
                                       result_metrics(y, prob_l, fitted.selection)))
        parts.append((test, prob, prob_l, fitted.selection.labels(prob), np.full(len(test), f)))
    result.predictions = Predictions(*(np.concatenate(col) for col in zip(*parts)))
    return _summarise(result, bank)


def random_split(bank: FeatureBank, near_duplicates: np.ndarray, recipe: Recipe, seed: int = 0,
                 **select_kwargs) -> ProtocolResult:
    """Measure ``recipe`` on the random split (64/16/20, near-duplicates kept together): fitted on
    train, selection on val, measured on test. One "fold"."""
    split = split_indices(bank.samples, near_duplicates, "random", seed)
    train, val = split["train"][bank.ok[split["train"]]], split["val"][bank.ok[split["val"]]]
    fitted = fit_recipe(bank, train, recipe, [(train, val)], "random split validation", **select_kwargs)
    # the final head of fit_recipe is trained on ``train`` alone, as the selection's model was
    test = split["test"][bank.ok[split["test"]]]
    prob, prob_l = _measure(bank, fitted, test, recipe)
    y = bank.labels[test]
    result = ProtocolResult("random", recipe, [FoldResult(0, [], fitted.selection,
                                                          result_metrics(y, prob, fitted.selection),
                                                          result_metrics(y, prob_l, fitted.selection))])
    result.predictions = Predictions(test, prob, prob_l, fitted.selection.labels(prob), np.zeros(len(test), int))
    return _summarise(result, bank)
