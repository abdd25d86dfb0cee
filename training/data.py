"""The shared data set: manifest, near-duplicate groups, and the two splits.

Splits (fixed seeds, no near-duplicate crossing a split):
- ``random``: stratified random split 64 / 16 / 20 (train / val / test), as in Vu 2025, for the
  in-distribution comparison.
- ``cross-source``: whole sources (``HOLDOUT_SOURCES``) held out as the test set, so it contains only
  sources never seen in training; the rest is split 80 / 20 into train / val, stratified.

Near-duplicates are images whose 64-bit perceptual hashes (imagehash.phash) differ in at most
``NEAR_DUPLICATE_BITS`` bits; they are grouped (connected components) and a group never straddles splits.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sklearn.model_selection import StratifiedGroupKFold

LABELS = {"human": 0, "ai": 1}
NEAR_DUPLICATE_BITS = 6
SPLITS = ("random", "cross-source")
#: Sources held out for the cross-source test set, chosen before any training: human fan art of
#: another era and small illustration sets; AI images of generators absent elsewhere in training
#: (NovelAI prompt book, Animagine XL 4.0, AI Horde SDXL styles, Flux, SDXL Forge Couple).
HOLDOUT_SOURCES = (
    "transfer-learning-anime-2017", "renpy-sample-games", "waifu2x", "rembg-examples",
    "anime2sketch", "shuhongchen-samples",
    "code-of-quintessence-jamesflare", "animaginexl4-lora-gallery", "ai-horde-style-previews",
    "tsunamori-nai-prompt-guide", "illustration-style-samples-anime", "haoming02-forge-couple",
)


@dataclass(frozen=True)
class Sample:
    """One image: ``file`` relative to its data root ``root``, ``label`` 1 = AI, 0 = human, ``source``
    the origin folder (the unit that leave-source-out keeps whole)."""

    file: str
    label: int
    source: str
    root: str = ""

    @property
    def path(self) -> Path:
        """The image file: ``root / file``."""
        return Path(self.root) / self.file


def load_manifest(root: Path) -> list[Sample]:
    """Read ``root/manifest.tsv`` (columns ``file``, ``label``, ``source``, ...).

    Raises:
        FileNotFoundError: no manifest under ``root``.
        ValueError: a label other than ``human`` / ``ai``.
    """
    with open(Path(root) / "manifest.tsv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    bad = {r["label"] for r in rows} - set(LABELS)
    if bad:
        raise ValueError(f"unknown labels in manifest: {sorted(bad)}")
    return [Sample(r["file"], LABELS[r["label"]], r["source"], str(root)) for r in rows]


def load_data(roots: list[Path]) -> list[Sample]:
    """The samples of several data roots (``../shared/data`` and the built ``data-extra``), in order.

    Sources keep their names across roots, so a source stays whole in every leave-source-out fold.
    Raises as ``load_manifest``; ``ValueError`` when two roots list the same file path.
    """
    samples = [s for root in roots for s in load_manifest(Path(root))]
    paths = [str(s.path.resolve()) for s in samples]
    if len(set(paths)) != len(paths):
        raise ValueError("the same image is listed twice across data roots")
    return samples


def data_sha256(roots: list[Path]) -> str:
    """sha256 (hex) over the manifests of ``roots``: the first root's ``manifest_sha256`` when alone."""
    if len(roots) == 1:
        return manifest_sha256(roots[0])
    digest = hashlib.sha256()
    for root in roots:
        digest.update(bytes.fromhex(manifest_sha256(root)))
    return digest.hexdigest()


def manifest_sha256(root: Path) -> str:
    """sha256 (hex) of ``root/manifest.tsv``'s bytes, recorded in the model card."""
    return hashlib.sha256((Path(root) / "manifest.tsv").read_bytes()).hexdigest()


def perceptual_hashes(root: Path | list[Path], samples: list[Sample],
                      cache_dir: Path | None = None) -> np.ndarray:
    """64-bit DCT perceptual hash of each image, ``(N,) uint64``, decoded with the shared contract.

    ``root``: the data root (or roots) the samples come from. Cached as JSON in ``cache_dir`` keyed
    by the manifests' sha256 (decoding 1,900 images takes a minute on 2 cores). Unreadable images get
    a unique hash so they group with nothing.
    """
    roots = [Path(r) for r in root] if isinstance(root, (list, tuple)) else [Path(root)]
    cache = None
    if cache_dir is not None:
        cache = Path(cache_dir) / f"phash-{data_sha256(roots)[:16]}.json"
        if cache.exists():
            known = json.loads(cache.read_text())
            if all(s.file in known for s in samples):
                return np.array([int(known[s.file], 16) for s in samples], dtype=np.uint64)
    import imagehash

    from backend.preprocessing import ImageError, decode_image

    hashes = {}
    for i, s in enumerate(samples):
        try:
            img = decode_image((s.path if s.root else roots[0] / s.file).read_bytes())
            hashes[s.file] = str(imagehash.phash(img))
        except (ImageError, OSError):
            hashes[s.file] = f"{(0xFFFF << 48) | i:016x}"
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(hashes))
    return np.array([int(hashes[s.file], 16) for s in samples], dtype=np.uint64)


