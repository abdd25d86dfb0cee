"""Cached backbone features: the frozen ImageNet MobileNetV2 run once per image and augmentation draw.

The detector's backbone is frozen (the lesson of UnivFD, Ojha et al. 2023: with few sources, features
of a pretrained network with a small head generalise better than end-to-end training, which latches
onto the few sources' quirks). So training needs the backbone's globally pooled outputs only, and
every recipe of the leave-source-out search trains its head on the same cached features in seconds.

For each image the bank holds (``D = 1280 + 376 + 376`` pooled channels: the final block, then the
``TAP_BLOCKS``' means, then their spatial standard deviations):

- ``train``: ``(N, R, D)`` float16, R augmented draws (``training.augment.TrainTransform``, alpha
  composited on a random background), global view;
- ``train_detail``: ``(N, Rd, D)`` float16, Rd draws of the detail view (a 224 px crop at up to native
  resolution, Corvi et al. 2023) with the same photometric augmentation;
- ``views[name]``: ``(N, D)`` float32 for each evaluation view (``EVAL_VIEWS``): the contract's input,
  its mirror image, and the detail crop; ``laundered[name]`` the same after ``launder``.

The global draws and views start from the contract's decode (with ``FeatureConfig.jpeg_draft``, large
JPEGs shrunk by DCT scaling, ``backend.preprocessing.draft_for_input``), the detail draws and view
from the full-size decode.

The trunk runs in onnxruntime (about 4x faster than PyTorch eager on 2 CPU cores); the cache file is
keyed by the data manifests, the feature config and the backbone weights.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from backend.preprocessing import (
    BACKGROUND,
    DRAFT_GAP,
    INPUT_SIZE,
    ImageError,
    decode_image,
    resize_to_input,
    to_array,
)
from training.augment import (
    STRENGTHS,
    TrainTransform,
    random_background,
    random_blur_or_sharpen,
    random_colour,
    random_noise,
    random_reencode,
)
from training.data import Sample
from training.model import TAP_BLOCKS, build_model

#: Evaluation views whose features the bank keeps. ``original`` is the contract's input.
EVAL_VIEWS = ("original", "hflip", "detail")
#: Detail view: the image is scaled so its shorter side is at most this many pixels (never enlarged
#: beyond the contract's 224) and centre-cropped to 224: 2x the global view's resolution at most.
DETAIL_MAX_SHORT_SIDE = 448
#: Version of ``Trunk``'s outputs (part of the cache keys): 2 added the taps' standard deviations.
TRUNK_VERSION = 2
LAUNDER_LONG_SIDE = 512
LAUNDER_QUALITY = 85


def launder(data: bytes, long_side: int = LAUNDER_LONG_SIDE, quality: int = LAUNDER_QUALITY) -> bytes:
    """Re-encode image bytes as a site would: decode (contract), shrink so the long side is at most
    ``long_side`` pixels, save as JPEG at ``quality``. Returns JPEG bytes; raises ``ImageError``."""
    img = decode_image(data)
    img.thumbnail((long_side, long_side), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def detail_view(img: Image.Image, size: int = INPUT_SIZE, max_short: int = DETAIL_MAX_SHORT_SIDE,
                rng: random.Random | None = None) -> Image.Image:
    """A ``size`` x ``size`` crop near native resolution: the image scaled so its shorter side is
    ``clamp(short, size, max_short)`` pixels, then cropped at the centre (or, with ``rng``, at a random
    place). Small images give the global view."""
    short = min(img.size)
    target = min(max(short, size), max_short)
    if target != short:
        scale = target / short
        img = img.resize((max(size, round(img.width * scale)), max(size, round(img.height * scale))),
                         Image.Resampling.BICUBIC, reducing_gap=2.0)
    left = (img.width - size) // 2 if rng is None else rng.randint(0, img.width - size)
    top = (img.height - size) // 2 if rng is None else rng.randint(0, img.height - size)
    return img.crop((left, top, left + size, top + size))


def eval_view(img: Image.Image, name: str, full: Image.Image | None = None) -> np.ndarray:
    """Evaluation view ``name``: ``(3, 224, 224)`` float32 in [0, 1]. ``img`` is decoded by the
    contract (``decode_image``, with ``draft_size`` when the model's card has ``jpeg_draft``); the detail view is cut from ``full``,
    the same image decoded at full size (``img`` when None). Raises ``KeyError`` for a name outside
    ``EVAL_VIEWS``."""
    if name not in EVAL_VIEWS:
        raise KeyError(name)
    if name == "detail":
        return to_array(detail_view(img if full is None else full))
    arr = to_array(resize_to_input(img))
    return np.ascontiguousarray(arr[:, :, ::-1]) if name == "hflip" else arr


@dataclass(frozen=True)
class FeatureConfig:
    """What the cache holds: ``draws`` global and ``detail_draws`` detail augmentation draws per image
    at ``strength`` (``training.augment.STRENGTHS``), seeded by ``seed``; backbone ``weights``;
    ``jpeg_draft``: the global draws and views decode large JPEGs shrunk by DCT scaling
    (``backend.preprocessing.draft_for_input``, the card's ``input.jpeg_draft``). Off for the shipped
    model: on validation it cost 1.2 points of AI recall at both seeds tried (README)."""

    draws: int = 6
    detail_draws: int = 3
    strength: str = "strong"
    seed: int = 0
    weights: str = "deep-sort"
    jpeg_draft: bool = False

    @property
    def draft_size(self) -> int | None:
        """``draft_size`` of the contract's decode (``decode_image``): the input side, or None."""
        return INPUT_SIZE if self.jpeg_draft else None

    def key(self, data_sha256: str) -> str:
        """Cache key (16 hex digits) of this config over the data manifests' sha256."""
        config = asdict(self)
        if self.jpeg_draft:
            config["draft_gap"] = DRAFT_GAP
        else:  # banks made before the option existed stay valid
            del config["jpeg_draft"]
        blob = json.dumps({"config": config, "data": data_sha256, "taps": TAP_BLOCKS, "v": TRUNK_VERSION})
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass
class FeatureBank:
    """Cached features of ``samples`` (see the module docstring for shapes). ``ok`` ``(N,) bool``
    is False for files that could not be decoded (their rows are zeros and never used)."""

    samples: list[Sample]
    labels: np.ndarray
    train: np.ndarray
    train_detail: np.ndarray
    views: dict[str, np.ndarray]
    laundered: dict[str, np.ndarray]
    ok: np.ndarray

    @property
    def sources(self) -> np.ndarray:
        """``(N,)`` source names (str)."""
        return np.array([s.source for s in self.samples])


class _Draws(Dataset):
    """Item i: ``(i, (R + Rd + 2V, 3, 224, 224) float32, ok)`` for image i, in bank order."""

    def __init__(self, samples: list[Sample], config: FeatureConfig):
        self.samples, self.config = samples, config
        self.count = config.draws + config.detail_draws + 2 * len(EVAL_VIEWS)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int):
        cfg = self.config
        rng = random.Random(f"{cfg.seed}:{self.samples[i].file}")
        try:
            data = self.samples[i].path.read_bytes()
            full = decode_image(data)  # the detail draws and view need native pixels
            img = decode_image(data, draft_size=cfg.draft_size) if cfg.jpeg_draft else full  # the contract's
            alpha = Image.open(io.BytesIO(data)).mode in ("RGBA", "LA", "PA", "P")
            transform = TrainTransform(strength=cfg.strength, seed=rng.getrandbits(32))
            arrays = []
            for k in range(cfg.draws + cfg.detail_draws):
                background = random_background(rng)
                if k < cfg.draws:
                    drawn = (decode_image(data, background=background, draft_size=cfg.draft_size)
                             if alpha and background != BACKGROUND else img)
                    arrays.append(transform(drawn))
                else:
                    drawn = decode_image(data, background=background) if alpha and background != BACKGROUND else full
                    arrays.append(self._detail_draw(drawn, rng))
            laundered = decode_image(launder(data))  # <= 512 px: DCT scaling would never apply
            arrays += [eval_view(img, v, full) for v in EVAL_VIEWS] + [eval_view(laundered, v) for v in EVAL_VIEWS]
            return i, torch.from_numpy(np.stack(arrays)), True
        except (ImageError, OSError):
            return i, torch.zeros(self.count, 3, INPUT_SIZE, INPUT_SIZE), False

    def _detail_draw(self, img: Image.Image, rng: random.Random) -> np.ndarray:
        """A detail-view training draw: photometric augmentation, re-encode, a random 224 px crop at
        a random scale up to native, flip."""
        if self.config.strength == "strong":
            img = random_noise(random_colour(random_blur_or_sharpen(img, rng), rng), rng)
        img = random_reencode(img, rng)
        img = detail_view(img, max_short=rng.randint(INPUT_SIZE, 2 * DETAIL_MAX_SHORT_SIDE), rng=rng)
        if rng.random() < 0.5:
            img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        return to_array(img)


class Trunk(torch.nn.Module):
    """The frozen backbone as a feature extractor: ``(B, 3, 224, 224)`` float32 in [0, 1] ->
    ``(B, 1280 + 376 + 376)`` float32 pooled features (final block, then ``TAP_BLOCKS``' means and
    standard deviations)."""

    def __init__(self, weights: str = "deep-sort"):
        super().__init__()
        self.model = build_model(attention=False, head="baseline", weights=weights).eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.pooled_features(x, TAP_BLOCKS, tap_std=True)


def trunk_session(weights: str, cache_dir: Path):
    """An onnxruntime session of ``Trunk`` (exported once into ``cache_dir``), with its input name."""
    import onnxruntime as ort

    from training.export import export_onnx

    path = Path(cache_dir) / f"trunk-v{TRUNK_VERSION}-{hashlib.sha256(weights.encode()).hexdigest()[:8]}.onnx"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            export_onnx(Trunk(weights).eval(), Path(tmp) / "trunk.onnx", output_name="features")
            os.replace(Path(tmp) / "trunk.onnx", path)
    options = ort.SessionOptions()
    options.intra_op_num_threads = os.cpu_count() or 1
    providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in ort.get_available_providers()]
    session = ort.InferenceSession(str(path), options, providers=providers)
    return session, session.get_inputs()[0].name


