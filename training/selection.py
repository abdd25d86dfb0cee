"""The evaluation selection: TTA views, calibration, threshold and uncertain band, chosen on
held-out-source validation only, as one typed record shared by train, evaluate, export and report.

Operating point (``choose_operating_point``): the threshold is the accuracy-optimal one unless that
accuses more than ``max_false_accusation_rate`` of the validation's human images (human labelled AI),
in which case it rises until it does not; below it, the uncertain band ``[low, threshold)`` holds the
doubtful images so that the "human" calls (``p < low``) reach ``human_precision`` where that costs at
most ``max_uncertain`` of the validation images. Labels follow ``backend.model_card.label_for``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from backend.model_card import label_for
from training.calibration import IDENTITY, fit_platt
from training.metrics import _check_inputs, binary_metrics, choose_threshold, choose_tta_views

#: Defaults of the operating point (issue targets: at most 5% false accusations, 10% uncertain).
MAX_FALSE_ACCUSATION_RATE = 0.05
MAX_UNCERTAIN = 0.10
HUMAN_PRECISION = 0.95


@dataclass
class Selection:
    """Everything chosen on validation for one model.

    Attributes:
        tta_views: view names averaged (as logits) in the exported graph; ``original`` first.
        platt: ``(a, b)`` of Platt scaling ``sigmoid(a * logit + b)`` on the averaged logit.
        threshold: probability of AI at or above which the label is ``ai``.
        uncertain_band: ``(low, high)``, labels ``uncertain`` when ``low <= p < high``.
        chosen_on: which data chose it (e.g. "inner leave-source-out folds (out-of-fold)").
        max_false_accusation_rate: the target the threshold was set for.
        validation: the operating point measured on that validation data (false accusation rate,
            AI recall, share uncertain, n).
    """

    tta_views: list[str]
    platt: tuple[float, float] = IDENTITY
    threshold: float = 0.5
    uncertain_band: tuple[float, float] = (0.5, 0.5)
    chosen_on: str = "defaults"
    max_false_accusation_rate: float = MAX_FALSE_ACCUSATION_RATE
    validation: dict = field(default_factory=dict)

    def probability(self, view_logits: np.ndarray, views: list[str]) -> np.ndarray:
        """``(N, V)`` per-view logits (columns named ``views``) -> ``(N,)`` float64 calibrated
        probability of AI: mean logit over ``tta_views``, then Platt scaling (as the ONNX graph)."""
        cols = [list(views).index(v) for v in self.tta_views]
        mean_logit = np.asarray(view_logits, dtype=np.float64)[:, cols].mean(axis=1)
        a, b = self.platt
        return 1.0 / (1.0 + np.exp(-(a * mean_logit + b)))

    def labels(self, prob: np.ndarray) -> np.ndarray:
        """``(N,)`` probabilities -> ``(N,)`` labels (str) by the backend's rule."""
        return np.array([label_for(float(p), self.threshold, tuple(self.uncertain_band)) for p in prob])

    def to_dict(self) -> dict:
        """JSON-ready dict (lists for tuples)."""
        d = asdict(self)
        d["platt"], d["uncertain_band"] = list(self.platt), list(self.uncertain_band)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Selection:
        """Inverse of ``to_dict``. Raises ``KeyError`` / ``TypeError`` on a malformed dict."""
        return cls(tta_views=list(d["tta_views"]), platt=tuple(d["platt"]), threshold=float(d["threshold"]),
                   uncertain_band=tuple(d["uncertain_band"]), chosen_on=d["chosen_on"],
                   max_false_accusation_rate=float(d.get("max_false_accusation_rate", MAX_FALSE_ACCUSATION_RATE)),
                   validation=dict(d.get("validation", {})))


