"""Backend configuration: defaults, then an instance file, then ``SHINSAKU_*`` environment variables,
then the mapping given to ``create_app`` (tests).

Every key is a Flask config key. Environment values are parsed as JSON when they can be (``8765`` ->
int, ``true`` -> bool) and coerced to the default's type; ``SHINSAKU_ALLOWED_ORIGINS`` is a
comma-separated list that is ADDED to the default origins.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from backend import limits
from backend.model_card import PRECISIONS
from backend.preprocessing import DecodeLimits

PACKAGE_DIR = Path(__file__).resolve().parent
#: The bundled model card (its ``onnx_file`` names the ONNX file next to it).
BUNDLED_MODEL = PACKAGE_DIR / "models" / "shinsaku-detector.json"
#: The Chromium extension's origin, fixed by the ``key`` in the extension's manifest.
CHROME_EXTENSION_ORIGIN = "chrome-extension://ocllolngjednbkannikihobbnanlliko"
ENV_PREFIX = "SHINSAKU_"
#: Instance file read (when it exists) from Flask's instance folder or from ``$SHINSAKU_CONFIG``.
INSTANCE_FILE = "shinsaku.json"

DEFAULTS: dict[str, Any] = {
    "HOST": "127.0.0.1",  # bind address; anything but loopback requires TOKEN
    "PORT": 8765,  # TCP port, also checked in the Host header
    "MODEL_PATH": str(BUNDLED_MODEL),  # model card (.json) or .onnx with its card next to it
    "ALLOWED_ORIGINS": [CHROME_EXTENSION_ORIGIN],  # exact Origin values allowed (CORS and access)
    # also allow any Firefox add-on origin moz-extension://<uuid> (web pages cannot send one; README)
    "ALLOW_FIREFOX_EXTENSIONS": True,
    "EXTRA_ALLOWED_HOSTS": [],  # further accepted Host header values ("name:port")
    "TOKEN": "",  # shared secret expected in X-Shinsaku-Token; empty: not required
    # limits: defaults from backend/limits.json (the one definition, shared with the extension)
    "MAX_IMAGE_BYTES": limits.MAX_IMAGE_BYTES,  # largest /v1/classify body, bytes
    "MAX_BATCH_BYTES": limits.MAX_BATCH_BYTES,  # largest /v1/classify/batch body, bytes
    "MAX_BATCH_FILES": limits.MAX_BATCH_FILES,  # most files in one /v1/classify/batch request
    "MAX_PIXELS": limits.MAX_PIXELS,  # largest decoded image, pixels (width * height)
    "MAX_SIDE": limits.MAX_SIDE,  # largest image side, pixels
    "MAX_ASPECT_RATIO": float(limits.MAX_ASPECT_RATIO),  # longest / shortest side judged (422 beyond)
    "DECODE_BUDGET_BYTES": limits.DECODE_BUDGET_BYTES,  # memory concurrent decodes may hold together
    "MAX_HEADER_BYTES": limits.MAX_HEADER_BYTES,  # largest request line + headers, bytes
    "CONNECTION_LIMIT": limits.CONNECTION_LIMIT,  # open connections served at once
    "CHANNEL_TIMEOUT_S": limits.CHANNEL_TIMEOUT_S,  # idle keep-alive connections closed after, seconds
    "REQUEST_READ_TIMEOUT_S": limits.REQUEST_READ_TIMEOUT_S,  # a request must arrive whole within, seconds
    "MAX_BATCH_SIZE": 2,  # most images in one inference (dynamic batching; ~25 MB per image of RSS)
    "MAX_WAIT_MS": 5.0,  # longest a batch waits for more images while more are on their way, ms
    "QUEUE_SIZE": 64,  # images waiting for inference; beyond it requests get 503 + Retry-After
    "RETRY_AFTER_S": 1,  # Retry-After value sent with 503, seconds
    "REQUEST_TIMEOUT_S": 30.0,  # longest a request waits for its inference result, seconds
    "CACHE_SIZE": 4096,  # results kept in the LRU cache (0 disables it)
    "PROVIDER": "auto",  # "auto" (CUDA when available, else CPU), "cuda" or "cpu"
    # "fp32" (the card's model), "int8" (CPU) or "fp16" (GPU): the card's entry of that name, made by
    # `python -m training.quantize --precision int8|fp16`
    "PRECISION": "fp32",
    "INTRA_OP_THREADS": 0,  # onnxruntime threads per operator; 0: number of CPU cores
    "INTER_OP_THREADS": 1,  # onnxruntime threads across operators
    "ORT_ALLOW_SPINNING": False,  # busy-wait onnxruntime threads (faster only on an otherwise idle machine)
    "SERVER_THREADS": 8,  # waitress worker threads
    "LOAD_MODEL_ASYNC": True,  # load the model in the background (health is 503 until ready)
}


class ConfigError(ValueError):
    """An invalid configuration (for example a non-loopback bind without a token)."""


#: Keys that must be positive numbers.
POSITIVE = ("MAX_IMAGE_BYTES", "MAX_BATCH_BYTES", "MAX_BATCH_FILES", "MAX_BATCH_SIZE", "QUEUE_SIZE", "MAX_PIXELS",
            "MAX_SIDE", "MAX_ASPECT_RATIO", "SERVER_THREADS", "DECODE_BUDGET_BYTES", "MAX_HEADER_BYTES",
            "CONNECTION_LIMIT", "CHANNEL_TIMEOUT_S", "REQUEST_READ_TIMEOUT_S", "REQUEST_TIMEOUT_S")
PROVIDERS = ("auto", "cuda", "cpu")


def _coerce(key: str, value: Any) -> Any:
    """``value`` converted to the type of ``DEFAULTS[key]``. Raises ``ConfigError`` naming the key
    when it cannot be (``SHINSAKU_PORT=abc``)."""
    try:
        return _convert(key, value)
    except (TypeError, ValueError) as exc:
        kind = type(DEFAULTS.get(key)).__name__
        raise ConfigError(f"{key} must be {'an' if kind == 'int' else 'a'} {kind}, got {value!r}") from exc


def _convert(key: str, value: Any) -> Any:
    default = DEFAULTS.get(key)
    if isinstance(value, str) and not isinstance(default, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            pass
    if isinstance(default, bool):
        return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")
    if isinstance(default, int) and not isinstance(value, bool):
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"{value} is not a whole number")
        return int(value)
    if isinstance(default, float):
        return float(value)
    if isinstance(default, str):
        return str(value)
    if isinstance(default, list):
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",")]
        return [str(v) for v in value if str(v)]
    return value


def env_config(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The ``SHINSAKU_*`` settings of ``environ`` (default ``os.environ``) as config keys (prefix
    removed, values coerced). ``build_config`` adds their ``ALLOWED_ORIGINS`` to the defaults."""
    environ = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name == "SHINSAKU_CONFIG":
            continue
        key = name[len(ENV_PREFIX):]
        if key in DEFAULTS:
            out[key] = _coerce(key, raw)
    return out