def extract(samples: list[Sample], config: FeatureConfig, data_sha256: str, cache_dir: Path,
            workers: int = 1) -> FeatureBank:
    """The feature bank of ``samples`` under ``config``, from ``cache_dir`` when cached there.

    ``workers``: DataLoader processes decoding and augmenting while onnxruntime runs the trunk.
    Raises ``ValueError`` for an unknown ``config.strength``.
    """
    if config.strength not in STRENGTHS:
        raise ValueError(f"strength must be one of {STRENGTHS}, got {config.strength!r}")
    cache = Path(cache_dir) / f"features-{config.key(data_sha256)}.npz"
    labels = np.array([s.label for s in samples])
    if cache.exists():
        arrays = dict(np.load(cache))
        if list(arrays["files"]) == [str(s.path) for s in samples]:
            return _bank(samples, labels, arrays)
    session, input_name = trunk_session(config.weights, Path(cache_dir))
    dataset = _Draws(samples, config)
    loader = DataLoader(dataset, batch_size=None, shuffle=False, num_workers=workers)
    feats, ok = None, np.zeros(len(samples), bool)
    for i, stack, good in tqdm(loader, total=len(samples), desc="features"):
        out = session.run(None, {input_name: stack.numpy()})[0]
        if feats is None:
            feats = np.zeros((len(samples),) + out.shape, np.float32)
        feats[i], ok[i] = out, good
    r, rd, v = config.draws, config.detail_draws, len(EVAL_VIEWS)
    arrays = {"files": np.array([str(s.path) for s in samples]), "ok": ok,
              "train": feats[:, :r].astype(np.float16), "train_detail": feats[:, r:r + rd].astype(np.float16)}
    for j, name in enumerate(EVAL_VIEWS):
        arrays[f"view_{name}"] = feats[:, r + rd + j]
        arrays[f"laundered_{name}"] = feats[:, r + rd + v + j]
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **arrays)
    return _bank(samples, labels, arrays)


def _bank(samples, labels, arrays) -> FeatureBank:
    return FeatureBank(samples, labels, arrays["train"], arrays["train_detail"],
                       {v: arrays[f"view_{v}"] for v in EVAL_VIEWS},
                       {v: arrays[f"laundered_{v}"] for v in EVAL_VIEWS}, arrays["ok"])
