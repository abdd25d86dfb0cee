"""Security rules: loopback bind, Host, Origin, CORS, token, body limits, formats, no URL fetching."""

from __future__ import annotations

import io
import socket

import pytest
from image_bytes import encode, solid
from PIL import Image

from backend.config import CHROME_EXTENSION_ORIGIN, ConfigError
from backend.security import token_matches

FIREFOX = "moz-extension://0b0e5a3c-3a9b-4c4e-9d2e-1f7a2b3c4d5e"
PNG = solid("white")



def test_binding_beyond_loopback_requires_a_token(make_app):
    with pytest.raises(ConfigError, match="TOKEN"):
        make_app(HOST="0.0.0.0")
    with pytest.raises(ConfigError):
        make_app(HOST="192.168.1.20")
    assert make_app(HOST="0.0.0.0", TOKEN="s3cret").config["HOST"] == "0.0.0.0"
    assert make_app(HOST="::1").config["HOST"] == "::1"


@pytest.mark.parametrize("host", ["127.0.0.1:8765", "localhost:8765", "[::1]:8765", "LOCALHOST:8765"])
def test_loopback_hosts_accepted(client, host):
    assert client.get("/v1/health", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize("host", ["evil.example:8765", "127.0.0.1", "localhost", "127.0.0.1:9999",
                                  "attacker.com", "127.0.0.1.nip.io:8765", ""])
def test_foreign_host_is_403(client, host):
    # DNS rebinding: a page on attacker.com resolving to 127.0.0.1 still sends its own Host
    response = client.post("/v1/classify", data=PNG, content_type="image/png", headers={"Host": host})
    assert response.status_code == 403 and response.json["error"] == "forbidden_host"


#: Origins that look like a Firefox add-on's but are not what Firefox sends: refused.
NOT_FIREFOX = ["moz-extension://other", FIREFOX.upper(), "MOZ-EXTENSION://" + FIREFOX.split("://")[1],
               FIREFOX + "/", FIREFOX + ":8765", FIREFOX + ".evil.example",
               "moz-extension://" + FIREFOX.split("://")[1][:-1], "http://" + FIREFOX.split("://")[1],
               "https://moz-extension.evil.example", "moz-extension://" + "g" * 8 + FIREFOX[-28:]]


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://127.0.0.1:8765",
                                    "chrome-extension://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", *NOT_FIREFOX])
def test_foreign_origin_is_403_before_any_work(client, app, origin):
    batcher = app.extensions["shinsaku"].batcher
    runs = len(batcher.batch_sizes)
    response = client.post("/v1/classify", data=PNG, content_type="image/png", headers={"Origin": origin})
    assert response.status_code == 403 and response.json["error"] == "forbidden_origin"
    assert "Access-Control-Allow-Origin" not in response.headers
    assert len(batcher.batch_sizes) == runs and len(app.extensions["shinsaku"].cache) == 0


