"""Dynamic batcher and bounded queue: full means 503 + Retry-After at once; every accepted request is answered."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from image_bytes import noise

from backend.inference import Batcher, QueueFull


def x(value: float) -> np.ndarray:
    return np.full((3, 4, 4), value, dtype=np.float32)


def blocking_predict(release: threading.Event, started: threading.Event):
    def predict(batch):
        started.set()
        release.wait(10)
        return batch.reshape(batch.shape[0], -1).mean(axis=1)
    return predict


def test_full_queue_raises_at_once_and_accepted_items_are_answered():
    release, started = threading.Event(), threading.Event()
    batcher = Batcher(blocking_predict(release, started), max_batch=2, max_wait_ms=0, queue_size=3)
    try:
        first = batcher.submit(x(0.1))
        assert started.wait(5)  # the worker holds the first item
        queued = [batcher.submit(x(v)) for v in (0.2, 0.3, 0.4)]
        with pytest.raises(QueueFull):
            batcher.submit(x(0.5))
        release.set()
        values = [f.result(5) for f in [first, *queued]]
        assert values == pytest.approx([0.1, 0.2, 0.3, 0.4])
        assert batcher.batch_sizes == [1, 2, 1]
    finally:
        release.set()
        batcher.close()


def test_batches_up_to_max_batch_while_more_are_expected():
    expected = [5]
    batcher = Batcher(lambda b: b.reshape(b.shape[0], -1).mean(axis=1), max_batch=4, max_wait_ms=2000,
                      queue_size=10, expected=lambda: expected[0])
    try:
        futures = []
        for v in range(5):
            futures.append(batcher.submit(x(v / 10)))
            expected[0] -= 1
        assert [f.result(5) for f in futures] == pytest.approx([0, 0.1, 0.2, 0.3, 0.4])
        assert max(batcher.batch_sizes) == 4 and sum(batcher.batch_sizes) == 5
    finally:
        batcher.close()


def test_model_failure_answers_every_request_of_the_batch():
    def failing(batch):
        raise RuntimeError("boom")

    batcher = Batcher(failing, max_batch=4, queue_size=4)
    try:
        futures = [batcher.submit(x(0.5)) for _ in range(3)]
        for future in futures:
            with pytest.raises(RuntimeError, match="boom"):
                future.result(5)
    finally:
        batcher.close()


def test_close_answers_queued_items():
    release, started = threading.Event(), threading.Event()
    batcher = Batcher(blocking_predict(release, started), queue_size=4)
    batcher.submit(x(0.1))
    started.wait(5)
    waiting = batcher.submit(x(0.2))
    threading.Timer(0.2, release.set).start()
    batcher.close()
    with pytest.raises(RuntimeError):
        waiting.result(5)


def test_http_503_with_retry_after_when_queue_full(make_app):
    application = make_app(QUEUE_SIZE=1, MAX_BATCH_SIZE=1, CACHE_SIZE=0, RETRY_AFTER_S=2)
    service = application.extensions["shinsaku"]
    release, started = threading.Event(), threading.Event()
    real_predict = service.batcher._predict
    service.batcher._predict = lambda batch: (started.set(), release.wait(10), real_predict(batch))[2]
    statuses: list[int] = []

    def post(seed):
        statuses.append(application.test_client().post(
            "/v1/classify", data=noise(seed), content_type="image/png").status_code)

    try:
        first = threading.Thread(target=post, args=(1,))
        first.start()
        assert started.wait(5)
        second = threading.Thread(target=post, args=(2,))
        second.start()
        deadline = time.monotonic() + 5
        while service.batcher.qsize() < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        response = application.test_client().post("/v1/classify", data=noise(3), content_type="image/png")
        assert response.status_code == 503 and response.json["error"] == "busy"
        assert response.headers["Retry-After"] == "2"
    finally:
        release.set()
    first.join(10)
    second.join(10)
    assert statuses == [200, 200]


def test_inference_timeout_is_503(make_app):
    application = make_app(REQUEST_TIMEOUT_S=0.2, CACHE_SIZE=0)
    service = application.extensions["shinsaku"]
    release = threading.Event()
    real_predict = service.batcher._predict
    service.batcher._predict = lambda batch: (release.wait(10), real_predict(batch))[1]
    try:
        response = application.test_client().post("/v1/classify", data=noise(9), content_type="image/png")
        assert response.status_code == 503 and response.json["error"] == "timeout"
    finally:
        release.set()
