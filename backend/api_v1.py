"""API version 1 blueprint: health, model, classify, classify/batch, explain, openapi.json.

The service judges bytes (``Verdict``); this module shapes verdicts and errors into responses.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from backend.errors import ApiError, error_body
from backend.explain import METHOD, overlay_base64
from backend.inference import QueueFull
from backend.memory import BudgetTimeout
from backend.model_card import ModelCard
from backend.openapi import openapi_document
from backend.preprocessing import ImageError
from backend.service import Explained, InferenceTimeout, ModelUnavailable, Service, Verdict

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
    if isinstance(exc, (QueueFull, BudgetTimeout)):
        return ApiError(503, "busy", str(exc), _retry_after())
    if isinstance(exc, (ModelUnavailable, InferenceTimeout)):
        return ApiError(503, "model_unavailable" if isinstance(exc, ModelUnavailable) else "timeout",
                        str(exc), _retry_after())
    raise exc


def result_body(verdict: Verdict, card: ModelCard, started: float) -> dict[str, Any]:
    """The result object of ``POST /v1/classify``: label by the card's rule, probability, threshold,
    model version and sha256, the image's sha256, its provenance ``evidence`` (a list of findings,
    possibly empty; ``backend.provenance``), ``elapsed_ms`` since ``started`` (a
    ``time.perf_counter()`` value), whether it was cached, and a fresh request id."""
    return {"label": card.label(verdict.probability_ai), "probability_ai": verdict.probability_ai,
            "threshold": card.threshold, "model_version": card.version, "model_sha256": card.sha256,
            "image_sha256": verdict.image_sha256, "evidence": list(verdict.evidence),
            "elapsed_ms": round((time.perf_counter() - started) * 1000.0, 3), "cached": verdict.cached,
            "request_id": uuid.uuid4().hex}


def explain_body(explained: Explained, card: ModelCard, started: float) -> dict[str, Any]:
    """The answer of ``POST /v1/explain``: the classify fields (``cached`` always false) plus
    ``heatmap`` (method, ``grid`` x ``grid`` ``heat`` in [0, 1] and signed ``delta`` in log-odds,
    row-major from the top-left, and a ``size`` x ``size`` RGBA PNG overlay in base64) and ``crop``
    (the centre crop's box in pixels of the full-size, EXIF-oriented image of ``image_width`` x
    ``image_height``)."""
    ex = explained.explanation
    verdict = Verdict(ex.probability_ai, False, explained.image_sha256, explained.evidence)
    left, top, right, bottom = explained.crop_box
    width, height = explained.image_size
    return {**result_body(verdict, card, started),
            "heatmap": {"method": METHOD, "grid": int(ex.heat.shape[0]), "size": card.size,
                        "heat": [[round(float(v), 4) for v in row] for row in ex.heat],
                        "delta": [[round(float(v), 4) for v in row] for row in ex.delta],
                        "max_change": round(ex.max_change, 6),
                        "overlay_png": overlay_base64(ex, card.size)},
            "crop": {"x": round(left, 2), "y": round(top, 2), "width": round(right - left, 2),
                     "height": round(bottom - top, 2), "image_width": width, "image_height": height}}


def batch_item(result: Verdict | Exception, card: ModelCard, started: float) -> dict[str, Any]:
    """A ``Service.judge_many`` item as a batch result: the result, or its error object with its
    HTTP ``status`` (and ``retry_after_s`` in seconds for 503); an unexpected exception becomes a
    500 item (logged), never a failed batch."""
    if isinstance(result, Verdict):
        return result_body(result, card, started)
    try:
        err = to_api_error(result)
    except Exception:
        current_app.logger.error("inference failed", exc_info=result)
        err = ApiError(500, "internal_error", "internal error; see the backend log")
    item: dict[str, Any] = {**error_body(err.code, err.message), "status": err.status}
    if err.status == 503:
        item["retry_after_s"] = current_app.config["RETRY_AFTER_S"]
    return item


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


def _judge(images: list[bytes]) -> tuple[ModelCard, list[Verdict | Exception]]:
    svc = service()
    try:
        card, _ = svc.require_model()
        return card, svc.judge_many(images)
    except ModelUnavailable as exc:
        raise to_api_error(exc) from None


@bp.get("/health")
def health():
    """200 once the model is loaded and warmed up (with the execution provider and precision), else
    503 with the reason."""
    svc = service()
    if svc.state == "ok":
        return jsonify(status="ok", model_version=svc.card.version, model_sha256=svc.card.sha256,
                       execution_provider=svc.detector.provider, precision=svc.card.precision)
    status, message = ("loading", "the model is loading") if svc.state == "loading" else ("error", svc.error)
    response = jsonify(status=status, error="model_unavailable", message=message)
    response.status_code = 503
    response.headers.update(_retry_after())
    return response


@bp.get("/model")
def model():
    """The model card's essentials: its ``headline`` (leave-source-out false accusation rate first),
    its metrics as the card has them, the execution provider and the limits."""
    svc = service()
    try:
        card, _ = svc.require_model()
    except ModelUnavailable as exc:
        raise to_api_error(exc) from None
    config = current_app.config
    return jsonify({"name": card.name, "version": card.version, "sha256": card.sha256,
                    "input": card.raw.get("input", {}), "output": card.raw.get("output", {}),
                    "tta_views": list(card.tta_views), "threshold": card.threshold,
                    "uncertain_band": list(card.uncertain_band), "headline": card.raw.get("headline", {}),
                    "metrics": card.raw.get("metrics", {}),
                    "execution_provider": svc.detector.provider, "precision": card.precision,
                    "quantization": card.precision_entry,
                    "max_batch_size": config["MAX_BATCH_SIZE"],
                    "max_batch_files": config["MAX_BATCH_FILES"], "max_image_bytes": config["MAX_IMAGE_BYTES"]})


def image_body() -> bytes:
    """The raw image bytes of the request body. Raises ``ApiError`` 415 unless ``Content-Type`` is
    ``image/*`` or ``application/octet-stream``, and as ``require_length`` (411, 413, 400)."""
    content_type = (request.mimetype or "").lower()
    if not content_type.startswith(IMAGE_CONTENT_TYPES):
        raise ApiError(415, "unsupported_media_type",
                       "send the image bytes as the body with Content-Type image/* or application/octet-stream")
    require_length(current_app.config["MAX_IMAGE_BYTES"])
    return request.get_data(cache=False)


@bp.post("/classify")
def classify():
    """Judge the raw image bytes of the body (``Content-Type: image/*`` or octet-stream)."""
    started = time.perf_counter()
    card, (result,) = _judge([image_body()])
    if isinstance(result, Exception):
        raise to_api_error(result) from None  # an unexpected exception propagates: JSON 500, logged
    body = result_body(result, card, started)
    response = jsonify(body)
    response.headers["X-Request-Id"] = body["request_id"]
    return response


@bp.post("/classify/batch")
def classify_batch():
    """Judge every file of the multipart field ``images``; results in input order. When every file
    was refused as busy, the response also carries ``Retry-After``."""
    started = time.perf_counter()
    if request.mimetype != "multipart/form-data":
        raise ApiError(415, "unsupported_media_type", "send multipart/form-data with files in the field 'images'")
    require_length(current_app.config["MAX_BATCH_BYTES"])
    files = request.files.getlist("images")
    limit = current_app.config["MAX_BATCH_FILES"]
    if not files:
        raise ApiError(400, "no_images", "no file in the multipart field 'images'")
    if len(files) > limit:
        raise ApiError(413, "too_many_images", f"{len(files)} files, the limit is {limit}")
    card, results = _judge([f.read() for f in files])
    items = [batch_item(r, card, started) for r in results]
    response = jsonify(results=items)
    if all(item.get("error") == "busy" for item in items):
        response.headers.update(_retry_after())
    return response


@bp.post("/explain")
def explain():
    """Explain the verdict on the raw image bytes of the body (same body rules as ``/classify``):
    the probability, label, evidence and an occlusion-sensitivity heat map (``backend.explain``)
    over the model's centre crop, with the crop's position in the image."""
    started = time.perf_counter()
    data = image_body()
    svc = service()
    try:
        card, _ = svc.require_model()
        explained = svc.explain(data)
    except Exception as exc:  # noqa: BLE001 - mapped to JSON errors; anything unexpected re-raised
        raise to_api_error(exc) from None
    body = explain_body(explained, card, started)
    response = jsonify(body)
    response.headers["X-Request-Id"] = body["request_id"]
    return response


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.0 document of this API."""
    return Response(openapi_document(), mimetype="application/json")
