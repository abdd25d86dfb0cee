"""onnxruntime session (``Detector``), the per-image record of its outputs (``ModelOutputs``) and the
dynamic batcher with its bounded queue (``Batcher``), the one inference path of classify and explain."""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnxruntime as ort

from backend.model_card import ModelCard, ModelError, for_precision, load_card

log = logging.getLogger("shinsaku")
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


def preload_cuda_libraries() -> None:
    """Load the CUDA and cuDNN libraries of the ``gpu`` extra's ``nvidia-*`` wheels (onnxruntime-gpu
    >= 1.21, ``onnxruntime.preload_dlls``) so the CUDA provider finds them without a system CUDA
    toolkit. A no-op with the CPU build; never raises (the session reports what is missing)."""
    preload = getattr(ort, "preload_dlls", None)
    if preload is not None and CUDA in ort.get_available_providers():
        try:
            preload()
        except Exception as exc:  # noqa: BLE001 - a system CUDA install may still satisfy the provider
            log.warning("onnxruntime.preload_dlls failed (%s); relying on the system CUDA libraries", exc)


def choose_providers(preference: str = "auto") -> list[str]:
    """onnxruntime execution providers in priority order: CUDA (the ``gpu`` extra) when available
    and ``preference`` is ``auto`` or ``cuda``, then CPU. Raises ``ModelError`` for ``cuda`` without
    CUDA and for an unknown preference."""
    available = ort.get_available_providers()
    if preference not in ("auto", "cuda", "cpu"):
        raise ModelError(f"PROVIDER must be auto, cuda or cpu, got {preference!r}")
    if preference == "cuda" and CUDA not in available:
        raise ModelError("PROVIDER=cuda but onnxruntime has no CUDAExecutionProvider (install the gpu extra)")
    return [CUDA, CPU] if preference != "cpu" and CUDA in available else [CPU]


@dataclass(frozen=True)
class ModelOutputs:
    """What the model says about one image: ``probability_ai``, a float in [0, 1] that the image is
    AI-generated. The unit the batcher carries per image, so new outputs are new fields here."""

    probability_ai: float


def probabilities(outputs: Sequence[ModelOutputs]) -> np.ndarray:
    """Records -> ``(B,)`` float32 of their ``probability_ai``."""
    return np.array([o.probability_ai for o in outputs], dtype=np.float32)


