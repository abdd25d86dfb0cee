"""Training augmentation applied alike to both classes, between ``decode_image`` and the contract's
resize, so the model cannot use resolution, compression, format, colourfulness or transparency as a
shortcut (data README; Wang et al. 2020 for blur and JPEG; Grommelt et al. 2024 for size and format).

Order (``strength="strong"``): random background behind transparency (at decode, ``random_background``)
-> random downscale (thumbnail sizes) -> blur / sharpen -> colour jitter / grayscale -> noise ->
random re-encode (JPEG q60-100 or WebP) -> random crop -> the contract's ``resize_to_input`` ->
horizontal flip -> brightness jitter -> ``to_array``. ``strength="base"`` keeps only downscale,
re-encode, crop, flip and brightness (the first shipped recipe).
"""

from __future__ import annotations

import io
import math
import random

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter, ImageOps

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


def random_background(rng: random.Random) -> tuple[int, int, int]:
    """Colour put behind transparent pixels at decode time: white half the time (the contract's
    ``BACKGROUND``), else black, grey or a random colour, so alpha cannot mark a class."""
    r = rng.random()
    if r < 0.5:
        return (255, 255, 255)
    if r < 0.65:
        return (0, 0, 0)
    if r < 0.8:
        grey = rng.randint(64, 224)
        return (grey, grey, grey)
    return (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255))


def random_blur_or_sharpen(img: Image.Image, rng: random.Random, p_blur: float = 0.2,
                           p_sharpen: float = 0.15) -> Image.Image:
    """Gaussian blur (radius 0.3-1.5 px) with probability ``p_blur``, else unsharp masking with
    probability ``p_sharpen`` (Pillow ``ImageFilter``)."""
    r = rng.random()
    if r < p_blur:
        return img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.5)))
    if r < p_blur + p_sharpen:
        return img.filter(ImageFilter.UnsharpMask(radius=rng.uniform(1, 2.5), percent=rng.randint(50, 150),
                                                  threshold=2))
    return img


def random_colour(img: Image.Image, rng: random.Random, p_gray: float = 0.15,
                  p_jitter: float = 0.5) -> Image.Image:
    """Grayscale (manga is black and white) with probability ``p_gray``, else colour jitter
    (saturation 0.6-1.4, contrast 0.8-1.2) with probability ``p_jitter``."""
    if rng.random() < p_gray:
        return ImageOps.grayscale(img).convert("RGB")
    if rng.random() < p_jitter:
        img = ImageEnhance.Color(img).enhance(rng.uniform(0.6, 1.4))
        img = ImageEnhance.Contrast(img).enhance(rng.uniform(0.8, 1.2))
    return img


def random_noise(img: Image.Image, rng: random.Random, p: float = 0.15,
                 sigma: tuple[float, float] = (1.0, 6.0)) -> Image.Image:
    """Additive Gaussian noise (standard deviation uniform in ``sigma``, 8-bit levels) with
    probability ``p``; the NumPy stream is seeded from ``rng`` so runs repeat."""
    if rng.random() >= p:
        return img
    noise_rng = np.random.default_rng(rng.getrandbits(32))
    arr = np.asarray(img, dtype=np.float32)
    arr = arr + noise_rng.normal(0.0, rng.uniform(*sigma), arr.shape).astype(np.float32)
    return Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8))


#: Augmentation strengths (a recipe knob chosen on held-out-source validation).
STRENGTHS = ("base", "strong")


class TrainTransform:
    """Decoded RGB ``PIL.Image`` -> augmented ``(3, size, size)`` float32 in [0, 1].

    Args:
        size: model input side, pixels.
        resize_mode: the contract's resize (``center_crop`` or ``letterbox``).
        seed: base seed of the ``random.Random`` stream, so runs repeat.
        strength: ``base`` or ``strong`` (see the module docstring).

    Raises:
        ValueError: unknown ``strength``.
    """

    def __init__(self, size: int = INPUT_SIZE, resize_mode: str = "center_crop", seed: int = 0,
                 strength: str = "strong"):
        if strength not in STRENGTHS:
            raise ValueError(f"strength must be one of {STRENGTHS}, got {strength!r}")
        self.size, self.resize_mode, self.strength = size, resize_mode, strength
        self.rng = random.Random(seed)

    def reseed(self, seed: int) -> None:
        """Reset the random stream (called per DataLoader worker)."""
        self.rng = random.Random(seed)

    def __call__(self, img: Image.Image) -> np.ndarray:
        rng = self.rng
        img = random_downscale(img, rng)
        if self.strength == "strong":
            img = random_blur_or_sharpen(img, rng)
            img = random_colour(img, rng)
            img = random_noise(img, rng)
        img = random_reencode(img, rng)
        img = random_crop(img, rng)
        img = resize_to_input(img, self.size, self.resize_mode)
        if rng.random() < 0.5:
            img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        img = ImageEnhance.Brightness(img).enhance(rng.uniform(0.9, 1.1))
        return to_array(img)
