"""Splits: stratification, hold-out sources, and no near-duplicate crossing a split."""

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from training import data as D

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def make_dataset(root: Path, per_source: int = 12) -> None:
    """A small data set: 3 human and 3 AI sources of random-noise images, plus near-duplicates
    (re-encoded copies) of the first image of each source."""
    rng = np.random.default_rng(0)
    rows = []
    for label in ("human", "ai"):
        for s in range(3):
            source = f"{label}-src{s}"
            (root / label / source).mkdir(parents=True)
            for i in range(per_source):
                arr = np.kron(rng.integers(0, 255, (8, 8, 3)), np.ones((8, 8, 1))).astype(np.uint8)
                img = Image.fromarray(arr)
                name = f"{label}/{source}/{i}.png"
                img.save(root / name)
                rows.append((name, label, source))
                if i == 0:  # a near-duplicate: the same picture re-encoded as JPEG
                    dup = f"{label}/{source}/{i}-copy.jpg"
                    img.save(root / dup, quality=90)
                    rows.append((dup, label, source))
    with open(root / "manifest.tsv", "w", newline="") as fh:
        writer = csv.writer(fh, delimiter="\t")
        writer.writerow(["file", "label", "source"])
        writer.writerows(rows)


def check_no_leakage(splits, groups_by_file):
    files = {name: {s.file for s in samples} for name, samples in splits.items()}
    assert not files["train"] & files["val"] and not files["train"] & files["test"]
    assert not files["val"] & files["test"]
    seen = {}
    for name, samples in splits.items():
        for s in samples:
            group = groups_by_file[s.file]
            assert seen.setdefault(group, name) == name, f"near-duplicate group {group} crosses splits"


def groups_of(root):
    samples = D.load_manifest(root)
    groups = D.near_duplicate_groups(D.perceptual_hashes(root, samples))
    return samples, dict(zip((s.file for s in samples), groups))


def test_near_duplicates_are_grouped(tmp_path):
    make_dataset(tmp_path)
    samples, groups = groups_of(tmp_path)
    for s in samples:
        if s.file.endswith("-copy.jpg"):
            assert groups[s.file] == groups[s.file.replace("-copy.jpg", ".png")]
    assert len(set(groups.values())) == len(samples) - 6


def test_random_split_is_stratified_deterministic_and_leak_free(tmp_path):
    make_dataset(tmp_path)
    _, groups = groups_of(tmp_path)
    splits = D.make_splits(tmp_path, "random", seed=3)
    check_no_leakage(splits, groups)
    assert sum(len(v) for v in splits.values()) == 78
    for samples in splits.values():
        share_ai = np.mean([s.label for s in samples])
        assert 0.3 <= share_ai <= 0.7
    again = D.make_splits(tmp_path, "random", seed=3)
    assert [s.file for s in again["test"]] == [s.file for s in splits["test"]]


def test_cross_source_split_holds_out_whole_sources(tmp_path):
    make_dataset(tmp_path)
    samples = D.load_manifest(tmp_path)
    groups = D.near_duplicate_groups(D.perceptual_hashes(tmp_path, samples))
    held = ("human-src2", "ai-src0")
    idx = D.split_indices(samples, groups, "cross-source", seed=0, holdout_sources=held)
    test_sources = {samples[i].source for i in idx["test"]}
    train_sources = {samples[i].source for i in np.concatenate([idx["train"], idx["val"]])}
    assert test_sources == set(held)
    assert not test_sources & train_sources


def test_unknown_split_is_an_error(tmp_path):
    make_dataset(tmp_path, per_source=2)
    with pytest.raises(ValueError, match="split must be one of"):
        D.make_splits(tmp_path, "by-colour")


@pytest.mark.skipif(not (SHARED / "manifest.tsv").exists(), reason="../shared/data is not present")
def test_shared_data_splits_have_no_leakage(tmp_path):
    samples = D.load_manifest(SHARED)
    groups = D.near_duplicate_groups(D.perceptual_hashes(SHARED, samples, Path(".cache")))
    by_file = dict(zip((s.file for s in samples), groups))
    for kind in D.SPLITS:
        splits = D.make_splits(SHARED, kind, seed=0, cache_dir=Path(".cache"))
        check_no_leakage(splits, by_file)
    cross = D.make_splits(SHARED, "cross-source", seed=0, cache_dir=Path(".cache"))
    assert {s.source for s in cross["test"]} <= set(D.HOLDOUT_SOURCES)
    assert not {s.source for s in cross["train"] + cross["val"]} & set(D.HOLDOUT_SOURCES)