def instance_config(instance_path: str | os.PathLike | None) -> dict[str, Any]:
    """Settings from the JSON instance file: ``$SHINSAKU_CONFIG`` if set, else
    ``<instance_path>/shinsaku.json`` when it exists. Raises ``ConfigError`` on invalid JSON."""
    path = os.environ.get("SHINSAKU_CONFIG") or (
        os.path.join(instance_path, INSTANCE_FILE) if instance_path else None)
    if not path or not os.path.isfile(path):
        return {}
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read the instance file {path}: {exc}") from exc
    return {key: _coerce(key, value) for key, value in data.items() if key in DEFAULTS}


def is_loopback(host: str) -> bool:
    """True when ``host`` (an IP address or ``localhost``) only reaches this machine."""
    if host.strip("[]") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def build_config(overrides: Mapping[str, Any] | None = None,
                 instance_path: str | os.PathLike | None = None,
                 environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Merge defaults < instance file < environment < ``overrides`` and validate.

    Origins from the instance file and the environment are added to the default ones; ``overrides``
    replace them. Raises ``ConfigError`` when the bind address is not loopback and no TOKEN is set,
    when a value has the wrong type, a size, count or time is not positive, the port is outside
    1-65535 or the provider or precision unknown.
    """
    config = {key: (list(value) if isinstance(value, list) else value) for key, value in DEFAULTS.items()}
    for layer in (instance_config(instance_path), env_config(environ)):
        origins = layer.pop("ALLOWED_ORIGINS", [])
        config.update(layer)
        config["ALLOWED_ORIGINS"] += [o for o in origins if o not in config["ALLOWED_ORIGINS"]]
    for key, value in (overrides or {}).items():
        config[key] = _coerce(key, value) if key in DEFAULTS else value
    if not is_loopback(config["HOST"]) and not config["TOKEN"]:
        raise ConfigError(f"binding to {config['HOST']} (not loopback) requires SHINSAKU_TOKEN")
    for key in POSITIVE:
        if config[key] <= 0:
            raise ConfigError(f"{key} must be positive, got {config[key]}")
    if not 1 <= config["PORT"] <= 65535:
        raise ConfigError(f"PORT must be between 1 and 65535, got {config['PORT']}")
    if config["PROVIDER"] not in PROVIDERS:
        raise ConfigError(f"PROVIDER must be one of {', '.join(PROVIDERS)}, got {config['PROVIDER']!r}")
    if config["PRECISION"] not in PRECISIONS:
        raise ConfigError(f"PRECISION must be one of {', '.join(PRECISIONS)}, got {config['PRECISION']!r}")
    if "null" in config["ALLOWED_ORIGINS"] or "*" in config["ALLOWED_ORIGINS"]:
        raise ConfigError("ALLOWED_ORIGINS may not contain 'null' or '*'")
    return config


def decode_limits(config: Mapping[str, Any]) -> DecodeLimits:
    """The image limits of ``config`` for ``backend.preprocessing``: ``MAX_PIXELS`` (pixels, width *
    height), ``MAX_SIDE`` (pixels) and ``MAX_ASPECT_RATIO`` (long side / short side). Used by
    ``serve`` and ``scan`` alike; training's own decoding keeps ``DecodeLimits()`` (no ratio limit)."""
    return DecodeLimits(max_pixels=config["MAX_PIXELS"], max_side=config["MAX_SIDE"],
                        max_aspect_ratio=config["MAX_ASPECT_RATIO"])
