"""Who may talk to the backend: Host (DNS rebinding), Origin (web pages), token; CORS for extensions.

Checks run in ``before_request`` for every path, in this order, before the body is read:
Host (403 ``forbidden_host``), Origin (403 ``forbidden_origin``), token (401 ``unauthorized``,
not for CORS preflights, which browsers send without custom headers). Origins are compared exactly,
case included (browsers send them lowercase), both for access and for CORS headers; every response
carries ``Vary: Origin``.

Allowed origins: the exact ``ALLOWED_ORIGINS`` and, with ``ALLOW_FIREFOX_EXTENSIONS`` (default on),
any Firefox add-on origin ``moz-extension://<uuid>`` (Firefox gives each install a random UUID, so
no fixed origin exists). ``Origin`` is a forbidden header name: a web page cannot set it, and a
page's own origin is never ``moz-extension:``; only code the user installed into the browser (an
add-on) or a local program can send one. The README's security section has the threat model.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, current_app, request
from flask_cors import CORS

from backend.config import is_loopback
from backend.errors import ApiError

TOKEN_HEADER = "X-Shinsaku-Token"
#: A Firefox add-on's origin: ``moz-extension://`` and the install's UUID, lowercase, as Firefox sends it.
FIREFOX_EXTENSION_ORIGIN = re.compile(
    r"moz-extension://[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")


def allowed_hosts(config: Mapping[str, Any]) -> set[str]:
    """Accepted ``Host`` header values, lowercase: ``127.0.0.1:PORT``, ``localhost:PORT``,
    ``[::1]:PORT``, the bind address with the port when it is a specific non-loopback address, and
    ``EXTRA_ALLOWED_HOSTS``."""
    port = config["PORT"]
    hosts = {f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"}
    bind = config["HOST"]
    if bind not in ("0.0.0.0", "::", "") and not is_loopback(bind):
        hosts.add(f"[{bind}]:{port}" if ":" in bind else f"{bind}:{port}")
    hosts.update(h.lower() for h in config["EXTRA_ALLOWED_HOSTS"])
    return {h.lower() for h in hosts}


def token_matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison of the configured token and the request's (None: missing)."""
    return given is not None and hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def check_request() -> None:
    """``before_request`` hook. Raises ``ApiError`` 403 for a foreign Host or Origin (``null``
    included), 401 for a wrong or missing token when one is configured."""
    config = current_app.config
    host = request.headers.get("Host", "").lower()
    if host not in allowed_hosts(config):
        raise ApiError(403, "forbidden_host", f"Host {host!r} is not accepted (use 127.0.0.1:{config['PORT']})")
    origin = request.headers.get("Origin")
    if origin is not None and not origin_allowed(config, origin):
        raise ApiError(403, "forbidden_origin", f"Origin {origin!r} may not use this backend")
    token = config["TOKEN"]
    if token and request.method != "OPTIONS" and not token_matches(token, request.headers.get(TOKEN_HEADER)):
        raise ApiError(401, "unauthorized", f"missing or wrong {TOKEN_HEADER} header")


def origin_allowed(config: Mapping[str, Any], origin: str) -> bool:
    """Whether ``origin`` (an ``Origin`` header value) may use the backend: one of the exact
    ``ALLOWED_ORIGINS``, or a ``moz-extension://<uuid>`` origin when ``ALLOW_FIREFOX_EXTENSIONS``."""
    return origin in config["ALLOWED_ORIGINS"] or (
        bool(config["ALLOW_FIREFOX_EXTENSIONS"]) and FIREFOX_EXTENSION_ORIGIN.match(origin) is not None)


def vary_on_origin(response: Response) -> Response:
    """``after_request`` hook: every answer depends on ``Origin`` (CORS headers, 403), so caches
    must key on it."""
    response.vary.add("Origin")
    return response


def exact_origins(origins: list[str]) -> list[re.Pattern]:
    """``origins`` as anchored, case-sensitive patterns: flask-cors compares plain strings without
    case, which would echo ``CHROME-EXTENSION://...`` in ``Access-Control-Allow-Origin``."""
    return [re.compile(re.escape(origin) + r"\Z") for origin in origins]


def init_security(app: Flask) -> None:
    """Install ``check_request``, ``Vary: Origin`` and CORS headers for exactly the allowed
    origins (``origin_allowed``; never ``*``)."""
    app.before_request(check_request)
    app.after_request(vary_on_origin)
    origins = exact_origins(app.config["ALLOWED_ORIGINS"])
    if app.config["ALLOW_FIREFOX_EXTENSIONS"]:
        origins.append(FIREFOX_EXTENSION_ORIGIN)
    CORS(app, origins=origins, supports_credentials=False,
         allow_headers=["Content-Type", TOKEN_HEADER], methods=["GET", "POST", "OPTIONS"],
         expose_headers=["Retry-After", "X-Request-Id"], max_age=600, send_wildcard=False, always_send=False,
         vary_header=True)
