"""The detection service behind the HTTP API: model loading state, cache, decode budget, batcher.

It judges image bytes and returns ``Verdict`` objects; the API blueprint shapes them into responses.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

import numpy as np

from backend.cache import ResultCache, image_key
from backend.config import decode_limits
from backend.explain import BATCH_SIZE, Explanation, occlusion_map
from backend.inference import Batcher, Detector, ModelOutputs, QueueFull, load_detector
from backend.memory import TRIM_AFTER_BYTES, DecodeBudget, release_free_memory, tune_allocator
from backend.model_card import ModelCard, ModelError
from backend.preprocessing import (
    center_crop_box,
    decode_opened,
    decoded_bytes,
    draft_for_input,
    open_image,
    oriented_size,
    to_model_input,
)
from backend.provenance import extract_dicts

log = logging.getLogger("shinsaku")


class ModelUnavailable(RuntimeError):
    """The model is loading or failed to load (HTTP 503)."""


class InferenceTimeout(RuntimeError):
    """No inference result within ``REQUEST_TIMEOUT_S`` seconds (HTTP 503)."""


@dataclass(frozen=True)
class Verdict:
    """One judged image: ``probability_ai`` in [0, 1], whether it came from the cache, the sha256
    of the image bytes (64 lowercase hex characters), and the provenance ``evidence`` of its
    metadata (``backend.provenance.extract_dicts``; never seen by the model, possibly empty)."""

    probability_ai: float
    cached: bool
    image_sha256: str
    evidence: tuple[dict[str, Any], ...] = ()


class ExplainBusy(QueueFull):
    """Another explanation held the explain slot for ``REQUEST_TIMEOUT_S`` (HTTP 503 busy)."""


@dataclass(frozen=True)
class Explained:
    """``Service.explain``'s answer: the ``Explanation``, the decoded image's ``(width, height)``
    and the centre crop's source box ``(left, top, right, bottom)`` in its pixels, the image bytes'
    sha256 and their provenance evidence."""

    explanation: Explanation
    image_size: tuple[int, int]
    crop_box: tuple[float, float, float, float]
    image_sha256: str
    evidence: tuple[dict[str, Any], ...]


class Service:
    """Loads the model (optionally in the background) and judges images.

    ``state`` is ``"loading"``, ``"ok"`` or ``"error"`` (then ``error`` says why). ``judge_many``
    is safe to call from many threads; decoding is bounded by a ``DecodeBudget`` of
    ``DECODE_BUDGET_BYTES``.
    """

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self.state = "loading"
        self.error: str | None = None
        self.card: ModelCard | None = None
        self.detector: Detector | None = None
        self.batcher: Batcher | None = None
        self.cache = ResultCache(config["CACHE_SIZE"])
        self.limits = decode_limits(config)
        self.budget = DecodeBudget(config["DECODE_BUDGET_BYTES"])
        self._preparing = 0
        self._lock = threading.Lock()
        self._explaining = threading.Semaphore(1)
        self._ready = threading.Event()
        tune_allocator()

    def start(self) -> None:
        """Load the model, in a background thread when ``LOAD_MODEL_ASYNC`` is set."""
        if self.config["LOAD_MODEL_ASYNC"]:
            threading.Thread(target=self.load, name="shinsaku-loader", daemon=True).start()
        else:
            self.load()

    def load(self) -> None:
        """Check the card and sha256, open the session, warm it up; never raises (sets ``state``)."""
        try:
            detector = load_detector(self.config)
            self.card, self.detector = detector.card, detector
            self.batcher = Batcher(detector.infer, self.config["MAX_BATCH_SIZE"],
                                   self.config["MAX_WAIT_MS"], self.config["QUEUE_SIZE"],
                                   expected=lambda: self._preparing)
            self.state = "ok"
            log.info("model %s %s loaded (sha256 %s, %s)", self.card.name, self.card.version, self.card.sha256,
                     detector.provider)
        except ModelError as exc:
            self.state, self.error = "error", str(exc)
            log.error("model not available: %s", exc)
        except Exception as exc:  # a corrupt model must give 503, never a crash
            self.state, self.error = "error", f"{type(exc).__name__}: {exc}"
            log.exception("model not available")
        finally:
            self._ready.set()

    def wait_loaded(self, timeout: float | None = None) -> bool:
        """Block until loading ended (successfully or not); True when the model is ready."""
        self._ready.wait(timeout)
        return self.state == "ok"

    def require_model(self) -> tuple[ModelCard, Batcher]:
        """The card and batcher. Raises ``ModelUnavailable`` while loading or after a failed load."""
        if self.state != "ok" or self.card is None or self.batcher is None:
            raise ModelUnavailable(self.error or "the model is still loading")
        return self.card, self.batcher

    def model_input(self, data: bytes, card: ModelCard) -> np.ndarray:
        """Image bytes -> ``(3, S, S)`` float32 model input. The header is checked first; decoding
        then waits for its estimated memory in the decode budget (up to ``REQUEST_TIMEOUT_S``), and
        memory is handed back to the OS after large decodes.

        Raises:
            backend.preprocessing.ImageError subclasses: the image cannot be judged.
            backend.memory.BudgetTimeout: the budget stayed in use (HTTP 503 busy).
        """
        return self.decode_input(data, card)[0]

    def decode_input(self, data: bytes, card: ModelCard) -> tuple[np.ndarray, tuple[int, int]]:
        """``model_input`` and the (EXIF-oriented) image's full ``(width, height)`` in pixels, also
        when the card's ``jpeg_draft`` lets the decoder shrink it. Raises as ``model_input``."""
        img = open_image(data, limits=self.limits)
        size = None
        if card.jpeg_draft:  # the full size is read before the decoder is told to shrink the image
            size = oriented_size(img)
            draft_for_input(img, card.size)
        cost = decoded_bytes(img)
        with self.budget.hold(cost, timeout=self.config["REQUEST_TIMEOUT_S"]):
            try:
                rgb = decode_opened(img)
                size = size or rgb.size
                x = to_model_input(rgb, card.size, card.resize)
            finally:
                del img
        if cost >= TRIM_AFTER_BYTES:
            release_free_memory()
        return x, size

    def explain(self, data: bytes) -> Explained:
        """Occlusion-sensitivity heat map (``backend.explain``) of one image, its evidence and where
        the model's centre crop lies in the image. One explanation runs at a time (it takes
        ``GRID**2 + 1`` inferences); another waits up to ``REQUEST_TIMEOUT_S`` seconds. The perturbed
        inputs go through the batcher like classify's (same session, queue and ``MAX_BATCH_SIZE``),
        up to ``BATCH_SIZE`` of them queued at a time, each group within ``REQUEST_TIMEOUT_S``.

        Raises:
            ModelUnavailable: the model is not ready.
            backend.preprocessing.ImageError subclasses, backend.memory.BudgetTimeout: as ``model_input``.
            ExplainBusy: another explanation kept the slot for ``REQUEST_TIMEOUT_S`` (HTTP 503 busy).
            QueueFull: the queue had no room for a group (HTTP 503 busy).
            InferenceTimeout: a group's results took over ``REQUEST_TIMEOUT_S`` (HTTP 503).
            backend.model_card.ModelError: the model's output was malformed.
        """
        card, batcher = self.require_model()
        x, size = self.decode_input(data, card)
        if not self._explaining.acquire(timeout=self.config["REQUEST_TIMEOUT_S"]):
            raise ExplainBusy("another explanation is running; retry later")
        try:
            timeout = self.config["REQUEST_TIMEOUT_S"]
            explanation = occlusion_map(lambda batch: batcher.predict(batch, timeout), x,
                                        batch_size=min(BATCH_SIZE, batcher.capacity))
        except FutureTimeout:
            raise InferenceTimeout("no inference result in time") from None
        finally:
            self._explaining.release()
        return Explained(explanation, size, center_crop_box(*size, card.size), image_key(data),
                         tuple(extract_dicts(data)))

    def _submit(self, data: bytes, card: ModelCard, batcher: Batcher) -> tuple[str, Any, bytes]:
        """Cache lookup, else decode + preprocess + queue: ``(key, ModelOutputs or its Future, data)``."""
        key = image_key(data)
        cached = self.cache.get(key)
        if cached is not None:
            return key, cached, data
        return key, batcher.submit(self.model_input(data, card)), data

    def _expect(self, count: int) -> None:
        with self._lock:
            self._preparing += count

    def judge_many(self, images: list[bytes]) -> list[Verdict | Exception]:
        """Judge several images' bytes: each goes through the cache, else decode + preprocess, then
        all are queued together for the batcher. Returns, in input order, a ``Verdict`` or the
        exception raised for that image (``ImageError`` subclasses, ``QueueFull``,
        ``BudgetTimeout``, ``InferenceTimeout``, or the inference's own error). Each verdict
        carries its provenance evidence, read while the batch runs. Raises ``ModelUnavailable``
        when the model is not ready."""
        card, batcher = self.require_model()
        pending: list[tuple[str, Any, bytes] | Exception] = []
        self._expect(len(images))  # the batcher waits for images announced here (up to MAX_WAIT_MS)
        for data in images:
            try:
                pending.append(self._submit(data, card, batcher))
            except Exception as exc:  # noqa: BLE001 - one bad image never fails the others
                pending.append(exc)
            finally:
                self._expect(-1)
        deadline = time.monotonic() + self.config["REQUEST_TIMEOUT_S"]
        return [self._collect(item, deadline) for item in pending]

    def _collect(self, item: tuple[str, Any, bytes] | Exception, deadline: float) -> Verdict | Exception:
        if isinstance(item, Exception):
            return item
        key, value, data = item
        evidence = tuple(extract_dicts(data))
        if isinstance(value, ModelOutputs):
            return Verdict(value.probability_ai, True, key, evidence)
        try:
            outputs = value.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            return InferenceTimeout("no inference result in time")
        except Exception as exc:  # noqa: BLE001 - the inference failed: reported for this image
            return exc
        self.cache.put(key, outputs)
        return Verdict(outputs.probability_ai, False, key, evidence)

    def close(self) -> None:
        """Stop the batcher."""
        if self.batcher is not None:
            self.batcher.close()