class Detector:
    """An onnxruntime session of the detector.

    ``predict`` takes ``(B, 3, S, S)`` float32 RGB in [0, 1] (``S`` = ``card.size``) and returns
    ``(B,)`` float32 probabilities that the image is AI-generated; TTA and normalisation are inside
    the graph.
    """

    def __init__(self, card: ModelCard, provider: str = "auto", intra_op_threads: int = 0,
                 inter_op_threads: int = 1, allow_spinning: bool = False) -> None:
        """Create the session (``intra_op_threads`` 0: one per CPU core; ``allow_spinning``: let idle
        onnxruntime threads busy-wait, which steals CPU from decoding and other processes). Raises ``ModelError`` when the file is missing or not a valid model,
        or its input/output names differ from the card. An ``fp16`` card on the CPU provider is
        logged as a warning (slow there), not refused."""
        self.card = card
        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_threads or (os.cpu_count() or 1)
        options.inter_op_num_threads = max(1, inter_op_threads)
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if allow_spinning else "0")
        providers = choose_providers(provider)
        if CUDA in providers:
            preload_cuda_libraries()
        try:
            self.session = ort.InferenceSession(str(card.onnx_path), options, providers=providers)
        except ModelError:
            raise
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelError(f"cannot load {card.onnx_path}: {exc}") from exc
        inputs = [i.name for i in self.session.get_inputs()]
        outputs = [o.name for o in self.session.get_outputs()]
        if card.input_name not in inputs or card.output_name not in outputs:
            raise ModelError(f"model has inputs {inputs} and outputs {outputs}, card says "
                             f"{card.input_name!r} -> {card.output_name!r}")
        self.provider = self.session.get_providers()[0]
        if card.precision == "fp16" and self.provider == CPU:
            log.warning("PRECISION=fp16 on %s: onnxruntime's CPU provider runs most FP16 operators through "
                        "float32 casts, so the FP16 model is slower there than FP32; fp16 is meant for the "
                        "CUDA provider, int8 for the CPU", CPU)
        #: I/O binding device ("cuda" when the CUDA provider runs the model, else None: plain ``run``).
        self.io_binding_device: str | None = "cuda" if self.provider == CUDA else None

    def _run_bound(self, batch: np.ndarray) -> np.ndarray:
        """One inference through I/O binding: the batch is copied to ``io_binding_device`` once as an
        ``OrtValue`` and the small ``(B,)`` output is bound to host memory, so onnxruntime neither
        re-copies inputs per node nor allocates the output on the device."""
        binding = self.session.io_binding()
        device = self.io_binding_device or "cpu"
        value = ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(batch, dtype=np.float32), device, 0)
        binding.bind_ortvalue_input(self.card.input_name, value)
        binding.bind_output(self.card.output_name, "cpu")
        self.session.run_with_iobinding(binding)
        return binding.copy_outputs_to_cpu()[0]

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """``(B, 3, S, S)`` float32 in [0, 1] -> ``(B,)`` float32 in [0, 1], through I/O binding on
        the CUDA provider (``io_binding_device``), else ``session.run``. Raises ``ModelError`` when
        the output has the wrong shape or non-finite values."""
        if self.io_binding_device is not None:
            out = self._run_bound(batch)
        else:
            out = self.session.run([self.card.output_name], {self.card.input_name: batch})[0]
        out = np.asarray(out, dtype=np.float32).reshape(-1)
        if out.shape != (batch.shape[0],) or not np.all(np.isfinite(out)):
            raise ModelError(f"model output has shape {out.shape} or non-finite values for batch {batch.shape}")
        return np.clip(out, 0.0, 1.0)

    def infer(self, batch: np.ndarray) -> list[ModelOutputs]:
        """``(B, 3, S, S)`` float32 in [0, 1] -> ``B`` ``ModelOutputs``, in order (``predict``'s
        probabilities as records; the batcher's ``predict``). Raises as ``predict``."""
        return [ModelOutputs(float(p)) for p in self.predict(batch)]

    def warm_up(self) -> float:
        """Run one inference on a mid-grey image and return its probability. Raises ``ModelError``."""
        size = self.card.size
        try:
            return float(self.predict(np.full((1, 3, size, size), 0.5, dtype=np.float32))[0])
        except ModelError:
            raise
        except Exception as exc:
            raise ModelError(f"warm-up inference failed: {exc}") from exc


def load_detector(config: Mapping[str, Any]) -> Detector:
    """The detector that ``shinsaku serve`` and ``shinsaku scan`` both use: the card of
    ``config["MODEL_PATH"]`` with its sha256 checked, switched to ``config["PRECISION"]``
    (``fp32`` | ``int8`` | ``fp16``: the card's entry of that name, ``backend.model_card.for_precision``;
    fp16 on the CPU provider is logged as a warning, not refused), a session with the configured provider and
    threads, and one warm-up inference. Raises ``ModelError`` (missing, corrupt, mismatched, failing)."""
    card = for_precision(load_card(config["MODEL_PATH"]), config["PRECISION"])
    detector = Detector(card, config["PROVIDER"], config["INTRA_OP_THREADS"],
                        config["INTER_OP_THREADS"], config["ORT_ALLOW_SPINNING"])
    detector.warm_up()
    return detector


class QueueFull(RuntimeError):
    """The inference queue holds ``maxsize`` images already; retry later (HTTP 503)."""


