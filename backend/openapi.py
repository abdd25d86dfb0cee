"""The OpenAPI 3.0 document served at ``GET /v1/openapi.json`` (checked against the server with
schemathesis in ``tests/backend/test_openapi.py``)."""

from __future__ import annotations

import functools
import json

from backend import __version__
from backend.limits import MAX_ASPECT_RATIO
from backend.model_card import PRECISIONS


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _busy(description: str) -> dict:
    return {**_error(description), "headers": {"Retry-After": {"schema": {"type": "string"},
                                                                 "description": "seconds"}}}


COMMON_ERRORS = {
    "400": _error("malformed request: bad framing, Content-Length or chunk sizes, or an unsupported "
                  "Transfer-Encoding"),
    "401": _error("X-Shinsaku-Token is configured and missing or wrong"),
    "403": _error("Host or Origin not allowed"),
    "405": _error("method not allowed (see the Allow header)"),
    "431": _error("request headers too large"),
}
BODY_ERRORS = {
    "400": _error("empty body, no file in the field images, or a malformed request"),
    "411": _error("Content-Length missing"),
    "413": _error("body, image or file count over the limit, or a decompression bomb"),
    "431": _error("request headers too large"),
    "415": _error("content type or image format not accepted"),
    "422": _error(f"truncated or corrupt image, or longer side over {MAX_ASPECT_RATIO:g} times the shorter "
                  "(extreme_aspect_ratio)"),
    "500": _error("the inference failed"),
    "503": _busy("model loading or unavailable, or the backend is busy (queue or decoding memory full): "
                 "retry after Retry-After seconds"),
}

SCHEMAS = {
    "Error": {"type": "object", "required": ["error", "message"],
              "properties": {"error": {"type": "string"}, "message": {"type": "string"}}},
    "Result": {
        "type": "object",
        "required": ["label", "probability_ai", "threshold", "model_version", "model_sha256", "image_sha256",
                     "elapsed_ms", "cached", "request_id", "evidence"],
        "properties": {
            "label": {"type": "string", "enum": ["ai", "human", "uncertain"]},
            "probability_ai": {"type": "number", "minimum": 0, "maximum": 1},
            "threshold": {"type": "number", "minimum": 0, "maximum": 1},
            "model_version": {"type": "string"},
            "model_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "the ONNX file's"},
            "image_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$",
                             "description": "of the image bytes received"},
            "elapsed_ms": {"type": "number", "minimum": 0, "description": "milliseconds"},
            "cached": {"type": "boolean"},
            "request_id": {"type": "string"},
            "evidence": {"type": "array", "items": {"$ref": "#/components/schemas/Finding"},
                         "description": "provenance findings from the file's own metadata (never seen by "
                                        "the model); empty when there is none, which proves nothing"},
        },
    },
    "Finding": {
        "type": "object", "required": ["kind", "says", "source", "excerpt"],
        "properties": {
            "kind": {"type": "string", "enum": ["c2pa", "xmp", "png_text", "exif", "metadata"]},
            "says": {"type": "string", "enum": ["ai", "human_edit", "camera", "unknown"]},
            "source": {"type": "string", "description": "the field read, e.g. png:parameters, exif:Software"},
            "excerpt": {"type": "string", "maxLength": 160},
            "tool": {"type": "string", "description": "the generator or program named"},
            "valid": {"type": "boolean", "description": "C2PA: signature and hashes validate"},
            "issuer": {"type": "string", "description": "C2PA: the signing certificate's issuer"},
            "error": {"type": "string", "description": "why this source could not be read"},
        },
    },
    "Explanation": {"allOf": [{"$ref": "#/components/schemas/Result"}, {
        "type": "object", "required": ["heatmap", "crop"],
        "properties": {
            "heatmap": {
                "type": "object", "required": ["method", "grid", "size", "heat", "delta", "max_change", "overlay_png"],
                "description": "occlusion sensitivity (Zeiler & Fergus 2014) with a blur perturbation (Fong & "
                               "Vedaldi 2017) over the model's centre crop",
                "properties": {
                    "method": {"type": "string"},
                    "grid": {"type": "integer", "minimum": 1, "description": "cells per side"},
                    "size": {"type": "integer", "description": "model input side, pixels"},
                    "heat": {"type": "array", "description": "grid x grid, row-major from the top-left; "
                             "importance in [0, 1] (|delta| over its maximum)",
                             "items": {"type": "array", "items": {"type": "number", "minimum": 0, "maximum": 1}}},
                    "delta": {"type": "array", "description": "grid x grid: log-odds of probability_ai minus "
                              "those with the cell blurred; positive: the cell pushed towards AI",
                              "items": {"type": "array", "items": {"type": "number"}}},
                    "max_change": {"type": "number", "minimum": 0, "description": "largest |delta|, log-odds"},
                    "overlay_png": {"type": "string", "format": "byte",
                                    "description": "size x size RGBA PNG, base64: red towards AI, blue towards human"},
                }},
            "crop": {
                "type": "object", "required": ["x", "y", "width", "height", "image_width", "image_height"],
                "description": "the centre crop the model saw, in pixels of the full-size (EXIF-oriented) image",
                "properties": {k: {"type": "number", "minimum": 0}
                               for k in ("x", "y", "width", "height", "image_width", "image_height")}},
        }}]},
    "ItemError": {"allOf": [{"$ref": "#/components/schemas/Error"},
                            {"type": "object", "required": ["status"],
                             "properties": {"status": {"type": "integer"},
                                            "retry_after_s": {"type": "integer", "minimum": 0,
                                                              "description": "seconds; on 503 items"}}}]},
    "Health": {"type": "object", "required": ["status"],
               "properties": {"status": {"type": "string", "enum": ["ok", "loading", "error"]},
                              "model_version": {"type": "string"}, "model_sha256": {"type": "string"},
                              "execution_provider": {"type": "string",
                                                     "description": "onnxruntime provider, e.g. CUDAExecutionProvider"},
                              "precision": {"type": "string", "enum": list(PRECISIONS)},
                              "error": {"type": "string"}, "message": {"type": "string"}}},
    "Model": {"type": "object",
              "required": ["name", "version", "sha256", "input", "tta_views", "threshold", "uncertain_band",
                           "execution_provider"],
              "properties": {"name": {"type": "string"}, "version": {"type": "string"},
                             "sha256": {"type": "string"}, "input": {"type": "object"},
                             "output": {"type": "object"},
                             "tta_views": {"type": "array", "items": {"type": "string"}},
                             "threshold": {"type": "number"},
                             "uncertain_band": {"type": "array", "items": {"type": "number"},
                                                "minItems": 2, "maxItems": 2},
                             "headline": {
                                 "type": "object",
                                 "description": "the card's headline figures, false accusation rate (share of "
                                 "human images labelled AI) first, with the protocol that measured them "
                                 "(leave-source-out); empty for a card without them",
                                 "properties": {"protocol": {"type": "string"},
                                                "false_accusation_rate": {"type": ["number", "null"]},
                                                "ai_recall": {"type": ["number", "null"]},
                                                "share_uncertain": {"type": ["number", "null"]},
                                                "accuracy": {"type": ["number", "null"]},
                                                "roc_auc": {"type": ["number", "null"]}}},
                             "metrics": {"type": "object"}, "execution_provider": {"type": "string"},
                             "precision": {"type": "string", "enum": list(PRECISIONS)},
                             "quantization": {"type": "object", "description": "the card's entry of the "
                                              "precision served (how it was made, quality against FP32); "
                                              "empty for fp32"},
                             "max_batch_size": {"type": "integer"}, "max_batch_files": {"type": "integer"},
                             "max_image_bytes": {"type": "integer"}}},
}


