"""Heat map of what drove the detector's probability: occlusion sensitivity on the ONNX model.

Method: **occlusion sensitivity** (Zeiler & Fergus, "Visualizing and Understanding Convolutional
Networks", ECCV 2014, section 4.2): the model input is divided into ``grid`` x ``grid`` cells; each
cell in turn is replaced by a perturbed copy and the change in ``probability_ai`` is that cell's
importance. The perturbation is a heavy Gaussian blur of the same pixels rather than a grey square
(the "blur" perturbation of Fong & Vedaldi, "Interpretable Explanations of Black Boxes by Meaningful
Perturbation", ICCV 2017): the detector reads fine texture, and a flat grey patch is itself an
out-of-distribution texture. It needs only forward passes, so it runs on the ONNX model with
onnxruntime (no torch, no gradients); the ``grid**2`` perturbed inputs and the original go through
the model in batches of ``batch_size``. Importance is measured on the logit of the probability, so
a confident answer (p = 0.99999) still has a map. Cost: ``grid**2 + 1`` inferences per image (50
for the default 7 x 7; see ``benchmarks/bench_explain.py`` for milliseconds).

It passes the model-randomisation sanity check of Adebayo et al., "Sanity Checks for Saliency
Maps", NeurIPS 2018: with the model's weights randomised the map changes
(``tests/backend/test_explain.py``).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

#: The method's name as the API reports it.
METHOD = "occlusion sensitivity, blur perturbation (Zeiler & Fergus 2014; Fong & Vedaldi 2017)"
#: Cells per side of the occlusion grid (the heat map is ``GRID`` x ``GRID``; 32 px cells at 224 px).
GRID = 7
#: Gaussian blur radius of the perturbation, in model-input pixels (224 px input: 28 px cells).
BLUR_RADIUS = 10.0
#: Inputs per ``predict`` call.
BATCH_SIZE = 16
#: Largest |change| in logit under which the map is all zeros (nothing the model reacts to).
MIN_CHANGE = 1e-6
#: Probabilities are clipped to [EPS, 1 - EPS] before the logit (float32 resolves ~6e-8 near 1).
EPS = 1e-7
#: Overlay opacity at heat 1.0 (0-255); opacity grows with the square root of heat, so cells of
#: moderate importance stay visible next to the strongest one.
OVERLAY_ALPHA = 190
#: Overlay colours (RGB): cells whose blurring lowers probability_ai (they looked AI) and raises it.
AI_COLOUR = (255, 64, 32)
HUMAN_COLOUR = (32, 128, 255)
#: Side of ``thumbnail_png`` (``shinsaku scan --explain``'s report), pixels, and its palette size.
THUMBNAIL_SIDE = 112
THUMBNAIL_COLOURS = 128


@dataclass(frozen=True)
class Explanation:
    """An occlusion-sensitivity map.

    Attributes:
        probability_ai: the model's probability on the unperturbed input, in [0, 1].
        delta: ``(grid, grid)`` float32, row-major from the top-left cell: the logit of
            ``probability_ai`` minus the logit with that cell blurred (natural-log odds units);
            positive means the cell pushed the answer towards AI.
        heat: ``(grid, grid)`` float32 in [0, 1]: ``|delta|`` divided by its maximum (all zeros
            when the maximum is below ``MIN_CHANGE``).
    """

    probability_ai: float
    delta: np.ndarray
    heat: np.ndarray

    @property
    def max_change(self) -> float:
        """Largest ``|delta|``, in log-odds units."""
        return float(np.abs(self.delta).max(initial=0.0))


def blur_matrix(size: int, radius: float) -> np.ndarray:
    """``(size, size)`` float32 Gaussian blur operator (standard deviation ``radius`` pixels), rows
    normalised to sum 1 so edges are not darkened: ``K @ channel @ K.T`` blurs a channel."""
    pos = np.arange(size, dtype=np.float64)
    kernel = np.exp(-0.5 * ((pos[:, None] - pos[None, :]) / max(radius, 1e-6)) ** 2)
    return (kernel / kernel.sum(axis=1, keepdims=True)).astype(np.float32)


def blurred(x: np.ndarray, radius: float = BLUR_RADIUS) -> np.ndarray:
    """``(3, S, S)`` float32 in [0, 1] -> the same, Gaussian-blurred with standard deviation
    ``radius`` pixels, in float (no 8-bit rounding)."""
    k = blur_matrix(x.shape[1], radius)
    return np.clip(k @ x @ k.T, 0.0, 1.0).astype(np.float32)


def logit(p: np.ndarray) -> np.ndarray:
    """Probabilities -> natural-log odds, float64, with ``p`` clipped to ``[EPS, 1 - EPS]``."""
    p = np.clip(np.asarray(p, dtype=np.float64), EPS, 1 - EPS)
    return np.log(p) - np.log1p(-p)


def cell_bounds(size: int, grid: int) -> list[tuple[int, int]]:
    """``grid`` ``(start, stop)`` pixel ranges covering ``0..size`` as evenly as integers allow."""
    edges = np.linspace(0, size, grid + 1).round().astype(int)
    return list(zip(edges[:-1].tolist(), edges[1:].tolist()))


def occlusion_map(predict: Callable[[np.ndarray], np.ndarray], x: np.ndarray, grid: int = GRID,
                  batch_size: int = BATCH_SIZE, radius: float = BLUR_RADIUS) -> Explanation:
    """Occlusion sensitivity of ``predict`` at ``x`` (Zeiler & Fergus 2014, blur perturbation).

    Args:
        predict: ``(B, 3, S, S)`` float32 in [0, 1] -> ``(B,)`` probabilities (``Detector.predict``,
            or ``Batcher.predict``: the server's queue, shared with classify).
        x: one model input, ``(3, S, S)`` float32 in [0, 1].
        grid: cells per side (``grid**2 + 1`` inferences).
        batch_size: inputs per ``predict`` call.
        radius: blur radius in pixels.

    Returns:
        An ``Explanation``.

    Raises:
        ValueError: ``x`` is not ``(3, S, S)`` or ``grid`` is not in 1..S.
        Whatever ``predict`` raises.
    """
    if x.ndim != 3 or x.shape[0] != 3 or x.shape[1] != x.shape[2]:
        raise ValueError(f"x must be (3, S, S), got {x.shape}")
    size = x.shape[1]
    if not 1 <= grid <= size:
        raise ValueError(f"grid must be in 1..{size}, got {grid}")
    x = np.ascontiguousarray(x, dtype=np.float32)
    fill = blurred(x, radius)
    bounds = cell_bounds(size, grid)
    cells = [(r, c) for r in bounds for c in bounds]
    probabilities: list[np.ndarray] = []
    for start in range(-1, len(cells), batch_size):  # index -1: the unperturbed input
        chunk = []
        for index in range(start, min(start + batch_size, len(cells))):
            view = x.copy()
            if index >= 0:
                (r0, r1), (c0, c1) = cells[index]
                view[:, r0:r1, c0:c1] = fill[:, r0:r1, c0:c1]
            chunk.append(view)
        probabilities.append(np.asarray(predict(np.stack(chunk)), dtype=np.float32).reshape(-1))
    probs = np.concatenate(probabilities)
    logits = logit(probs)
    delta = (logits[0] - logits[1:]).reshape(grid, grid).astype(np.float32)
    peak = float(np.abs(delta).max(initial=0.0))
    heat = (np.abs(delta) / peak).astype(np.float32) if peak >= MIN_CHANGE else np.zeros_like(delta)
    return Explanation(float(probs[0]), delta, heat)


def overlay_image(explanation: Explanation, size: int) -> Image.Image:
    """The map as a ``size`` x ``size`` RGBA image to lay over the centre crop: cells that pushed
    towards AI in ``AI_COLOUR``, towards human in ``HUMAN_COLOUR``, opacity ``sqrt(heat) *
    OVERLAY_ALPHA`` (bilinear between cell centres)."""
    heat, delta = explanation.heat, explanation.delta
    alpha = Image.fromarray((np.sqrt(heat) * OVERLAY_ALPHA).astype(np.uint8), mode="L").resize(
        (size, size), Image.Resampling.BILINEAR)
    towards_ai = Image.fromarray(((delta >= 0) * 255).astype(np.uint8), mode="L").resize(
        (size, size), Image.Resampling.BILINEAR)
    mix = np.asarray(towards_ai, dtype=np.float32)[..., None] / 255.0
    rgb = mix * np.array(AI_COLOUR, np.float32) + (1 - mix) * np.array(HUMAN_COLOUR, np.float32)
    rgba = np.dstack([rgb.round().astype(np.uint8), np.asarray(alpha)])
    return Image.fromarray(rgba, mode="RGBA")


def overlay_png(explanation: Explanation, size: int) -> bytes:
    """``overlay_image`` as PNG bytes (RGBA, ``size`` x ``size``)."""
    buf = io.BytesIO()
    overlay_image(explanation, size).save(buf, "PNG", optimize=False)
    return buf.getvalue()


def thumbnail_png(x: np.ndarray, explanation: Explanation, side: int = THUMBNAIL_SIDE) -> bytes:
    """The model input ``x`` (``(3, S, S)`` float32 in [0, 1]: the centre crop the model saw) scaled
    to ``side`` x ``side`` pixels with ``overlay_image`` laid over it, as a PNG of at most
    ``THUMBNAIL_COLOURS`` palette colours: one byte per pixel, so hardly over ``side * (side + 1)``
    bytes (deflate's worst case) plus ~1 KB of headers and palette (112 px: median 7.9 KB, max 10.7 KB
    on 20 gallery images)."""
    pixels = (np.clip(x, 0.0, 1.0).transpose(1, 2, 0) * 255.0).round().astype(np.uint8)
    crop = Image.fromarray(pixels, mode="RGB").resize((side, side), Image.Resampling.BICUBIC)
    shown = Image.alpha_composite(crop.convert("RGBA"), overlay_image(explanation, side)).convert("RGB")
    buf = io.BytesIO()
    shown.quantize(THUMBNAIL_COLOURS, dither=Image.Dither.NONE).save(buf, "PNG", optimize=True)
    return buf.getvalue()


def overlay_base64(explanation: Explanation, size: int) -> str:
    """``overlay_png`` as base64 text (no data-URL prefix)."""
    return base64.b64encode(overlay_png(explanation, size)).decode("ascii")
