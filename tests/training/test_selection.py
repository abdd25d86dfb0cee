"""The operating point (false accusation target, uncertain band) and the Selection record."""

import numpy as np
import pytest
import torch

from backend.model_card import label_for
from training.selection import Selection, choose_operating_point, operating_point, select
from training.tta import TTAModel


def overlapping(n=400, seed=0):
    rng = np.random.default_rng(seed)
    y = np.array([0] * n + [1] * n)
    logits = np.concatenate([rng.normal(-1.5, 1.2, n), rng.normal(1.5, 1.2, n)])
    return y, 1 / (1 + np.exp(-logits))


@pytest.mark.parametrize("max_far", [0.01, 0.05, 0.2])
def test_threshold_meets_the_false_accusation_target(max_far):
    y, p = overlapping()
    threshold, (low, high) = choose_operating_point(y, p, max_far=max_far)
    assert (p[y == 0] >= threshold).mean() <= max_far
    assert high == threshold and low <= threshold
    # not more conservative than needed: just below, the target would be missed (or accuracy is optimal)
    below = np.max(p[(y == 0) & (p < threshold)])
    assert (p[y == 0] >= below).mean() > max_far or threshold <= 0.5


def test_accuracy_optimal_threshold_kept_when_it_already_meets_the_target():
    y = np.array([0, 0, 0, 1, 1, 1])
    p = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    threshold, _ = choose_operating_point(y, p, max_far=0.05)
    assert 0.3 < threshold <= 0.7


def test_uncertain_band_is_bounded_and_catches_the_doubtful():
    y, p = overlapping()
    threshold, (low, high) = choose_operating_point(y, p, max_far=0.05, max_uncertain=0.10)
    band = (p >= low) & (p < high)
    assert band.mean() <= 0.10 + 1e-9
    assert band.any()  # these overlapping classes need one
    point = operating_point(y, p, threshold, (low, high))
    assert point["false_accusation_rate"] <= 0.05
    assert point["share_uncertain"] == pytest.approx(band.mean())


def test_operating_point_follows_the_backend_label_rule():
    y = np.array([0, 0, 1, 1, 0])
    p = np.array([0.1, 0.5, 0.55, 0.9, 0.95])
    band = (0.4, 0.6)
    labels = [label_for(v, 0.6, band) for v in p]
    point = operating_point(y, p, 0.6, band)
    assert labels == ["human", "uncertain", "uncertain", "ai", "ai"]
    assert point["false_accusation_rate"] == pytest.approx(1 / 3)
    assert point["ai_recall"] == pytest.approx(1 / 2)
    assert point["share_uncertain"] == pytest.approx(2 / 5)


def test_select_chooses_views_and_calibrates_on_the_mean_logit():
    rng = np.random.default_rng(1)
    y = np.array([0] * 200 + [1] * 200)
    signal = np.where(y == 1, 2.0, -2.0)
    logits = np.stack([signal + rng.normal(0, 1, 400), rng.normal(0, 1, 400)], axis=1)  # 2nd view is noise
    sel = select(y, logits, ["original", "hflip"], "test data")
    assert sel.tta_views == ["original"]
    assert sel.validation["false_accusation_rate"] <= 0.05
    again = Selection.from_dict(sel.to_dict())
    np.testing.assert_allclose(again.probability(logits, ["original", "hflip"]),
                               sel.probability(logits, ["original", "hflip"]))


def test_selection_probability_matches_the_exported_tta_graph():
    class Constant(torch.nn.Module):
        def forward(self, x):
            return x.mean(dim=(1, 2, 3)) * 8 - 4

    x = torch.rand(5, 3, 8, 8)
    sel = Selection(tta_views=["original", "hflip"], platt=(0.7, -0.3))
    graph = TTAModel(Constant(), sel.tta_views, sel.platt)(x).numpy()
    per_view = np.stack([Constant()(x).numpy(), Constant()(torch.flip(x, dims=[3])).numpy()], axis=1)
    np.testing.assert_allclose(sel.probability(per_view, ["original", "hflip"]), graph, atol=1e-6)


def test_single_class_is_an_error():
    with pytest.raises(ValueError, match="both classes"):
        choose_operating_point([1, 1], [0.2, 0.9])
