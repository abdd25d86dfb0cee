"""Platt scaling of the TTA probability, fitted on the validation split (Platt 1999, "Probabilistic
Outputs for Support Vector Machines"; as a post-hoc calibrator in Guo et al. 2017, Sec. 4.1):

    p_calibrated = sigmoid(a * logit(p) + b)

It is monotone, so ROC AUC and average precision do not change; it makes the probability a user sees
("AI 93%") mean what it says, which the expected calibration error measures.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

#: Probabilities are clipped to [EPS, 1 - EPS] before the logit.
EPS = 1e-6
IDENTITY = (1.0, 0.0)


def logit(prob) -> np.ndarray:
    """``(N,)`` probabilities -> ``(N,)`` float64 logits, clipped at ``EPS``."""
    p = np.clip(np.asarray(prob, dtype=np.float64), EPS, 1 - EPS)
    return np.log(p) - np.log1p(-p)


def fit_platt(y_true, prob) -> tuple[float, float]:
    """Fit ``(a, b)`` by maximum likelihood (scikit-learn's logistic regression, no penalty).

    Args: y_true ``(N,)`` int in {0, 1} (1 = AI); prob ``(N,)`` float in [0, 1].
    Raises ValueError when only one class is present.
    """
    y = np.asarray(y_true)
    if len(np.unique(y)) < 2:
        raise ValueError("Platt scaling needs both classes in the validation set")
    model = LogisticRegression(C=np.inf).fit(logit(prob)[:, None], y)
    return float(model.coef_[0, 0]), float(model.intercept_[0])


def apply_platt(prob, a: float, b: float) -> np.ndarray:
    """``(N,)`` probabilities -> calibrated ``(N,)`` float64 probabilities ``sigmoid(a*logit(p)+b)``."""
    return 1.0 / (1.0 + np.exp(-(a * logit(prob) + b)))
