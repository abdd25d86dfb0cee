"""API v1 behaviour on the fixture model: health, model, classify, batch, cache, labels."""

from __future__ import annotations

import hashlib
import io
import json
import threading

import numpy as np
import pytest
from image_bytes import noise, solid
from onnx_fixture import fixture_probability

from backend.model_card import label_for
from backend.preprocessing import preprocess

RESULT_KEYS = {"label", "probability_ai", "threshold", "model_version", "model_sha256", "image_sha256", "elapsed_ms",
               "cached", "request_id", "evidence"}


def post_image(client, data: bytes, content_type: str = "image/png", **kwargs):
    return client.post("/v1/classify", data=data, content_type=content_type, **kwargs)


def test_health_ok_once_loaded(client):
    response = client.get("/v1/health")
    assert response.status_code == 200
    assert response.json["status"] == "ok"


def test_model_describes_card_and_provider(client, fixture_model):
    body = client.get("/v1/model").json
    assert body["name"] == "shinsaku-fixture"
    assert body["tta_views"] == ["identity", "hflip", "crop_tl", "crop_br"]
    assert body["threshold"] == 0.5 and body["uncertain_band"] == [0.4, 0.6]
    assert body["input"]["size"] == 224 and body["input"]["resize"] == "center_crop"
    assert body["execution_provider"] == "CPUExecutionProvider"
    assert len(body["sha256"]) == 64
    assert body["headline"] == {}  # the fixture card has no measured headline


@pytest.mark.parametrize("color, label", [("white", "ai"), ("black", "human"), ((127, 127, 127), "uncertain")])
def test_classify_labels(client, color, label):
    data = solid(color)
    response = post_image(client, data)
    assert response.status_code == 200, response.json
    body = response.json
    assert set(body) == RESULT_KEYS
    assert body["label"] == label
    expected = fixture_probability(preprocess(data)[None])[0]
    assert body["probability_ai"] == pytest.approx(expected, abs=1e-4)
    assert body["cached"] is False and body["elapsed_ms"] >= 0
    assert response.headers["X-Request-Id"] == body["request_id"]
    assert body["image_sha256"] == hashlib.sha256(data).hexdigest()  # the image's, not the model's


def test_model_and_image_hashes_are_distinct_fields(client, fixture_model):
    model_sha = json.loads(fixture_model.read_text())["sha256"]
    bodies = [post_image(client, solid(color)).json for color in ("white", "black")]
    assert [b["model_sha256"] for b in bodies] == [model_sha, model_sha]
    assert bodies[0]["image_sha256"] != bodies[1]["image_sha256"]
    assert client.get("/v1/health").json["model_sha256"] == model_sha


@pytest.mark.parametrize("content_type", ["image/jpeg", "image/webp", "application/octet-stream"])
def test_classify_accepts_image_content_types(client, content_type):
    # the content type is only a gate: the bytes decide the format
    assert post_image(client, solid("white", fmt="JPEG"), content_type).status_code == 200


def test_repeated_image_is_answered_from_cache_without_inference(client, app):
    data = noise(1)
    first = post_image(client, data).json
    batcher = app.extensions["shinsaku"].batcher
    runs = len(batcher.batch_sizes)
    second = post_image(client, data).json
    assert second["cached"] is True and first["cached"] is False
    assert second["probability_ai"] == first["probability_ai"]
    assert second["request_id"] != first["request_id"]
    assert len(batcher.batch_sizes) == runs  # no inference for the repeat


def test_cache_can_be_disabled(make_app):

    application = make_app(CACHE_SIZE=0)
    client = application.test_client()
    data = noise(2)
    assert [post_image(client, data).json["cached"] for _ in range(2)] == [False, False]


def test_batch_results_in_input_order_with_per_item_errors(client):
    files = [solid("white"), b"not an image", solid("black", fmt="JPEG"), b"", solid("white", fmt="JPEG")[:40]]
    response = client.post("/v1/classify/batch", data={
        "images": [(io.BytesIO(f), f"f{i}.bin") for i, f in enumerate(files)]})
    assert response.status_code == 200
    results = response.json["results"]
    assert [r.get("label") or r["error"] for r in results] == [
        "ai", "unsupported_media_type", "human", "empty_image", "corrupt_image"]
    assert [r.get("status") for r in results] == [None, 415, None, 400, 422]


def test_batch_matches_single_image_path(make_app):

    application = make_app(CACHE_SIZE=0, MAX_WAIT_MS=1000)
    client = application.test_client()
    images = [noise(seed, size=(120 + seed, 90)) for seed in range(6)]
    single = [post_image(client, data).json["probability_ai"] for data in images]
    batch = client.post("/v1/classify/batch", data={
        "images": [(io.BytesIO(d), f"{i}.png") for i, d in enumerate(images)]}).json["results"]
    assert [r["probability_ai"] for r in batch] == single
    assert max(application.extensions["shinsaku"].batcher.batch_sizes) > 1  # really batched


def test_concurrent_requests_are_batched_with_identical_results(make_app):
    """Requests arriving together share one inference and get the single-image result exactly."""

    application = make_app(CACHE_SIZE=0, MAX_WAIT_MS=300, MAX_BATCH_SIZE=8)
    service = application.extensions["shinsaku"]
    images = [noise(100 + i) for i in range(8)]
    arrays = np.stack([preprocess(d) for d in images])
    expected = [float(service.detector.predict(arrays[i:i + 1])[0]) for i in range(len(images))]
    barrier = threading.Barrier(len(images))
    got: dict[int, float] = {}

    def worker(i):
        client = application.test_client()
        barrier.wait()
        got[i] = post_image(client, images[i]).json["probability_ai"]

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(images))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [got[i] for i in range(len(images))] == expected
    assert max(service.batcher.batch_sizes) > 1


def test_batch_requires_files_and_limits_their_number(make_app):

    application = make_app(MAX_BATCH_FILES=2)
    client = application.test_client()
    none = client.post("/v1/classify/batch", data={"other": (io.BytesIO(solid()), "a.png")})
    assert none.status_code == 400 and none.json["error"] == "no_images"
    many = client.post("/v1/classify/batch", data={"images": [(io.BytesIO(solid()), f"{i}.png") for i in range(3)]})
    assert many.status_code == 413 and many.json["error"] == "too_many_images"
    raw = client.post("/v1/classify/batch", data=solid(), content_type="image/png")
    assert raw.status_code == 415


@pytest.mark.parametrize("p, label", [(0.0, "human"), (0.39, "human"), (0.4, "uncertain"), (0.5, "uncertain"),
                                      (0.59, "uncertain"), (0.6, "ai"), (1.0, "ai")])
def test_label_rule(p, label):
    assert label_for(p, 0.5, (0.4, 0.6)) == label


def test_label_rule_empty_band():
    assert label_for(0.5, 0.5, (0.5, 0.5)) == "ai"
    assert label_for(0.49, 0.5, (0.5, 0.5)) == "human"


def test_unknown_path_is_json_404(client):
    response = client.get("/v2/whatever")
    assert response.status_code == 404 and response.is_json and response.json["error"] == "not_found"
