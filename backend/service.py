"""The detection service behind the HTTP API: model loading state, cache, batcher, one-image judging."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Mapping
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from backend.cache import ResultCache, image_key
from backend.inference import Batcher, Detector
from backend.model_card import ModelCard, ModelError, load_card
from backend.preprocessing import DecodeLimits, decode_image, to_model_input

log = logging.getLogger("shinsaku")


class ModelUnavailable(RuntimeError):
    """The model is loading or failed to load (HTTP 503)."""


class InferenceTimeout(RuntimeError):
    """No inference result within ``REQUEST_TIMEOUT_S`` seconds (HTTP 503)."""


class Service:
    """Loads the model (optionally in the background) and judges images.

    ``state`` is ``"loading"``, ``"ok"`` or ``"error"`` (then ``error`` says why). ``classify``
    is safe to call from many threads.
    """

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self.state = "loading"
        self.error: str | None = None
        self.card: ModelCard | None = None
        self.detector: Detector | None = None
        self.batcher: Batcher | None = None
        self.cache = ResultCache(config["CACHE_SIZE"])
        self.limits = DecodeLimits(max_pixels=config["MAX_PIXELS"], max_side=config["MAX_SIDE"])
        self._preparing = 0
        self._lock = threading.Lock()
        self._ready = threading.Event()

    def start(self) -> None:
        """Load the model, in a background thread when ``LOAD_MODEL_ASYNC`` is set."""
        if self.config["LOAD_MODEL_ASYNC"]:
            threading.Thread(target=self.load, name="shinsaku-loader", daemon=True).start()
        else:
            self.load()

    def load(self) -> None:
        """Check the card and sha256, open the session, warm it up; never raises (sets ``state``)."""
        try:
            card = load_card(self.config["MODEL_PATH"])
            detector = Detector(card, self.config["PROVIDER"], self.config["INTRA_OP_THREADS"],
                                self.config["INTER_OP_THREADS"], self.config["ORT_ALLOW_SPINNING"])
            detector.warm_up()
            self.card, self.detector = card, detector
            self.batcher = Batcher(detector.predict, self.config["MAX_BATCH_SIZE"],
                                   self.config["MAX_WAIT_MS"], self.config["QUEUE_SIZE"],
                                   expected=lambda: self._preparing)
            self.state = "ok"
            log.info("model %s %s loaded (sha256 %s, %s)", card.name, card.version, card.sha256,
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

    def _require_model(self) -> tuple[ModelCard, Batcher]:
        if self.state != "ok" or self.card is None or self.batcher is None:
            raise ModelUnavailable(self.error or "the model is still loading")
        return self.card, self.batcher

    def result(self, probability: float, started: float, cached: bool) -> dict[str, Any]:
        """The API result object for ``probability`` (see ``POST /v1/classify``); ``started`` is a
        ``time.perf_counter()`` value, ``elapsed_ms`` is measured from it."""
        card = self.card
        return {"label": card.label(probability), "probability_ai": probability,
                "threshold": card.threshold, "model_version": card.version, "sha256": card.sha256,
                "elapsed_ms": round((time.perf_counter() - started) * 1000.0, 3), "cached": cached,
                "request_id": uuid.uuid4().hex}

    def _submit(self, data: bytes, card: ModelCard, batcher: Batcher) -> tuple[str, Any]:
        """Cache lookup, else decode + preprocess + queue: ``(key, probability float or Future)``."""
        key = image_key(data)
        cached = self.cache.get(key)
        if cached is not None:
            return key, cached
        x = to_model_input(decode_image(data, limits=self.limits), card.size, card.resize)
        return key, batcher.submit(x)

    def _expect(self, count: int) -> None:
        with self._lock:
            self._preparing += count

    def classify_many(self, images: list[bytes]) -> list[dict[str, Any] | Exception]:
        """Judge several images' bytes: each goes through the cache, else decode + preprocess, then
        all are queued together for the batcher. Returns, in input order, a result (see
        ``POST /v1/classify``) or the exception raised for that image (``classify`` lists them).
        Raises ``ModelUnavailable`` when the model is not ready."""
        started = time.perf_counter()
        card, batcher = self._require_model()
        pending: list[tuple[str, Any] | Exception] = []
        self._expect(len(images))  # the batcher waits for images announced here (up to MAX_WAIT_MS)
        for data in images:
            try:
                pending.append(self._submit(data, card, batcher))
            except Exception as exc:  # noqa: BLE001 - one bad image never fails the others
                pending.append(exc)
            finally:
                self._expect(-1)
        out: list[dict[str, Any] | Exception] = []
        deadline = time.monotonic() + self.config["REQUEST_TIMEOUT_S"]
        for item in pending:
            if isinstance(item, Exception):
                out.append(item)
                continue
            key, value = item
            if isinstance(value, float):
                out.append(self.result(value, started, True))
                continue
            try:
                probability = value.result(timeout=max(0.0, deadline - time.monotonic()))
            except FutureTimeout:
                out.append(InferenceTimeout("no inference result in time"))
                continue
            except Exception as exc:  # noqa: BLE001 - the inference failed: reported for this image
                out.append(exc)
                continue
            self.cache.put(key, probability)
            out.append(self.result(probability, started, False))
        return out

    def classify(self, data: bytes) -> dict[str, Any]:
        """Judge one image's bytes (``classify_many`` of one).

        Raises:
            ModelUnavailable, InferenceTimeout: HTTP 503.
            backend.inference.QueueFull: HTTP 503 with Retry-After.
            backend.preprocessing.ImageError subclasses: 400, 413, 415, 422.
            backend.model_card.ModelError: the inference itself failed (HTTP 500).
        """
        result = self.classify_many([data])[0]
        if isinstance(result, Exception):
            raise result
        return result

    def model_info(self) -> dict[str, Any]:
        """The ``GET /v1/model`` object. Raises ``ModelUnavailable``."""
        card, _ = self._require_model()
        raw = card.raw
        return {"name": card.name, "version": card.version, "sha256": card.sha256,
                "input": raw.get("input", {}), "output": raw.get("output", {}),
                "tta_views": list(card.tta_views), "threshold": card.threshold,
                "uncertain_band": list(card.uncertain_band), "metrics": raw.get("metrics", {}),
                "execution_provider": self.detector.provider,
                "max_batch_size": self.config["MAX_BATCH_SIZE"],
                "max_batch_files": self.config["MAX_BATCH_FILES"]}

    def close(self) -> None:
        """Stop the batcher."""
        if self.batcher is not None:
            self.batcher.close()
