"""Platt scaling: recovers a known miscalibration, keeps the ranking, and matches the exported form."""

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from training.calibration import apply_platt, fit_platt, logit
from training.metrics import expected_calibration_error
from training.tta import TTAModel


def test_platt_recovers_a_known_scaling_and_lowers_ece():
    rng = np.random.default_rng(0)
    true_logit = rng.normal(0, 2, 4000)
    y = (rng.random(4000) < 1 / (1 + np.exp(-true_logit))).astype(int)
    overconfident = 1 / (1 + np.exp(-(3 * true_logit - 1)))  # a = 1/3, b = 1/3 undoes it
    a, b = fit_platt(y, overconfident)
    assert a == pytest.approx(1 / 3, abs=0.05) and b == pytest.approx(1 / 3, abs=0.1)
    calibrated = apply_platt(overconfident, a, b)
    assert expected_calibration_error(y, calibrated) < expected_calibration_error(y, overconfident) / 2
    # monotone: the ranking, and so the ROC AUC, is unchanged
    assert roc_auc_score(y, calibrated) == pytest.approx(roc_auc_score(y, overconfident), abs=1e-9)


def test_platt_needs_both_classes():
    with pytest.raises(ValueError, match="both classes"):
        fit_platt([1, 1, 1], [0.2, 0.5, 0.9])


def test_tta_model_applies_the_same_platt_scaling():
    class Constant(torch.nn.Module):
        def forward(self, x):
            return x.mean(dim=(1, 2, 3)) * 4 - 2

    x = torch.rand(4, 3, 8, 8)
    raw = TTAModel(Constant(), ["original", "hflip"])(x).numpy()
    scaled = TTAModel(Constant(), ["original", "hflip"], platt=(0.5, 0.2))(x).numpy()
    np.testing.assert_allclose(scaled, apply_platt(raw, 0.5, 0.2), atol=1e-6)
    np.testing.assert_allclose(logit(apply_platt(raw, 1.0, 0.0)), logit(raw), atol=1e-4)


def test_tta_model_averages_logits_not_probabilities():
    class LeftColumn(torch.nn.Module):  # not flip-invariant: the views disagree
        def forward(self, x):
            return x[:, 0, 0, 0] * 8 - 4

    x = torch.rand(6, 3, 8, 8)
    got = TTAModel(LeftColumn(), ["original", "hflip"])(x).numpy()
    logits = np.stack([LeftColumn()(x).numpy(), LeftColumn()(torch.flip(x, dims=[3])).numpy()])
    np.testing.assert_allclose(got, 1 / (1 + np.exp(-logits.mean(axis=0))), atol=1e-6)
    assert not np.allclose(got, (1 / (1 + np.exp(-logits))).mean(axis=0), atol=1e-3)
