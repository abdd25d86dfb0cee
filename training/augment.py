"""Training augmentation applied alike to both classes, between ``decode_image`` and the contract's
resize, so the model cannot use resolution, compression or format as a shortcut (data README).

Order: random downscale (thumbnail sizes) -> random re-encode (JPEG q60-100 or WebP) -> random crop
-> the contract's ``resize_to_input`` -> horizontal flip -> brightness jitter -> ``to_array``.
"""

from __future__ import annotations

import io
import math
import random

import numpy as np
from PIL import Image, ImageEnhance

from backend.preprocessing import INPUT_SIZE, resize_to_input, to_array


def random_downscale(img: Image.Image, rng: random.Random, p: float = 0.8,
                     short_side: tuple[int, int] = (112, 448)) -> Image.Image:
    """With probability ``p``, shrink so the shorter side is log-uniform in ``short_side`` pixels
    (never enlarges; bicubic with antialiasing)."""
    if rng.random() >= p:
        return img
    target = math.exp(rng.uniform(math.log(short_side[0]), math.log(short_side[1])))
    scale = target / min(img.size)
    if scale >= 1:
        return img
    return img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))),
                      Image.Resampling.BICUBIC)


def random_reencode(img: Image.Image, rng: random.Random, p: float = 0.8,
                    quality: tuple[int, int] = (60, 100), webp_share: float = 0.4) -> Image.Image:
    """With probability ``p``, round-trip through JPEG (quality uniform in ``quality``) or, for a
    ``webp_share`` of them, lossy WebP; returns an RGB image of the same size."""
    if rng.random() >= p:
        return img
    fmt = "WEBP" if rng.random() < webp_share else "JPEG"
    buf = io.BytesIO()
    img.save(buf, format=fmt, quality=rng.randint(*quality))
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def random_crop(img: Image.Image, rng: random.Random, scale: tuple[float, float] = (0.5, 1.0),
                ratio: tuple[float, float] = (3 / 4, 4 / 3)) -> Image.Image:
    """Crop a random region covering ``scale`` of the area with aspect ratio in ``ratio``
    (as torchvision's RandomResizedCrop, without its resize); falls back to the whole image."""
    width, height = img.size
    for _ in range(10):
        area = width * height * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(math.log(ratio[0]), math.log(ratio[1])))
        w, h = round(math.sqrt(area * aspect)), round(math.sqrt(area / aspect))
        if 0 < w <= width and 0 < h <= height:
            left, top = rng.randint(0, width - w), rng.randint(0, height - h)
            return img.crop((left, top, left + w, top + h))
    return img


class TrainTransform:
    """Decoded RGB ``PIL.Image`` -> augmented ``(3, size, size)`` float32 in [0, 1].

    Args:
        size: model input side, pixels.
        resize_mode: the contract's resize (``center_crop`` or ``letterbox``).
        seed: base seed; each call draws from ``random.Random(seed, counter)`` streams so runs repeat.
    """

    def __init__(self, size: int = INPUT_SIZE, resize_mode: str = "center_crop", seed: int = 0):
        self.size, self.resize_mode = size, resize_mode
        self.rng = random.Random(seed)

    def reseed(self, seed: int) -> None:
        """Reset the random stream (called per DataLoader worker)."""
        self.rng = random.Random(seed)

    def __call__(self, img: Image.Image) -> np.ndarray:
        rng = self.rng
        img = random_downscale(img, rng)
        img = random_reencode(img, rng)
        img = random_crop(img, rng)
        img = resize_to_input(img, self.size, self.resize_mode)
        if rng.random() < 0.5:
            img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        img = ImageEnhance.Brightness(img).enhance(rng.uniform(0.9, 1.1))
        return to_array(img)
