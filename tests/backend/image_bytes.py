"""Image bytes for tests."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def encode(img: Image.Image, fmt: str = "PNG", **params) -> bytes:
    """``img`` saved in Pillow format ``fmt`` as bytes."""
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


def solid(color="white", size=(64, 48), fmt: str = "PNG", mode: str = "RGB") -> bytes:
    """A one-colour image of ``size`` (width, height) pixels in format ``fmt``."""
    return encode(Image.new(mode, size, color), fmt)


def noise(seed: int, size=(96, 80), fmt: str = "PNG") -> bytes:
    """A random-noise RGB image (distinct per ``seed``)."""
    rng = np.random.default_rng(seed)
    return encode(Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)), fmt)
