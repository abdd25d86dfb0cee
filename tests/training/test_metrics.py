import json

import numpy as np
import pytest
from sklearn.calibration import calibration_curve

from training.metrics import (
    binary_metrics,
    calibration_bins,
    choose_threshold,
    choose_tta_views,
    expected_calibration_error,
)


def known_set():
    """TP=40, FN=10, FP=5, TN=45 at threshold 0.5."""
    y = np.array([1] * 50 + [0] * 50)
    prob = np.array([0.9] * 40 + [0.2] * 10 + [0.7] * 5 + [0.1] * 45)
    return y, prob


def test_binary_metrics_on_known_confusion_matrix():
    y, prob = known_set()
    m = binary_metrics(y, prob, 0.5)
    assert m["confusion_matrix"] == [[45, 5], [10, 40]]
    assert m["n"] == 100 and m["threshold"] == 0.5 and m["positive_class"] == "ai"
    assert m["accuracy"] == pytest.approx(0.85)
    assert m["per_class"]["ai"]["precision"] == pytest.approx(40 / 45)
    assert m["per_class"]["ai"]["recall"] == pytest.approx(0.8)
    assert m["per_class"]["ai"]["f1"] == pytest.approx(2 * (40 / 45) * 0.8 / (40 / 45 + 0.8))
    assert m["per_class"]["human"]["precision"] == pytest.approx(45 / 55)
    assert m["per_class"]["human"]["recall"] == pytest.approx(0.9)
    assert m["per_class"]["human"]["support"] == 50
    # ranking: positives {0.9 x40, 0.2 x10}, negatives {0.7 x5, 0.1 x45}
    assert m["roc_auc"] == pytest.approx((40 * 50 + 10 * 45) / 2500)
    json.dumps(m)  # plain Python types only


def test_binary_metrics_threshold_moves_predictions():
    y, prob = known_set()
    assert binary_metrics(y, prob, 0.8)["confusion_matrix"] == [[50, 0], [10, 40]]


def test_single_class_gives_none_for_auc_and_ap():
    m = binary_metrics([1, 1, 1], [0.9, 0.4, 0.8], 0.5)
    assert m["roc_auc"] is None and m["average_precision"] is None
    assert m["accuracy"] == pytest.approx(2 / 3)
    assert m["per_class"]["human"]["precision"] == 0.0


@pytest.mark.parametrize(
    "y, prob",
    [([0, 1], [0.5]), ([0, 2], [0.1, 0.9]), ([0, 1], [0.1, 1.2]), ([], []), ([0, 1], [0.1, np.nan])],
)
def test_invalid_inputs_raise(y, prob):
    with pytest.raises(ValueError):
        binary_metrics(y, prob, 0.5)


def test_ece_zero_when_perfectly_calibrated():
    y = [1] * 2 + [0] * 8 + [1] * 7 + [0] * 3
    prob = [0.2] * 10 + [0.7] * 10
    assert expected_calibration_error(y, prob) == pytest.approx(0.0, abs=1e-12)


def test_ece_of_over_confident_set_matches_hand_computation():
    # bin near 0.95: 7/10 AI, |0.7 - 0.95| = 0.25; bin near 0.05: 3/10 AI, |0.3 - 0.05| = 0.25
    y = [1] * 7 + [0] * 3 + [1] * 3 + [0] * 7
    prob = [0.95] * 10 + [0.05] * 10
    assert expected_calibration_error(y, prob) == pytest.approx(0.25)
    # unequal bin weights: 0.9 x 10 with 5 AI (gap 0.4), 0.1 x 30 with 3 AI (gap 0)
    y2 = [1] * 5 + [0] * 5 + [1] * 3 + [0] * 27
    prob2 = [0.9] * 10 + [0.1] * 30
    assert expected_calibration_error(y2, prob2) == pytest.approx(10 / 40 * 0.4)


def test_calibration_bins_agree_with_sklearn():
    rng = np.random.default_rng(0)
    prob = rng.uniform(size=500)
    y = (rng.uniform(size=500) < prob).astype(int)
    frac, mean, count = calibration_bins(y, prob, 10)
    ref_frac, ref_mean = calibration_curve(y, prob, n_bins=10)
    np.testing.assert_allclose(frac, ref_frac)
    np.testing.assert_allclose(mean, ref_mean)
    assert count.sum() == 500 and len(count) == len(frac)


def test_choose_threshold_maximises_accuracy():
    # a threshold in (0.3, 0.4) classifies everything correctly; 0.5 would miss the 0.4s
    y = [0, 0, 0, 1, 1, 1]
    prob = [0.1, 0.2, 0.3, 0.4, 0.45, 0.8]
    t = choose_threshold(y, prob)
    assert t == pytest.approx(0.35)
    assert binary_metrics(y, prob, t)["accuracy"] == 1.0


def test_choose_threshold_prefers_closest_to_half_on_ties():
    # 0.2 | 0.8: every threshold in (0.2, 0.8) is perfect; 0.5 is a candidate and wins
    assert choose_threshold([0, 1], [0.2, 0.8]) == 0.5
    # 0.15 and 0.8 both reach 3/4 (0.45 and 0.5 only 2/4); 0.8 is closer to 0.5
    assert choose_threshold([0, 1, 0, 1], [0.1, 0.2, 0.7, 0.9]) == pytest.approx(0.8)


def test_choose_tta_views_picks_informative_views():
    rng = np.random.default_rng(1)
    y = np.repeat([0, 1], 200)
    signal = 0.3 + 0.4 * y
    views = np.column_stack(
        [
            np.clip(signal + rng.normal(0, 0.25, 400), 0, 1),  # original
            np.clip(signal + rng.normal(0, 0.25, 400), 0, 1),  # hflip, independent noise
            rng.uniform(size=400),  # crop carrying no information
        ]
    )
    chosen = choose_tta_views(y, views, ["original", "hflip", "crop"])
    assert chosen == ["original", "hflip"]
    # order follows view_names, not the column order of the anchor
    assert choose_tta_views(y, views[:, [1, 0, 2]], ["hflip", "original", "crop"]) == ["hflip", "original"]


def test_choose_tta_views_prefers_fewer_views_on_ties():
    y = np.array([0, 0, 1, 1])
    p = np.array([0.2, 0.4, 0.6, 0.8])
    assert choose_tta_views(y, np.column_stack([p, p]), ["original", "copy"]) == ["original"]


@pytest.mark.parametrize(
    "y, views, names, must",
    [
        ([0, 1], [[0.1, 0.2], [0.8, 0.9]], ["a", "b"], "original"),  # must_include missing
        ([0, 1], [[0.1, 0.2], [0.8, 0.9]], ["a"], "a"),  # wrong number of names
        ([1, 1], [[0.1, 0.2], [0.8, 0.9]], ["a", "b"], "a"),  # single class
    ],
)
def test_choose_tta_views_invalid(y, views, names, must):
    with pytest.raises(ValueError):
        choose_tta_views(y, views, names, must_include=must)