def operating_point(y_true, prob, threshold: float, band: tuple[float, float]) -> dict:
    """Rates of a labelling on a set: ``false_accusation_rate`` (human images labelled AI / human
    images), ``ai_recall`` (AI labelled AI / AI), ``share_uncertain``, ``accuracy`` (at the
    threshold, ignoring the band), ``accuracy_outside_band`` and ``n``. Rates of an absent class
    are None."""
    y, p = _check_inputs(y_true, prob)
    low, high = band
    is_ai = (p >= threshold) & ~((p >= low) & (p < high))
    uncertain = (p >= low) & (p < high)
    sure = ~uncertain
    return {
        "n": len(y),
        "false_accusation_rate": float(is_ai[y == 0].mean()) if (y == 0).any() else None,
        "ai_recall": float(is_ai[y == 1].mean()) if (y == 1).any() else None,
        "share_uncertain": float(uncertain.mean()),
        "accuracy": float(((p >= threshold) == y).mean()),
        "accuracy_outside_band": float(((p[sure] >= threshold) == y[sure]).mean()) if sure.any() else None,
    }


def choose_operating_point(y_true, prob, max_far: float = MAX_FALSE_ACCUSATION_RATE,
                           max_uncertain: float = MAX_UNCERTAIN,
                           human_precision: float = HUMAN_PRECISION) -> tuple[float, tuple[float, float]]:
    """``(threshold, (low, high))`` on validation data (see the module docstring); ``high`` equals
    the threshold, so only images below it are ever uncertain.

    Args: y_true ``(N,)`` int (1 = AI), both classes; prob ``(N,)`` calibrated probability of AI;
    max_far, max_uncertain, human_precision in [0, 1].
    Raises ValueError on invalid inputs or a single class.
    """
    y, p = _check_inputs(y_true, prob)
    if len(np.unique(y)) < 2:
        raise ValueError("choosing an operating point needs both classes")
    human = np.sort(p[y == 0])[::-1]
    allowed = int(np.floor(max_far * len(human)))  # human images that may score >= threshold
    threshold = choose_threshold(y, p)
    if allowed < len(human) and (p[y == 0] >= threshold).sum() > allowed:
        edge = human[allowed]  # the highest human probability that must fall below the threshold
        above = p[p > edge]
        threshold = float((edge + above.min()) / 2) if len(above) else float(np.nextafter(edge, 1.0))
    candidates = np.unique(np.concatenate([p[p < threshold], [threshold]]))[::-1]
    low = threshold
    for cand in candidates:  # from the narrowest band down
        if (p[(p >= cand) & (p < threshold)]).size > max_uncertain * len(p):
            break
        low = float(cand)
        called = p < low
        if not called.any() or (y[called] == 0).mean() >= human_precision:
            break
    return float(threshold), (float(low), float(threshold))


def select(y_true, view_logits: np.ndarray, views: list[str], chosen_on: str,
           max_far: float = MAX_FALSE_ACCUSATION_RATE, max_uncertain: float = MAX_UNCERTAIN) -> Selection:
    """The whole selection from validation predictions: TTA views by ROC AUC
    (``training.metrics.choose_tta_views`` on the per-view probabilities), Platt scaling of the
    mean logit, then ``choose_operating_point``.

    Args: y_true ``(N,)`` int, both classes; view_logits ``(N, V)`` float logits per view in
    ``views`` (must include ``original``). Raises ValueError on invalid inputs.
    """
    y = np.asarray(y_true)
    logits = np.asarray(view_logits, dtype=np.float64)
    tta = choose_tta_views(y, 1.0 / (1.0 + np.exp(-logits)), list(views))
    sel = Selection(tta_views=tta, chosen_on=chosen_on, max_false_accusation_rate=max_far)
    sel.platt = fit_platt(y, sel.probability(logits, views))
    prob = sel.probability(logits, views)
    sel.threshold, sel.uncertain_band = choose_operating_point(y, prob, max_far, max_uncertain)
    sel.validation = {**operating_point(y, prob, sel.threshold, sel.uncertain_band),
                      "roc_auc": binary_metrics(y, prob)["roc_auc"]}
    return sel

