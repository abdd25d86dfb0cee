"""Classify and explain share one inference path: the batcher carries a ``ModelOutputs`` record per
image, and explain's occluded copies go through the same queue, batch limit and timeouts."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from test_explain import drawing, png

from backend.explain import GRID
from backend.inference import Batcher, ModelOutputs, QueueFull


def test_batcher_answers_records_and_predicts_through_the_queue():
    batcher = Batcher(lambda b: [ModelOutputs(float(v)) for v in b.reshape(len(b), -1).mean(axis=1)],
                      max_batch=3, queue_size=8)
    try:
        assert batcher.submit(np.full((3, 4, 4), 0.25, np.float32)).result(5) == ModelOutputs(0.25)
        batch = np.stack([np.full((3, 4, 4), v, np.float32) for v in (0.1, 0.2, 0.3, 0.4, 0.5)])
        got = batcher.predict(batch, timeout=5)
        assert got.dtype == np.float32 and got == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5])
        assert max(batcher.batch_sizes) <= 3 and sum(batcher.batch_sizes) == 6
    finally:
        batcher.close()


def test_submit_many_refuses_what_the_queue_cannot_hold_without_queueing_any():
    release, started = threading.Event(), threading.Event()

    def blocked(batch):
        started.set()
        release.wait(10)
        return [ModelOutputs(0.5)] * len(batch)

    batcher = Batcher(blocked, max_batch=1, queue_size=3)
    try:
        batcher.submit(np.zeros((3, 4, 4), np.float32))
        assert started.wait(5)
        with pytest.raises(QueueFull):
            batcher.submit_many(np.zeros((4, 3, 4, 4), np.float32))
        assert batcher.qsize() == 0
    finally:
        release.set()
        batcher.close()


def test_wrong_number_of_outputs_fails_the_batch():
    batcher = Batcher(lambda b: [ModelOutputs(0.5)], max_batch=2, queue_size=4)
    try:
        with pytest.raises(Exception, match="1 model outputs for a batch of 2"):
            batcher.predict(np.zeros((2, 3, 4, 4), np.float32), timeout=5)
    finally:
        batcher.close()


def test_classify_futures_carry_records(app):
    service = app.extensions["shinsaku"]
    assert isinstance(service.batcher.submit(np.full((3, 224, 224), 0.5, np.float32)).result(5), ModelOutputs)


def test_explain_goes_through_the_batcher_in_its_batch_limit(make_app):
    application = make_app(MAX_BATCH_SIZE=4, QUEUE_SIZE=8)
    service, client = application.extensions["shinsaku"], application.test_client()
    data = png(drawing((300, 300)))
    runs = sum(service.batcher.batch_sizes)
    body = client.post("/v1/explain", data=data, content_type="image/png").json
    assert sum(service.batcher.batch_sizes) - runs == GRID * GRID + 1
    assert max(service.batcher.batch_sizes) <= 4
    classify = client.post("/v1/classify", data=data, content_type="image/png").json
    assert body["probability_ai"] == pytest.approx(classify["probability_ai"], abs=1e-6)


def test_explain_full_queue_is_busy_and_slow_inference_is_timeout(make_app):
    application = make_app(REQUEST_TIMEOUT_S=0.3)
    service, client = application.extensions["shinsaku"], application.test_client()
    data = png(drawing())
    real_submit_many = service.batcher.submit_many

    def full(batch):
        raise QueueFull("full")

    service.batcher.submit_many = full
    response = client.post("/v1/explain", data=data, content_type="image/png")
    assert response.status_code == 503 and response.json["error"] == "busy" and "Retry-After" in response.headers
    service.batcher.submit_many = real_submit_many
    release, real_predict = threading.Event(), service.batcher._predict
    service.batcher._predict = lambda batch: (release.wait(10), real_predict(batch))[1]
    try:
        response = client.post("/v1/explain", data=data, content_type="image/png")
        assert response.status_code == 503 and response.json["error"] == "timeout"
    finally:
        release.set()