def test_extension_origin_gets_cors_for_itself_only(client):
    response = client.post("/v1/classify", data=PNG, content_type="image/png",
                           headers={"Origin": CHROME_EXTENSION_ORIGIN})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == CHROME_EXTENSION_ORIGIN
    preflight = client.options("/v1/classify", headers={
        "Origin": CHROME_EXTENSION_ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, x-shinsaku-token"})
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == CHROME_EXTENSION_ORIGIN
    assert "x-shinsaku-token" in preflight.headers["Access-Control-Allow-Headers"].lower()
    no_origin = client.get("/v1/health")
    assert "Access-Control-Allow-Origin" not in no_origin.headers


@pytest.mark.parametrize("origin", [FIREFOX, "moz-extension://89cd7817-147b-458b-9c0e-172df98c6493"])
def test_any_firefox_addon_origin_is_allowed_by_default(client, origin):
    # Firefox gives every install its own random UUID: no configuration must be needed.
    response = client.post("/v1/classify", data=PNG, content_type="image/png", headers={"Origin": origin})
    assert response.status_code == 200, response.json
    assert response.headers["Access-Control-Allow-Origin"] == origin
    preflight = client.options("/v1/classify", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, x-shinsaku-token"})
    assert preflight.status_code == 200 and preflight.headers["Access-Control-Allow-Origin"] == origin


def test_firefox_addons_can_be_switched_off(make_app, monkeypatch):
    monkeypatch.setenv("SHINSAKU_ALLOW_FIREFOX_EXTENSIONS", "false")
    client = make_app().test_client()
    response = client.post("/v1/classify", data=PNG, content_type="image/png", headers={"Origin": FIREFOX})
    assert response.status_code == 403 and response.json["error"] == "forbidden_origin"
    assert "Access-Control-Allow-Origin" not in response.headers
    # ... and then only the origins listed are allowed
    monkeypatch.setenv("SHINSAKU_ALLOWED_ORIGINS", FIREFOX)
    client = make_app().test_client()
    assert client.get("/v1/health", headers={"Origin": FIREFOX}).status_code == 200
    other = "moz-extension://89cd7817-147b-458b-9c0e-172df98c6493"
    assert client.get("/v1/health", headers={"Origin": other}).status_code == 403


def test_firefox_addon_still_needs_the_token_when_one_is_set(make_app):
    client = make_app(TOKEN="s3cret!").test_client()
    response = client.post("/v1/classify", data=PNG, content_type="image/png", headers={"Origin": FIREFOX})
    assert response.status_code == 401 and response.json["error"] == "unauthorized"
    response = client.post("/v1/classify", data=PNG, content_type="image/png",
                           headers={"Origin": FIREFOX, "X-Shinsaku-Token": "s3cret!"})
    assert response.status_code == 200


def test_firefox_origin_added_by_environment(make_app, monkeypatch):
    monkeypatch.setenv("SHINSAKU_ALLOWED_ORIGINS", f"{FIREFOX}, moz-extension://other")
    application = make_app()
    assert CHROME_EXTENSION_ORIGIN in application.config["ALLOWED_ORIGINS"]
    response = application.test_client().get("/v1/health", headers={"Origin": FIREFOX})
    assert response.status_code == 200 and response.headers["Access-Control-Allow-Origin"] == FIREFOX


@pytest.mark.parametrize("origins", [["*"], ["null"]])
def test_wildcard_or_null_origin_refused_in_config(make_app, origins):
    with pytest.raises(ConfigError):
        make_app(ALLOWED_ORIGINS=origins)


@pytest.mark.parametrize("headers, status", [({}, 401), ({"X-Shinsaku-Token": "wrong"}, 401),
                                             ({"X-Shinsaku-Token": "s3cret!"}, 200)])
def test_token(make_app, headers, status):
    client = make_app(TOKEN="s3cret!").test_client()
    response = client.post("/v1/classify", data=PNG, content_type="image/png", headers=headers)
    assert response.status_code == status
    if status == 401:
        assert response.json["error"] == "unauthorized"
    assert client.get("/v1/health", headers=headers).status_code == status


def test_preflight_needs_no_token(make_app):
    client = make_app(TOKEN="s3cret!").test_client()
    response = client.options("/v1/classify", headers={"Origin": CHROME_EXTENSION_ORIGIN,
                                                       "Access-Control-Request-Method": "POST"})
    assert response.status_code == 200


def test_token_compare_uses_hmac(monkeypatch):
    import hmac

    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))
    assert token_matches("abc", "abc") and not token_matches("abc", "abd") and not token_matches("abc", None)
    assert len(calls) == 2


def test_content_length_required(client):
    response = client.post("/v1/classify", input_stream=io.BytesIO(PNG), content_type="image/png",
                           headers={"Transfer-Encoding": "chunked"})
    assert response.status_code == 411 and response.json["error"] == "length_required"


def test_body_over_limit_is_413(make_app):
    client = make_app(MAX_IMAGE_BYTES=1000).test_client()
    response = client.post("/v1/classify", data=b"\xff" * 1001, content_type="image/jpeg")
    assert response.status_code == 413 and response.json["error"] == "payload_too_large"


def test_batch_body_over_limit_is_413(make_app):
    client = make_app(MAX_BATCH_BYTES=2000).test_client()
    response = client.post("/v1/classify/batch", data={"images": (io.BytesIO(b"x" * 3000), "a.png")})
    assert response.status_code == 413


def test_empty_body_is_400(client):
    response = client.post("/v1/classify", data=b"", content_type="image/png", environ_base={"CONTENT_LENGTH": "0"})
    assert response.status_code == 400 and response.json["error"] == "empty_image"


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", "multipart/form-data", None])
def test_wrong_content_type_is_415(client, content_type):
    response = client.post("/v1/classify", data=PNG, content_type=content_type)
    assert response.status_code == 415


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'
EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"


@pytest.mark.parametrize("data", [SVG, EPS, encode(Image.new("RGB", (8, 8)), "TIFF"),
                                  encode(Image.new("RGB", (8, 8)), "ICO"), b"GIF89a" + b"\x00" * 3,
                                  b"%PDF-1.4\n", b"hello world"])
def test_formats_outside_allow_list_are_415(client, data):
    response = client.post("/v1/classify", data=data, content_type="image/png")
    assert response.status_code in (415, 422)
    if not data.startswith(b"GIF"):
        assert response.status_code == 415 and response.json["error"] == "unsupported_media_type"


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF", "BMP"])
def test_allowed_formats(client, fmt):
    assert client.post("/v1/classify", data=solid("white", fmt=fmt), content_type="image/png").status_code == 200


def test_decompression_bomb_is_413(client):
    bomb = encode(Image.new("1", (20_000, 20_000)), "PNG")  # 400 Mpx in ~50 kB
    response = client.post("/v1/classify", data=bomb, content_type="image/png")
    assert response.status_code == 413 and response.json["error"] == "image_too_large"


def test_oversized_side_is_413(make_app):
    client = make_app(MAX_SIDE=1000).test_client()
    response = client.post("/v1/classify", data=solid("white", size=(1001, 10)), content_type="image/png")
    assert response.status_code == 413


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_truncated_image_is_422(client, fmt):
    from image_bytes import noise

    data = noise(5, size=(200, 200), fmt=fmt)
    response = client.post("/v1/classify", data=data[: len(data) // 2], content_type="image/png")
    assert response.status_code == 422 and response.json["error"] == "corrupt_image"


@pytest.mark.parametrize("method, path, allow", [("GET", "/v1/classify", "POST"), ("PUT", "/v1/classify/batch", "POST"),
                                                 ("POST", "/v1/health", "GET"), ("DELETE", "/v1/model", "GET")])
def test_wrong_method_is_405_with_allow(client, method, path, allow):
    response = client.open(path, method=method)
    assert response.status_code == 405 and response.is_json
    assert allow in response.headers["Allow"]


def test_never_fetches_urls(client, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the backend tried to open a network connection")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    for body, ctype in [(b"http://127.0.0.1:22/", "image/png"), (b"https://example.com/a.png", "text/uri-list")]:
        assert client.post("/v1/classify", data=body, content_type=ctype).status_code == 415
    assert client.post("/v1/classify", query_string={"url": "http://example.com/a.png"}).status_code in (400, 411, 415)
