"""Bounded load test on loopback: concurrent clients, small queue; every request gets an answer
(200, or 503 with Retry-After when the queue is full), none is lost or hangs."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests
from image_bytes import noise

REQUESTS = 240
CLIENTS = 24


def test_no_request_lost(live_server):
    images = [noise(seed, size=(160, 120), fmt="JPEG") for seed in range(40)]

    def one(i):
        with requests.Session() as session:
            response = session.post(f"{live_server}/v1/classify", data=images[i % len(images)],
                                    headers={"Content-Type": "image/jpeg"}, timeout=30)
            return response.status_code, response.headers.get("Retry-After"), response.json()

    with ThreadPoolExecutor(CLIENTS) as pool:
        answers = list(pool.map(one, range(REQUESTS)))
    assert len(answers) == REQUESTS
    statuses = [status for status, _, _ in answers]
    assert set(statuses) <= {200, 503}, statuses
    assert statuses.count(200) > 0
    for status, retry_after, body in answers:
        if status == 503:
            assert retry_after and body["error"] == "busy"
        else:
            assert body["label"] in ("ai", "human", "uncertain")


def test_batch_over_http(live_server):
    files = [("images", (f"{i}.png", noise(i), "image/png")) for i in range(3)] + [
        ("images", ("bad.png", b"nope", "image/png"))]
    response = requests.post(f"{live_server}/v1/classify/batch", files=files, timeout=30)
    assert response.status_code == 200
    assert [("label" in r) for r in response.json()["results"]] == [True, True, True, False]


def test_post_without_content_length_is_411_over_http(live_server):
    # waitress itself de-chunks "Transfer-Encoding: chunked" bodies (bounded by its
    # max_request_body_size) and then passes their length on; a bare POST has no length at all
    import socket
    from urllib.parse import urlsplit

    url = urlsplit(live_server)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(f"POST /v1/classify HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Type: image/png\r\n"
                     "Connection: close\r\n\r\n".encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 411"), answer[:200]
    assert b'"length_required"' in answer


def test_host_header_checked_over_http(live_server):
    response = requests.get(f"{live_server}/v1/health", headers={"Host": "rebind.attacker.example"}, timeout=5)
    assert response.status_code == 403 and response.json()["error"] == "forbidden_host"
