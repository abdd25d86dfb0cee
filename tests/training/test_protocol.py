"""Leave-source-out fold logic, source-balanced sampling, head training and the protocols, on a
generated feature bank (no images, no backbone)."""

import numpy as np
import pytest

from training.data import Sample, leave_source_out_folds, source_groups
from training.features import EVAL_VIEWS, FeatureBank
from training.protocol import leave_source_out, random_split
from training.recipe import Recipe, feature_columns, fit_recipe, sample_weights, train_head, view_logits

D = 1280 + 376 + 376


def make_bank(sources_per_class=6, per_source=12, draws=2, seed=0) -> FeatureBank:
    """Images of 2 x ``sources_per_class`` sources; class signal in 8 channels, a source offset
    elsewhere, and one big source per class (as the shared data has)."""
    rng = np.random.default_rng(seed)
    samples, rows = [], []
    for label in (0, 1):
        for s in range(sources_per_class):
            n = per_source * (4 if s == 0 else 1)
            offset = rng.normal(0, 0.3, D)
            for i in range(n):
                samples.append(Sample(f"{label}/{s}/{i}.png", label, f"{'ai' if label else 'human'}-{s}"))
                base = offset + rng.normal(0, 1, D)
                base[:8] += 1.5 if label else -1.5
                rows.append(base)
    base = np.clip(np.array(rows), 0, None).astype(np.float32)
    n = len(samples)
    noisy = lambda: base + rng.normal(0, 0.2, base.shape).astype(np.float32)
    return FeatureBank(samples, np.array([s.label for s in samples]),
                       np.stack([noisy() for _ in range(draws)], 1).astype(np.float16),
                       np.stack([noisy()], 1).astype(np.float16),
                       {v: noisy() for v in EVAL_VIEWS}, {v: noisy() for v in EVAL_VIEWS}, np.ones(n, bool))


FAST = Recipe(epochs=4, batch_size=32)


def test_source_groups_join_sources_and_near_duplicates():
    samples = [Sample(f"{i}", i % 2, src) for i, src in enumerate(["a", "a", "b", "c", "d", "d"])]
    near = np.array([0, 1, 2, 2, 3, 4])  # b and c share a near-duplicate pair
    groups = source_groups(samples, near)
    assert groups[0] == groups[1] and groups[4] == groups[5]
    assert groups[2] == groups[3]
    assert len(set(groups)) == 3


def test_leave_source_out_folds_partition_and_never_share_a_source():
    bank = make_bank()
    groups = source_groups(bank.samples, np.arange(len(bank.samples)))
    folds = leave_source_out_folds(bank.labels, groups, n_splits=4, seed=0)
    tested = np.concatenate([test for _, test in folds])
    assert sorted(tested) == list(range(len(bank.samples)))
    for train, test in folds:
        assert not set(bank.sources[train]) & set(bank.sources[test])
        assert set(bank.labels[train]) == {0, 1}
    again = leave_source_out_folds(bank.labels, groups, n_splits=4, seed=0)
    assert all((a[1] == b[1]).all() for a, b in zip(folds, again))


def test_too_few_sources_for_the_folds_is_an_error():
    with pytest.raises(ValueError, match="cannot make"):
        leave_source_out_folds(np.array([0, 1, 0]), np.array([0, 1, 1]), n_splits=5)


def test_sample_weights_balance_sources_then_classes():
    labels = np.array([0] * 10 + [0] * 2 + [1] * 4)
    sources = np.array(["big"] * 10 + ["small"] * 2 + ["ai"] * 4)
    w = sample_weights(labels, sources, 1.0)
    assert w.sum() == pytest.approx(1.0)
    assert w[:10].sum() == pytest.approx(w[10:12].sum())  # each human source a quarter
    assert w[labels == 1].sum() == pytest.approx(0.5)
    plain = sample_weights(labels, sources, 0.0)
    assert plain[0] == pytest.approx(plain[11])  # no source balance: every human image alike


def test_feature_columns_pick_the_taps():
    assert len(feature_columns(())) == 1280
    cols = feature_columns((6, 16))
    assert len(cols) == 1280 + 32 + 160 and cols[1280] == 1280 + 24  # block 3 (24 ch) skipped
    with_std = feature_columns((6, 16), tap_std=True)
    assert len(with_std) == 1280 + 2 * (32 + 160)
    assert with_std[1280 + 32 + 160] == 1280 + 376 + 24  # the std block starts after all 376 means


def test_train_head_learns_the_signal():
    bank = make_bank()
    idx = np.arange(len(bank.samples))
    model = train_head(bank, idx, FAST)
    logits = view_logits(model, bank, idx, ["original"])[:, 0]
    assert ((logits > 0) == bank.labels).mean() > 0.9


def test_fit_recipe_chooses_on_held_out_predictions_only():
    bank = make_bank()
    groups = source_groups(bank.samples, np.arange(len(bank.samples)))
    idx = np.arange(len(bank.samples))
    folds = leave_source_out_folds(bank.labels, groups, 3, 0)
    fitted = fit_recipe(bank, idx, FAST, folds, "generated folds")
    assert sorted(fitted.oof_index) == list(idx)  # every image predicted once, by a model without it
    assert fitted.selection.chosen_on == "generated folds"
    assert fitted.selection.validation["false_accusation_rate"] <= 0.05
    assert "detail" not in fitted.selection.tta_views


def test_leave_source_out_protocol_records_folds_sources_and_summary():
    bank = make_bank()
    groups = source_groups(bank.samples, np.arange(len(bank.samples)))
    result = leave_source_out(bank, groups, FAST, k=3, inner_k=3, seed=0)
    assert len(result.folds) == 3
    seen = [s for f in result.folds for s in f.test_sources]
    assert sorted(seen) == sorted(set(bank.sources))  # each source tested exactly once
    summary = result.summary["test"]
    assert summary["false_accusation_rate"]["folds"] == 3
    assert 0 <= summary["false_accusation_rate"]["mean"] <= 1 and summary["roc_auc"]["mean"] > 0.8
    assert {r["source"] for r in result.per_source} == set(bank.sources)
    worst = result.per_source[0]
    key = "labelled_ai" if worst["class"] == "human" else "labelled_human"
    assert all(worst[key] >= (r["labelled_ai"] if r["class"] == "human" else r["labelled_human"])
               for r in result.per_source)
    d = result.to_dict()
    assert d["recipe"]["epochs"] == 4 and "predictions" not in d


def test_random_split_protocol_runs_on_one_fold():
    bank = make_bank()
    result = random_split(bank, np.arange(len(bank.samples)), FAST, seed=0)
    assert len(result.folds) == 1 and result.folds[0].selection.chosen_on == "random split validation"
    assert result.folds[0].test["n"] == len(result.predictions.index)
