"""The one preprocessing contract shared by training and the backend.

Bytes -> ``decode_image`` -> RGB ``PIL.Image`` -> ``to_model_input`` -> ``(3, 224, 224)`` float32 in [0, 1].
A model trained with ``--jpeg-draft`` (card ``input.jpeg_draft``) has large JPEGs decoded already
shrunk by libjpeg's DCT scaling (``draft_for_input``), the integer reduction the resize would
otherwise make after a full decode; the bundled model is not (it cost validation recall).

Only pixels reach the model: the file format, metadata and alpha channel are dropped here, so a model
trained through this module cannot learn them as shortcuts. Training inserts its random augmentations
between the two steps; evaluation and the backend call them back to back (``preprocess``).

This module needs Pillow and NumPy only (no torch), so the backend can import it.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from backend import limits as _limits

#: Pillow format names accepted; everything else (SVG, TIFF, EPS, ICO, PSD, ...) is refused.
ALLOWED_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "GIF", "BMP")
#: Model input side in pixels.
INPUT_SIZE = 224
#: Largest accepted image, in pixels (width * height). Larger files are refused as possible bombs.
MAX_PIXELS = _limits.MAX_PIXELS
#: Largest accepted width or height, in pixels.
MAX_SIDE = _limits.MAX_SIDE
#: Background that transparent pixels are composited onto, 8-bit RGB.
BACKGROUND = (255, 255, 255)
#: Padding colour for letterbox resizing, 8-bit RGB.
LETTERBOX_FILL = (128, 128, 128)
#: Pillow ``reducing_gap`` for the final resize: shrink by an integer factor with a box filter first,
#: while at least twice the target size remains, then bicubic. A 1024 px JPEG's resize takes ~3 ms
#: instead of ~9 ms; the evaluation in training/results measures the model with it.
REDUCING_GAP = 2.0
#: Smallest shorter side, as a multiple of the input side, that JPEG DCT scaling leaves
#: (``draft_for_input``): the decoder makes the box reduction ``REDUCING_GAP`` would make anyway.
DRAFT_GAP = REDUCING_GAP
#: Largest scaled image a centre crop makes, as a multiple of the crop's area; beyond it (aspect
#: ratios over 4:1) only the crop's source region is scaled, see ``_center_crop``.
MAX_SCALED_AREA = 4
#: Resize modes: ``center_crop`` (shorter side to 224, centre crop) or ``letterbox`` (longer side to
#: 224, pad with ``LETTERBOX_FILL``).
RESIZE_MODES = ("center_crop", "letterbox")


class ImageError(ValueError):
    """An image the detector cannot judge. ``code`` is a stable machine-readable name and
    ``http_status`` the status the backend answers with."""

    code = "invalid_image"
    http_status = 422


class EmptyImage(ImageError):
    """The input holds zero bytes (HTTP 400)."""

    code = "empty_image"
    http_status = 400


class UnsupportedFormat(ImageError):
    """Not one of ``ALLOWED_FORMATS``, or not an image at all (HTTP 415)."""

    code = "unsupported_media_type"
    http_status = 415


class ImageTooLarge(ImageError):
    """More than ``MAX_PIXELS`` pixels or a side over ``MAX_SIDE`` (decompression bomb; HTTP 413)."""

    code = "image_too_large"
    http_status = 413


class ExtremeAspectRatio(ImageError):
    """Longer side over ``DecodeLimits.max_aspect_ratio`` times the shorter (HTTP 422)."""

    code = "extreme_aspect_ratio"
    http_status = 422


class CorruptImage(ImageError):
    """A truncated or corrupt file of an allowed format (HTTP 422)."""

    code = "corrupt_image"
    http_status = 422


@dataclass(frozen=True)
class DecodeLimits:
    """Size limits for ``decode_image``, in pixels, and the largest aspect ratio (long side / short
    side; None: any). The backend and ``scan`` refuse beyond ``limits.MAX_ASPECT_RATIO``: such a
    strip is no illustration and would be judged on a sliver."""

    max_pixels: int = MAX_PIXELS
    max_side: int = MAX_SIDE
    max_aspect_ratio: float | None = None


def _to_rgb(img: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB: 16-bit and 32-bit greyscale are scaled (not clipped),
    palette transparency and alpha are composited onto ``background``."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode != "F" and arr.max(initial=0) > 255 else 255.0
        if img.mode == "F" and arr.max(initial=0) <= 1.0:
            top = 1.0
        arr = np.clip(np.rint(arr / top * 255.0), 0, 255).astype(np.uint8)
        img = Image.fromarray(arr, mode="L")
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in img.info:
        # pasting through the alpha band equals alpha_composite onto an opaque canvas bit for bit
        # (checked for every value and alpha) and holds 7 bytes a pixel instead of 15
        rgba = img if img.mode == "RGBA" else img.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, background)
        canvas.paste(rgba, mask=rgba)
        return canvas
    return img if img.mode == "RGB" else img.convert("RGB")


def open_image(data: bytes, *, limits: DecodeLimits = DecodeLimits()) -> Image.Image:
    """Read only the header of image bytes and check it: no pixel is decoded yet.

    Returns:
        A lazy ``PIL.Image`` of an allowed format whose size (pixels) is within ``limits``; pass it
        to ``decode_opened``. ``decoded_bytes(img)`` estimates the memory its decoding takes.

    Raises:
        EmptyImage, UnsupportedFormat, ImageTooLarge, CorruptImage: as ``decode_image``.
        ExtremeAspectRatio: beyond ``limits.max_aspect_ratio``.
    """
    if not data:
        raise EmptyImage("the image is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except UnidentifiedImageError as exc:
        raise UnsupportedFormat(
            f"not an image in an allowed format ({', '.join(ALLOWED_FORMATS)})"
        ) from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge(str(exc)) from exc
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
        raise CorruptImage(f"cannot read the image header: {exc}") from exc
    width, height = img.size
    if width <= 0 or height <= 0:
        raise CorruptImage(f"image has an empty side ({width}x{height} px)")
    if width * height > limits.max_pixels or max(width, height) > limits.max_side:
        raise ImageTooLarge(
            f"{width}x{height} px exceeds the limit of {limits.max_pixels} px "
            f"and {limits.max_side} px per side"
        )
    if limits.max_aspect_ratio is not None and max(width, height) > limits.max_aspect_ratio * min(width, height):
        raise ExtremeAspectRatio(f"{width}x{height} px is more than {limits.max_aspect_ratio:g}:1")
    return img


def decoded_bytes(img: Image.Image) -> int:
    """Upper estimate of the memory, in bytes, that ``decode_opened`` holds at once for ``img``: the
    decoded frame plus the RGB result (8 bytes a pixel; 16 for 16/32-bit greyscale and float)."""
    per_pixel = 16 if img.mode in ("I;16", "I;16B", "I;16L", "I", "F") else 8
    return img.size[0] * img.size[1] * per_pixel


def oriented_size(img: Image.Image) -> tuple[int, int]:
    """``(width, height)`` in pixels of ``img`` (from ``open_image``, before ``draft_for_input``)
    once its EXIF orientation is applied: swapped for orientations 5 to 8, as ``ImageOps.exif_transpose``.

    Raises:
        CorruptImage: unreadable EXIF data.
    """
    try:
        turned = img.getexif().get(ExifTags.Base.Orientation) in (5, 6, 7, 8)
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error) as exc:
        raise CorruptImage(f"unreadable EXIF data: {exc}") from exc
    return (img.size[1], img.size[0]) if turned else img.size


def draft_for_input(img: Image.Image, size: int = INPUT_SIZE) -> int:
    """Let the decoder shrink ``img`` (lazy, from ``open_image``) before any pixel is decoded: JPEG
    DCT scaling by 1/2, 1/4 or 1/8 (libjpeg's scaled inverse DCT through Pillow's ``draft``), the
    largest that keeps both sides at least ``DRAFT_GAP * size`` pixels. This is the integer
    reduction ``resize_to_input`` would make after a full decode (``REDUCING_GAP``), done by the
    decoder instead: a 1024 px JPEG decodes in about 5.5 ms instead of 8.5 ms, a 3000 px one in
    14 ms instead of 35 ms, and the model input differs by 0.2 levels of 255 on average. Other
    formats are left unchanged (Pillow can reduce only JPEG while decoding).

    Returns the factor (1, 2, 4 or 8); ``img.size`` becomes the reduced size in pixels (sides
    rounded up), so ``decoded_bytes`` afterwards estimates the smaller decode.
    """
    if img.format != "JPEG":
        return 1
    before = img.size[0]
    side = round(DRAFT_GAP * size)
    img.draft(None, (side, side))
    return max(1, round(before / img.size[0]))


def decode_opened(img: Image.Image, *, background: tuple[int, int, int] = BACKGROUND) -> Image.Image:
    """Decode an image from ``open_image``: frame 0, EXIF orientation, 8-bit RGB with alpha
    composited onto ``background``. Returns an ``RGB`` image of the (oriented) size in pixels.

    Raises:
        ImageTooLarge, CorruptImage: as ``decode_image``.
    """
    try:
        img.seek(0)
        img.load()
        ImageOps.exif_transpose(img, in_place=True)  # no copy when there is nothing to turn
        return _to_rgb(img, background)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge(str(exc)) from exc
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error) as exc:
        raise CorruptImage(f"truncated or corrupt {img.format} image: {exc}") from exc


def decode_image(
    data: bytes,
    *,
    limits: DecodeLimits = DecodeLimits(),
    background: tuple[int, int, int] = BACKGROUND,
    draft_size: int | None = None,
) -> Image.Image:
    """Decode image bytes to an 8-bit RGB ``PIL.Image`` following the contract.

    Steps: Pillow decode restricted to ``ALLOWED_FORMATS``; size check before any pixel is decoded;
    frame 0 of animations; EXIF orientation applied; 16-bit and palette images converted correctly;
    alpha composited onto ``background``. Same as ``decode_opened(open_image(data))``, with
    ``draft_for_input`` in between when ``draft_size`` is given.

    Args:
        data: the file's bytes.
        limits: largest accepted image, in pixels.
        background: RGB colour (0-255) behind transparent pixels.
        draft_size: the model input side, pixels: a large JPEG is decoded shrunk by DCT scaling
            (``draft_for_input``); None decodes at full size.

    Returns:
        An ``RGB`` image of the file's (oriented) size in pixels, or of that size divided by the
        DCT scaling factor (sides rounded up) with ``draft_size``.

    Raises:
        EmptyImage: ``data`` is empty.
        UnsupportedFormat: not an image, or a format outside ``ALLOWED_FORMATS``.
        ImageTooLarge: more than ``limits.max_pixels`` pixels or a side over ``limits.max_side``.
        ExtremeAspectRatio: beyond ``limits.max_aspect_ratio`` (when set).
        CorruptImage: truncated or corrupt data.
    """
    img = open_image(data, limits=limits)
    if draft_size is not None:
        draft_for_input(img, draft_size)
    return decode_opened(img, background=background)


def _center_crop(img: Image.Image, size: int) -> Image.Image:
    """Centre crop of ``resize_to_input``: scale the shorter side to ``size`` (integer box reduction
    while ``REDUCING_GAP`` times the target remains, then bicubic) and crop the centre.

    When the scaled image would exceed ``MAX_SCALED_AREA`` times the crop (aspect ratios beyond
    4:1), only the crop's source region is scaled (Pillow's ``box``): no intermediate exceeds the
    crop, so a 16384 x 1 image costs no more than a square one. Its pixels can differ from
    scale-then-crop by a few levels (Pillow may run the two bicubic passes in the other order, and
    the box reduction starts on the region's grid); up to 4:1, the result is scale-then-crop's
    bit for bit.
    """
    (new_w, new_h), (left, top) = _crop_geometry(*img.size, size)
    if new_w * new_h <= MAX_SCALED_AREA * size * size:
        img = img.resize((new_w, new_h), Image.Resampling.BICUBIC, reducing_gap=REDUCING_GAP)
        return img.crop((left, top, left + size, top + size))
    box = center_crop_box(*img.size, size)
    return img.resize((size, size), Image.Resampling.BICUBIC, box=box, reducing_gap=REDUCING_GAP)


def _crop_geometry(width: int, height: int, size: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """Scaled size ``(new_w, new_h)`` (shorter side ``size``) and the crop's top-left ``(left, top)``
    in it, pixels."""
    scale = size / min(width, height)
    new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
    return (new_w, new_h), ((new_w - size) // 2, (new_h - size) // 2)


def center_crop_box(width: int, height: int, size: int = INPUT_SIZE) -> tuple[float, float, float, float]:
    """The region ``(left, top, right, bottom)``, in pixels of the decoded (EXIF-oriented)
    ``width`` x ``height`` image, that the centre crop to ``size`` covers: the square of side
    ``min(width, height)`` in the middle, up to rounding of the scaled size."""
    (new_w, new_h), (left, top) = _crop_geometry(width, height, size)
    sx, sy = width / new_w, height / new_h  # source pixels per scaled pixel
    return (left * sx, top * sy, (left + size) * sx, (top + size) * sy)


def resize_to_input(img: Image.Image, size: int = INPUT_SIZE, mode: str = "center_crop") -> Image.Image:
    """Resize an RGB image to ``size`` x ``size`` pixels with bicubic resampling (antialiased when
    shrinking; integer box reduction first, see ``REDUCING_GAP``).

    ``center_crop`` scales the shorter side to ``size`` and crops the centre (computed on the crop's
    source region only, see ``_center_crop``: no intermediate larger than the crop); ``letterbox``
    scales the longer side to ``size`` and pads with ``LETTERBOX_FILL``. Returns an RGB image of
    ``size`` x ``size`` pixels.

    Raises:
        ValueError: ``mode`` is not one of ``RESIZE_MODES``.
    """
    if mode not in RESIZE_MODES:
        raise ValueError(f"resize mode must be one of {RESIZE_MODES}, got {mode!r}")
    if mode == "center_crop":
        return _center_crop(img, size)
    width, height = img.size
    scale = size / max(width, height)
    new = (max(1, round(width * scale)), max(1, round(height * scale)))
    canvas = Image.new("RGB", (size, size), LETTERBOX_FILL)
    canvas.paste(img.resize(new, Image.Resampling.BICUBIC, reducing_gap=REDUCING_GAP), ((size - new[0]) // 2, (size - new[1]) // 2))
    return canvas


def to_array(img: Image.Image) -> np.ndarray:
    """RGB ``PIL.Image`` (H, W) -> ``(3, H, W)`` float32 in [0, 1], channels R, G, B."""
    return np.ascontiguousarray(np.asarray(img, dtype=np.float32).transpose(2, 0, 1) / 255.0)


def to_model_input(img: Image.Image, size: int = INPUT_SIZE, mode: str = "center_crop") -> np.ndarray:
    """RGB ``PIL.Image`` -> model input ``(3, size, size)`` float32 in [0, 1] (``resize_to_input``
    then ``to_array``). Normalisation (ImageNet mean/std) happens inside the model graph."""
    return to_array(resize_to_input(img, size, mode))


def preprocess(data: bytes, size: int = INPUT_SIZE, mode: str = "center_crop",
               limits: DecodeLimits = DecodeLimits(), jpeg_draft: bool = False) -> np.ndarray:
    """Image bytes -> model input ``(3, size, size)`` float32 in [0, 1]: ``decode_image`` (with
    ``draft_for_input`` when ``jpeg_draft``: a card's ``input.jpeg_draft``, for a model trained
    with ``train --jpeg-draft``; the bundled one is not) then ``to_model_input``. Raises the ``ImageError`` subclasses of
    ``decode_image``."""
    return to_model_input(decode_image(data, limits=limits, draft_size=size if jpeg_draft else None), size, mode)