class Batcher:
    """Dynamic batching in front of a ``predict`` function, with a bounded queue.

    ``predict`` maps a ``(B, 3, S, S)`` float32 batch to ``B`` per-image records in order
    (``Detector.infer``: ``ModelOutputs``). ``submit`` puts one ``(3, S, S)`` float32 array in a
    queue of at most ``queue_size`` arrays and returns a ``Future`` of its record; ``submit_many`` and
    ``predict`` queue several at once. One worker thread takes the first waiting array, adds every
    array already queued, and, while ``expected()`` (requests being decoded) or ``submit_many`` says
    more are on their way, waits for them up to ``max_wait_ms`` milliseconds, up to ``max_batch``
    arrays; then it runs ``predict`` once on the stacked ``(B, 3, S, S)`` batch.
    """

    def __init__(self, predict: Callable[[np.ndarray], Sequence[ModelOutputs]], max_batch: int = 16,
                 max_wait_ms: float = 5.0, queue_size: int = 64,
                 expected: Callable[[], int] = lambda: 0) -> None:
        self._predict = predict
        self.max_batch = max(1, int(max_batch))
        self.max_wait_s = max(0.0, float(max_wait_ms)) / 1000.0
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, int(queue_size)))
        self._expected = expected
        self._incoming = 0  # arrays that submit_many is still queueing
        self._submitting = threading.Lock()
        self._stop = threading.Event()
        self.batch_sizes: list[int] = []  # size of each batch run, for tests and stats (last 1000)
        self._thread = threading.Thread(target=self._run, name="shinsaku-batcher", daemon=True)
        self._thread.start()

    def submit(self, x: np.ndarray) -> Future:
        """Queue one ``(3, S, S)`` float32 array. Raises ``QueueFull`` at once when the queue is
        full, ``RuntimeError`` after ``close``."""
        if self._stop.is_set():
            raise RuntimeError("batcher is closed")
        future: Future = Future()
        try:
            self._queue.put_nowait((x, future))
        except queue.Full:
            raise QueueFull(f"{self._queue.maxsize} images are waiting for inference") from None
        return future

    @property
    def capacity(self) -> int:
        """The most arrays the queue holds (``queue_size``)."""
        return self._queue.maxsize

    def submit_many(self, batch: np.ndarray) -> list[Future]:
        """Queue every ``(3, S, S)`` array of a ``(B, 3, S, S)`` batch; the worker waits for all of
        them (up to ``max_wait_ms``) to batch them together. Returns ``B`` futures in order. Raises
        ``QueueFull`` at once when the queue has fewer than ``B`` free places (checked first, so
        normally nothing is queued), ``RuntimeError`` after ``close``."""
        with self._submitting:
            if self._queue.maxsize - self._queue.qsize() < len(batch):
                raise QueueFull(f"{self._queue.qsize()} of {self._queue.maxsize} places in the inference "
                                f"queue are taken; {len(batch)} are needed")
            self._incoming = len(batch)
            try:
                futures = []
                for x in batch:
                    futures.append(self.submit(x))
                    self._incoming -= 1
            finally:
                self._incoming = 0
        return futures

    def predict(self, batch: np.ndarray, timeout: float | None = None) -> np.ndarray:
        """``(B, 3, S, S)`` float32 -> ``(B,)`` float32 ``probability_ai``, through the queue (a drop-in
        for ``Detector.predict``, e.g. for ``backend.explain.occlusion_map``). Raises ``QueueFull``,
        ``concurrent.futures.TimeoutError`` when the results take over ``timeout`` seconds in all,
        and whatever ``predict`` raised."""
        deadline = None if timeout is None else time.monotonic() + timeout
        futures = self.submit_many(batch)
        return probabilities([f.result(None if deadline is None else max(0.0, deadline - time.monotonic()))
                              for f in futures])

    def qsize(self) -> int:
        """Arrays waiting in the queue now."""
        return self._queue.qsize()

    def _collect(self) -> list:
        items = [self._queue.get()]
        deadline = time.monotonic() + self.max_wait_s
        while len(items) < self.max_batch:
            try:
                items.append(self._queue.get_nowait())
                continue
            except queue.Empty:
                pass
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._expected() + self._incoming <= 0:
                break
            try:
                items.append(self._queue.get(timeout=remaining))
            except queue.Empty:
                break
        return [item for item in items if item is not None]

    def _run(self) -> None:
        while not self._stop.is_set():
            items = self._collect()
            if not items:
                continue
            futures = [f for _, f in items]
            try:
                outputs = self._predict(np.stack([x for x, _ in items]))
                if len(outputs) != len(items):
                    raise ModelError(f"{len(outputs)} model outputs for a batch of {len(items)} images")
                for future, output in zip(futures, outputs):
                    future.set_result(output)
            except BaseException as exc:  # noqa: BLE001 - every accepted request gets an answer
                for future in futures:
                    if not future.done():
                        future.set_exception(exc)
            self.batch_sizes = (self.batch_sizes + [len(items)])[-1000:]

    def close(self) -> None:
        """Stop the worker; arrays still queued get a ``RuntimeError``."""
        self._stop.set()
        try:
            self._queue.put_nowait(None)
        except queue.Full:
            pass
        self._thread.join(timeout=5)
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                item[1].set_exception(RuntimeError("the backend is shutting down"))
