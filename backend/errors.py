"""JSON errors: every error the API answers is ``{"error": code, "message": text}``."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger("shinsaku")


class ApiError(Exception):
    """An error answered as JSON with ``status`` (HTTP code), ``code`` (stable machine-readable name),
    ``message`` (human-readable) and extra response ``headers``."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def error_body(code: str, message: str) -> dict[str, str]:
    """The error object ``{"error": code, "message": message}``."""
    return {"error": code, "message": message}


def json_error(status: int, code: str, message: str, headers: dict[str, str] | None = None):
    """A Flask response carrying ``error_body`` with ``status`` and ``headers``."""
    response = jsonify(error_body(code, message))
    response.status_code = status
    response.headers.update(headers or {})
    return response


def _http_code(exc: HTTPException) -> str:
    return (exc.name or "error").lower().replace(" ", "_").replace("-", "_")


def register_error_handlers(app: Flask) -> None:
    """Answer ``ApiError``, werkzeug ``HTTPException`` (404, 405 with ``Allow``, 413, ...) and any
    unexpected exception (500, logged, no traceback sent) as JSON."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return json_error(exc.status, exc.code, exc.message, exc.headers)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
        return json_error(exc.code or 500, _http_code(exc), exc.description or exc.name, headers)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unexpected error")
        return json_error(500, "internal_error", "internal error; see the backend log")
