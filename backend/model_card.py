"""The model card (``shinsaku-detector.json``) and the label rule. No onnxruntime or torch needed."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.preprocessing import RESIZE_MODES

LABELS = ("ai", "human", "uncertain")
#: Model precisions: the card's own ONNX file (``fp32``) or one of its reduced-precision entries, each
#: under its precision's name as key (``int8``, ``fp16``), written by ``python -m training.quantize``.
PRECISIONS = ("fp32", "int8", "fp16")


class ModelError(RuntimeError):
    """The model is missing, corrupt, does not match its card, or failed its warm-up."""


def label_for(probability_ai: float, threshold: float, uncertain_band: tuple[float, float]) -> str:
    """The label of a probability: ``"uncertain"`` if ``low <= p < high``, else ``"ai"`` if
    ``p >= threshold``, else ``"human"``. ``uncertain_band`` is ``(low, high)`` with
    ``low <= threshold <= high``; an empty band (``low == high``) never yields ``"uncertain"``."""
    low, high = uncertain_band
    if low <= probability_ai < high:
        return "uncertain"
    return "ai" if probability_ai >= threshold else "human"


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """sha256 of a file's bytes, 64 lowercase hex characters. Raises ``OSError``."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class ModelCard:
    """What the backend needs from the card; ``raw`` keeps every key for ``GET /v1/model``."""

    name: str
    version: str
    sha256: str
    onnx_path: Path
    input_name: str
    output_name: str
    size: int  # model input side, pixels
    resize: str  # "center_crop" | "letterbox"
    tta_views: tuple[str, ...]
    threshold: float
    uncertain_band: tuple[float, float]
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)
    precision: str = "fp32"  # which file of the card ``onnx_path`` / ``sha256`` are: one of PRECISIONS
    # input.jpeg_draft: JPEGs decoded shrunk by DCT scaling (``preprocessing.draft_for_input``), as
    # the model was trained (``train --jpeg-draft``); absent or false: full decode
    jpeg_draft: bool = False

    @property
    def draft_size(self) -> int | None:
        """``draft_size`` for ``preprocessing.decode_image``: the input side, or None (full decode)."""
        return self.size if self.jpeg_draft else None

    @property
    def precision_entry(self) -> dict[str, Any]:
        """The card's entry of ``precision`` (how the variant was made, its quality against FP32);
        ``{}`` for ``fp32`` or a card without that entry."""
        entry = self.raw.get(self.precision) if self.precision != "fp32" else None
        return entry if isinstance(entry, dict) else {}

    def label(self, probability_ai: float) -> str:
        """``label_for`` with this card's threshold and uncertain band."""
        return label_for(probability_ai, self.threshold, self.uncertain_band)


def card_path_for(model_path: str | Path) -> Path:
    """The card of ``model_path``: the path itself for ``.json``, else the ``.json`` next to the
    ``.onnx`` file."""
    path = Path(model_path)
    return path if path.suffix == ".json" else path.with_suffix(".json")


def load_card(model_path: str | Path, verify_sha256: bool = True) -> ModelCard:
    """Read and validate the card of ``model_path`` (card ``.json`` or ``.onnx``) and, when
    ``verify_sha256``, check the ONNX file's sha256 against the card.

    Raises:
        ModelError: missing or unreadable files, missing or invalid keys, sha256 mismatch.
    """
    card_path = card_path_for(model_path)
    try:
        raw = json.loads(card_path.read_text(encoding="utf-8"))
        inp, out = raw["input"], raw["output"]
        low, high = (float(v) for v in raw["uncertain_band"])
        card = ModelCard(
            name=str(raw["name"]), version=str(raw["version"]), sha256=str(raw["sha256"]).lower(),
            onnx_path=card_path.parent / raw.get("onnx_file", card_path.with_suffix(".onnx").name),
            input_name=str(inp.get("name", "image")), output_name=str(out.get("name", "probability_ai")),
            size=int(inp["size"]), resize=str(inp["resize"]),
            tta_views=tuple(str(v) for v in raw.get("tta_views", [])),
            threshold=float(raw["threshold"]), uncertain_band=(low, high), raw=raw,
            jpeg_draft=bool(inp.get("jpeg_draft", False)))
    except FileNotFoundError as exc:
        raise ModelError(f"model card not found: {card_path}") from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"invalid model card {card_path}: {exc!r}") from exc
    if card.resize not in RESIZE_MODES:
        raise ModelError(f"card input.resize must be one of {RESIZE_MODES}, got {card.resize!r}")
    if not low <= card.threshold <= high or not 0.0 <= low <= high <= 1.0:
        raise ModelError(f"card needs 0 <= low <= threshold <= high <= 1, got {low}, {card.threshold}, {high}")
    if verify_sha256:
        try:
            actual = file_sha256(card.onnx_path)
        except OSError as exc:
            raise ModelError(f"model file not readable: {card.onnx_path}: {exc}") from exc
        if actual != card.sha256:
            raise ModelError(f"sha256 mismatch for {card.onnx_path}: card {card.sha256}, file {actual}")
    return card


def for_precision(card: ModelCard, precision: str, verify_sha256: bool = True) -> ModelCard:
    """``card`` for ``precision``: itself for ``"fp32"``; for a reduced precision (``"int8"``,
    ``"fp16"``) the same card pointing at the file of its entry under that key (written by
    ``python -m training.quantize --precision P``: ``onnx_file``, ``sha256``, ``fp32_sha256`` of the
    model it was made from), with that file's sha256 checked when ``verify_sha256``. Threshold, band
    and contract (float32 ``(B, 3, S, S)`` in, float32 ``(B,)`` out) stay the card's.

    Raises:
        ModelError: unknown precision; no entry for it; an entry made from another FP32 model (the
            model was replaced: make the variant again); a missing file or sha256 mismatch.
    """
    if precision not in PRECISIONS:
        raise ModelError(f"PRECISION must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "fp32":
        return card
    entry = card.raw.get(precision)
    fix = f"run: python -m training.quantize --precision {precision} --model <the model card or .onnx>"
    if not isinstance(entry, dict) or "onnx_file" not in entry or "sha256" not in entry:
        raise ModelError(f"PRECISION={precision} but the card of {card.onnx_path} has no {precision} entry ({fix})")
    if entry.get("fp32_sha256") != card.sha256:
        raise ModelError(f"PRECISION={precision} but the card's {precision} entry was made from another model "
                         f"(fp32_sha256 {entry.get('fp32_sha256')}, model {card.sha256}; {fix})")
    variant = dataclasses.replace(card, onnx_path=card.onnx_path.parent / str(entry["onnx_file"]),
                                  sha256=str(entry["sha256"]).lower(), precision=precision)
    if verify_sha256:
        try:
            actual = file_sha256(variant.onnx_path)
        except OSError as exc:
            raise ModelError(f"PRECISION={precision} but the {precision} model is not readable: "
                             f"{variant.onnx_path}: {exc.strerror or exc} ({fix})") from exc
        if actual != variant.sha256:
            raise ModelError(f"sha256 mismatch for {variant.onnx_path}: card {variant.sha256}, file {actual}")
    return variant
