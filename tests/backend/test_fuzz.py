"""Hypothesis throws random and mutated image bytes at the endpoints: never a 5xx, always JSON."""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from image_bytes import encode, noise, solid
from PIL import Image

SEEDS = [noise(1, size=(40, 30), fmt=f) for f in ("JPEG", "PNG", "WEBP", "GIF", "BMP")] + [
    encode(Image.new("RGBA", (33, 17), (255, 0, 0, 80)), "PNG"),
    encode(Image.new("P", (20, 20)), "GIF", save_all=True, append_images=[Image.new("P", (20, 20), 3)]),
    solid("black", size=(1, 1), fmt="JPEG"),
]


@st.composite
def mutated_images(draw):
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 8))):
        op = draw(st.sampled_from(["flip", "truncate", "insert", "delete"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[pos] ^= draw(st.integers(1, 255))
        elif op == "truncate":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif data:
            del data[pos:pos + draw(st.integers(1, 64))]
    return bytes(data)


bodies = st.one_of(st.binary(max_size=512), mutated_images())
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def check(response):
    assert response.status_code < 500, response.get_data()[:300]
    assert response.is_json
    if response.status_code != 200:
        assert set(response.json) >= {"error", "message"}


@FUZZ
@given(body=bodies, content_type=st.sampled_from(["image/png", "image/jpeg", "application/octet-stream"]))
def test_classify_never_5xx(client, body, content_type):
    response = client.post("/v1/classify", data=body, content_type=content_type,
                           environ_base={"CONTENT_LENGTH": str(len(body))})
    check(response)
    if response.status_code == 200:
        assert 0.0 <= response.json["probability_ai"] <= 1.0


@FUZZ
@given(files=st.lists(bodies, min_size=1, max_size=4))
def test_batch_never_5xx(client, files):
    response = client.post("/v1/classify/batch", data={
        "images": [(io.BytesIO(f), f"f{i}") for i, f in enumerate(files)]})
    check(response)
    if response.status_code == 200:
        results = response.json["results"]
        assert len(results) == len(files)
        assert all(r.get("status", 200) < 500 for r in results)
