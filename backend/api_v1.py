"""API version 1 blueprint: health, model, classify, classify/batch, openapi.json."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from backend.errors import ApiError, error_body
from backend.inference import QueueFull
from backend.openapi import openapi_document
from backend.preprocessing import ImageError
from backend.service import InferenceTimeout, ModelUnavailable, Service

bp = Blueprint("v1", __name__, url_prefix="/v1")

IMAGE_CONTENT_TYPES = ("image/", "application/octet-stream")


def service() -> Service:
    """The app's ``Service``."""
    return current_app.extensions["shinsaku"]


def _retry_after() -> dict[str, str]:
    return {"Retry-After": str(current_app.config["RETRY_AFTER_S"])}


def to_api_error(exc: Exception) -> ApiError:
    """Map the service's exceptions to API errors; re-raise anything else."""
    if isinstance(exc, ImageError):
        return ApiError(exc.http_status, exc.code, str(exc))
    if isinstance(exc, QueueFull):
        return ApiError(503, "busy", str(exc), _retry_after())
    if isinstance(exc, (ModelUnavailable, InferenceTimeout)):
        return ApiError(503, "model_unavailable" if isinstance(exc, ModelUnavailable) else "timeout",
                        str(exc), _retry_after())
    raise exc


def batch_item(result: dict | Exception) -> dict:
    """A ``Service.classify_many`` item as a batch result: the result, or its error object with its
    HTTP ``status``; an unexpected exception becomes a 500 item (logged), never a failed batch."""
    if not isinstance(result, Exception):
        return result
    try:
        err = to_api_error(result)
    except Exception:
        current_app.logger.error("inference failed", exc_info=result)
        err = ApiError(500, "internal_error", "internal error; see the backend log")
    return {**error_body(err.code, err.message), "status": err.status}


def require_length(limit: int) -> int:
    """The request's Content-Length in bytes. Raises ``ApiError`` 411 without one, 413 over
    ``limit`` bytes, 400 for an empty body."""
    length = request.content_length
    if length is None:
        raise ApiError(411, "length_required", "a Content-Length header is required")
    if length > limit:
        raise ApiError(413, "payload_too_large", f"the body is {length} bytes, the limit is {limit}")
    if length == 0:
        raise ApiError(400, "empty_image", "the body is empty")
    return length


@bp.get("/health")
def health():
    """200 once the model is loaded and warmed up, else 503 with the reason."""
    svc = service()
    if svc.state == "ok":
        return jsonify(status="ok", model_version=svc.card.version, sha256=svc.card.sha256)
    status, message = ("loading", "the model is loading") if svc.state == "loading" else ("error", svc.error)
    response = jsonify(status=status, error="model_unavailable", message=message)
    response.status_code = 503
    response.headers.update(_retry_after())
    return response


@bp.get("/model")
def model():
    """The model card's essentials and the execution provider in use."""
    try:
        return jsonify(service().model_info())
    except ModelUnavailable as exc:
        raise to_api_error(exc) from None


@bp.post("/classify")
def classify():
    """Judge the raw image bytes of the body (``Content-Type: image/*`` or octet-stream)."""
    content_type = (request.mimetype or "").lower()
    if not content_type.startswith(IMAGE_CONTENT_TYPES):
        raise ApiError(415, "unsupported_media_type",
                       "send the image bytes as the body with Content-Type image/* or application/octet-stream")
    require_length(current_app.config["MAX_IMAGE_BYTES"])
    try:
        result = service().classify(request.get_data(cache=False))
    except (ImageError, QueueFull, ModelUnavailable, InferenceTimeout) as exc:
        raise to_api_error(exc) from None
    response = jsonify(result)
    response.headers["X-Request-Id"] = result["request_id"]
    return response


@bp.post("/classify/batch")
def classify_batch():
    """Judge every file of the multipart field ``images``; results in input order."""
    if request.mimetype != "multipart/form-data":
        raise ApiError(415, "unsupported_media_type", "send multipart/form-data with files in the field 'images'")
    require_length(current_app.config["MAX_BATCH_BYTES"])
    files = request.files.getlist("images")
    limit = current_app.config["MAX_BATCH_FILES"]
    if not files:
        raise ApiError(400, "no_images", "no file in the multipart field 'images'")
    if len(files) > limit:
        raise ApiError(413, "too_many_images", f"{len(files)} files, the limit is {limit}")
    try:
        results = service().classify_many([f.read() for f in files])
    except ModelUnavailable as exc:
        raise to_api_error(exc) from None
    return jsonify(results=[batch_item(r) for r in results])


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.0 document of this API."""
    return Response(openapi_document(), mimetype="application/json")
