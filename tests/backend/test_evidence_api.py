"""Provenance evidence in classify results (single, batch, cached) on the fixture model."""

from __future__ import annotations

import io

import provenance_images as pi
from image_bytes import solid


def test_classify_carries_evidence_of_an_a1111_png(client):
    data = pi.png_with_text({"parameters": pi.A1111})
    first = client.post("/v1/classify", data=data, content_type="image/png").json
    (finding,) = first["evidence"]
    assert finding["kind"] == "png_text" and finding["says"] == "ai" and finding["source"] == "png:parameters"
    second = client.post("/v1/classify", data=data, content_type="image/png").json
    assert second["cached"] is True and second["evidence"] == first["evidence"]


def test_classify_without_metadata_has_empty_evidence(client):
    assert client.post("/v1/classify", data=solid("white"), content_type="image/png").json["evidence"] == []


def test_c2pa_evidence_in_a_batch(client):
    signed = pi.c2pa_signed_jpeg("Adobe Firefly")
    files = [(io.BytesIO(signed), "a.jpg"), (io.BytesIO(solid("black")), "b.png"), (io.BytesIO(b"junk"), "c.bin")]
    body = client.post("/v1/classify/batch", data={"images": files}).json
    first, second, third = body["results"]
    (c2pa,) = first["evidence"]
    assert c2pa["kind"] == "c2pa" and c2pa["valid"] is True and c2pa["issuer"] == "Shinsaku Test CA"
    assert second["evidence"] == [] and "evidence" not in third and third["status"] == 415


def test_hostile_metadata_never_fails_classification(client):
    data = pi.png_with_text({"parameters": "x" * 3_000_000, "prompt": "[" * 200_000})
    response = client.post("/v1/classify", data=data, content_type="image/png")
    assert response.status_code == 200 and response.json["label"] in ("ai", "human", "uncertain")