def near_duplicate_groups(hashes: np.ndarray, max_bits: int = NEAR_DUPLICATE_BITS) -> np.ndarray:
    """Group ids ``(N,) int`` such that images within ``max_bits`` Hamming distance share a group
    (transitively: connected components of the near-duplicate graph)."""
    bits = np.unpackbits(hashes.astype(">u8").view(np.uint8).reshape(-1, 8), axis=1).astype(np.int16)
    distance = bits.shape[1] - (bits @ bits.T + (1 - bits) @ (1 - bits).T)
    i, j = np.nonzero(distance <= max_bits)
    graph = coo_matrix((np.ones_like(i), (i, j)), shape=(len(hashes), len(hashes)))
    return connected_components(graph, directed=False)[1]


def source_groups(samples: list[Sample], near_duplicates: np.ndarray) -> np.ndarray:
    """Group ids ``(N,) int`` for leave-source-out: connected components of the graph joining images
    of the same source and images of the same near-duplicate group, so that a held-out fold never
    shares a source, nor a near-copy of one of its images, with training."""
    sources = {name: i for i, name in enumerate(dict.fromkeys(s.source for s in samples))}
    n, k = len(samples), len(sources)
    # bipartite graph: image i -- source node n + sources[s], image i -- group node n + k + g
    nd = np.asarray(near_duplicates)
    rows = np.concatenate([np.arange(n), np.arange(n)])
    cols = np.concatenate([n + np.array([sources[s.source] for s in samples], dtype=np.int64),
                           n + k + nd.astype(np.int64)])
    size = n + k + int(nd.max(initial=-1)) + 1
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(size, size))
    labels = connected_components(graph, directed=False)[1][:n]
    return np.unique(labels, return_inverse=True)[1]


def leave_source_out_folds(labels: np.ndarray, groups: np.ndarray, n_splits: int = 5,
                           seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Leave-source-out folds: ``n_splits`` pairs ``(train, test)`` of sorted index arrays from a
    shuffled ``StratifiedGroupKFold`` over ``groups`` (``source_groups``), stratified by ``labels``
    ``(N,) int`` (1 = AI). Every index is in exactly one test fold; no group is on both sides.

    Raises:
        ValueError: fewer groups than ``n_splits``, or a fold whose training part lacks a class.
    """
    labels, groups = np.asarray(labels), np.asarray(groups)
    if len(np.unique(groups)) < n_splits:
        raise ValueError(f"{len(np.unique(groups))} source groups cannot make {n_splits} folds")
    folds = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    out = []
    for train, test in folds.split(np.zeros(len(labels)), labels, groups):
        if len(np.unique(labels[train])) < 2:
            raise ValueError("a leave-source-out fold leaves only one class for training")
        out.append((np.sort(train), np.sort(test)))
    return out


def _stratified_group_fold(y: np.ndarray, groups: np.ndarray, n_splits: int, seed: int):
    """(rest, held) index arrays: the first fold of a shuffled StratifiedGroupKFold."""
    folds = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return next(folds.split(np.zeros(len(y)), y, groups))


def split_indices(samples: list[Sample], groups: np.ndarray, kind: str, seed: int = 0,
                  holdout_sources: tuple[str, ...] = HOLDOUT_SOURCES) -> dict[str, np.ndarray]:
    """Indices of ``train`` / ``val`` / ``test`` for split ``kind`` (see module docstring).

    Raises:
        ValueError: unknown ``kind``, or a cross-source split that leaves a class out of training.
    """
    y = np.array([s.label for s in samples])
    if kind == "random":
        rest, test = _stratified_group_fold(y, groups, 5, seed)
    elif kind == "cross-source":
        held_groups = {g for s, g in zip(samples, groups) if s.source in holdout_sources}
        in_test = np.array([g in held_groups for g in groups])
        test, rest = np.flatnonzero(in_test), np.flatnonzero(~in_test)
        if len(set(y[rest])) < 2:
            raise ValueError("the cross-source split leaves only one class for training")
    else:
        raise ValueError(f"split must be one of {SPLITS}, got {kind!r}")
    train, val = _stratified_group_fold(y[rest], groups[rest], 5, seed + 1)
    return {"train": np.sort(rest[train]), "val": np.sort(rest[val]), "test": np.sort(test)}


def subsample(samples: list[Sample], max_per_class: int | None, seed: int = 0) -> list[Sample]:
    """A fixed-seed random subset of at most ``max_per_class`` images per class (short CI runs),
    in the original order; all samples when ``max_per_class`` is None."""
    if not max_per_class:
        return samples
    rng = np.random.default_rng(seed)
    keep = []
    for label in LABELS.values():
        idx = [i for i, s in enumerate(samples) if s.label == label]
        keep += list(rng.permutation(idx)[:max_per_class])
    return [samples[i] for i in sorted(keep)]


def make_splits(root: Path, kind: str, seed: int = 0, cache_dir: Path | None = None,
                max_per_class: int | None = None) -> dict[str, list[Sample]]:
    """Load the manifest, group near-duplicates and split (see ``split_indices``).

    ``max_per_class`` keeps a fixed-seed random subset of each class first (``subsample``).
    """
    samples = subsample(load_manifest(root), max_per_class, seed)
    groups = near_duplicate_groups(perceptual_hashes(root, samples, cache_dir))
    return {name: [samples[i] for i in idx] for name, idx in split_indices(samples, groups, kind, seed).items()}
