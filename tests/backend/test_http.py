"""The HTTP layer of ``shinsaku serve`` (``backend.http_server``) over loopback: errors waitress decides
are the API's JSON, slow clients are dropped, connections beyond waitress's default are served."""

from __future__ import annotations

import json
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests
from image_bytes import solid

from backend.config import CHROME_EXTENSION_ORIGIN


def raw(base_url: str, request: bytes, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` bytes and read the answer until the server closes: (status, headers, body)."""
    url = urlsplit(base_url)
    with socket.create_connection((url.hostname, url.port), timeout=timeout) as sock:
        sock.sendall(request)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except ConnectionResetError:  # closed with part of our request unread: the answer came first
            pass
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), headers, body


def host(base_url: str) -> str:
    return urlsplit(base_url).netloc


@pytest.mark.parametrize("extra, status, code", [
    ("Content-Length: 999999999999\r\n", 413, "payload_too_large"),
    ("Content-Length: 12abc\r\n", 400, "bad_request"),
    ("Transfer-Encoding: gzip, chunked\r\n", 400, "unsupported_transfer_encoding"),
    ("X-Big: " + "a" * 65_600 + "\r\n", 431, "headers_too_large"),
])
def test_errors_decided_by_waitress_are_api_json(live_server, extra, status, code):
    request = (f"POST /v1/classify HTTP/1.1\r\nHost: {host(live_server)}\r\nContent-Type: image/png\r\n"
               f"{extra}Connection: close\r\n\r\n").encode()
    got, headers, body = raw(live_server, request)
    assert (got, headers["Content-Type"]) == (status, "application/json")
    assert json.loads(body)["error"] == code and json.loads(body)["message"]


def test_bad_chunk_size_is_api_json(live_server):
    request = (f"POST /v1/classify HTTP/1.1\r\nHost: {host(live_server)}\r\nContent-Type: image/png\r\n"
               "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\nabc\r\n0\r\n\r\n").encode()
    status, _, body = raw(live_server, request)
    assert status == 400 and json.loads(body)["error"] == "bad_request"


def test_slow_request_is_dropped_and_health_stays_fast(make_app):
    from backend.http_server import make_server

    app = make_app(REQUEST_READ_TIMEOUT_S=1)
    server = make_server(app, {**app.config, "PORT": 0})
    app.config["PORT"] = server.effective_port
    threading.Thread(target=server.run, daemon=True).start()
    base = f"http://127.0.0.1:{server.effective_port}"
    try:
        slow = [socket.create_connection(("127.0.0.1", server.effective_port), timeout=10) for _ in range(150)]
        for sock in slow:  # more than waitress's default of 100 connections, headers never finished
            sock.sendall(f"GET /v1/health HTTP/1.1\r\nHost: {host(base)}\r\n".encode())
        started = time.monotonic()
        assert requests.get(f"{base}/v1/health", timeout=5).status_code == 200
        assert time.monotonic() - started < 5
        deadline = time.monotonic() + 10
        for sock in slow:  # each trickles one more header line: the timeout counts from the first byte
            sock.sendall(b"X-A: b\r\n")
        assert slow[0].recv(10) == b""  # closed by the server after REQUEST_READ_TIMEOUT_S
        assert time.monotonic() < deadline
        for sock in slow:
            sock.close()
    finally:
        server.close()


def test_origin_must_match_exactly_and_responses_vary_on_origin(client):
    upper = CHROME_EXTENSION_ORIGIN.upper().replace("CHROME-EXTENSION", "chrome-extension")
    refused = client.post("/v1/classify", data=solid(), content_type="image/png", headers={"Origin": upper})
    assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused.headers
    for response in (refused, client.get("/v1/health"), client.get("/v1/health", headers={"Origin": CHROME_EXTENSION_ORIGIN})):
        assert "Origin" in response.headers.get("Vary", "")


def test_busy_batch_items_carry_a_retry_hint(make_app, monkeypatch):
    import io

    from backend.inference import QueueFull

    application = make_app(RETRY_AFTER_S=3)
    batcher = application.extensions["shinsaku"].batcher

    def full(x):
        raise QueueFull("full")

    monkeypatch.setattr(batcher, "submit", full)
    response = application.test_client().post("/v1/classify/batch", data={
        "images": [(io.BytesIO(solid(c)), f"{c}.png") for c in ("white", "black")]})
    assert response.status_code == 200 and response.headers["Retry-After"] == "3"
    assert [(r["error"], r["status"], r["retry_after_s"]) for r in response.json["results"]] == [("busy", 503, 3)] * 2