def _json(ref: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": ref}}}}


def build_document() -> dict:
    """The OpenAPI document as a dict."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Shinsaku local detector backend", "version": __version__,
                 "description": "Judges whether an anime-style image was drawn by a person or generated "
                                "by AI. Loopback only; Host and Origin are checked; never fetches URLs."},
        "servers": [{"url": "http://127.0.0.1:8765"}],
        "security": [{}, {"token": []}],
        "components": {"schemas": SCHEMAS, "securitySchemes": {
            "token": {"type": "apiKey", "in": "header", "name": "X-Shinsaku-Token"}}},
        "paths": {
            "/v1/health": {"get": {"operationId": "health", "responses": {
                "200": _json("#/components/schemas/Health", "model loaded and warmed up"),
                "503": {**_busy("model loading, missing, corrupt or failed its warm-up"),
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}},
                **COMMON_ERRORS}}},
            "/v1/model": {"get": {"operationId": "model", "responses": {
                "200": _json("#/components/schemas/Model", "the model card and execution provider"),
                "503": BODY_ERRORS["503"], **COMMON_ERRORS}}},
            "/v1/classify": {"post": {
                "operationId": "classify",
                "requestBody": {"required": True, "content": {"image/*": binary,
                                                              "application/octet-stream": binary}},
                "responses": {"200": _json("#/components/schemas/Result", "the verdict"),
                              **BODY_ERRORS, **COMMON_ERRORS}}},
            "/v1/classify/batch": {"post": {
                "operationId": "classifyBatch",
                "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                    "type": "object", "required": ["images"],
                    "properties": {"images": {"type": "array", "minItems": 1,
                                              "items": {"type": "string", "format": "binary"}}}}}}},
                "responses": {"200": {"description": "one result or error object per file, in input order; "
                                                     "Retry-After when every file was refused as busy",
                                      "headers": {"Retry-After": {"schema": {"type": "string"},
                                                                  "description": "seconds"}},
                                      "content": {"application/json": {"schema": {
                                          "type": "object", "required": ["results"],
                                          "properties": {"results": {"type": "array", "items": {"oneOf": [
                                              {"$ref": "#/components/schemas/Result"},
                                              {"$ref": "#/components/schemas/ItemError"}]}}}}}}},
                              **BODY_ERRORS, **COMMON_ERRORS}}},
            "/v1/explain": {"post": {
                "operationId": "explain",
                "description": "the verdict with its evidence and a heat map of what drove it; about "
                               "grid**2 + 1 inferences, one explanation at a time",
                "requestBody": {"required": True, "content": {"image/*": binary,
                                                              "application/octet-stream": binary}},
                "responses": {"200": _json("#/components/schemas/Explanation", "the verdict, evidence and heat map"),
                              **BODY_ERRORS, **COMMON_ERRORS}}},
            "/v1/openapi.json": {"get": {"operationId": "openapi", "responses": {
                "200": {"description": "this document", "content": {"application/json": {"schema": {"type": "object"}}}},
                **COMMON_ERRORS}}},
        },
    }


@functools.cache
def openapi_document() -> str:
    """The OpenAPI document as JSON text."""
    return json.dumps(build_document(), indent=1)
