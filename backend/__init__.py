"""Shinsaku local inference backend: ``create_app`` builds the Flask app (API v1).

Importing this package imports nothing heavy: Flask and onnxruntime are loaded by ``create_app``, so
``training`` can import ``backend.preprocessing`` cheaply.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__version__ = "0.1.0"


def create_app(config: Mapping[str, Any] | None = None):
    """Build the Flask app.

    Configuration: ``backend.config.DEFAULTS``, then the instance file (``instance/shinsaku.json`` or
    ``$SHINSAKU_CONFIG``), then ``SHINSAKU_*`` environment variables, then ``config``. The model is
    loaded in a background thread unless ``LOAD_MODEL_ASYNC`` is false; ``/v1/health`` answers 503
    until it is loaded and warmed up. The ``Service`` is ``app.extensions["shinsaku"]``.

    Raises:
        backend.config.ConfigError: invalid configuration (e.g. non-loopback bind without token).
    """
    from flask import Flask

    from backend.api_v1 import bp
    from backend.config import build_config
    from backend.errors import register_error_handlers
    from backend.security import init_security
    from backend.service import Service

    app = Flask(__name__, instance_relative_config=True)
    app.config.update(build_config(config, instance_path=app.instance_path))
    app.config["MAX_CONTENT_LENGTH"] = max(app.config["MAX_BATCH_BYTES"], app.config["MAX_IMAGE_BYTES"])
    app.config["MAX_FORM_PARTS"] = app.config["MAX_BATCH_FILES"] + 16
    app.json.sort_keys = False
    register_error_handlers(app)
    init_security(app)
    app.register_blueprint(bp)
    service = Service(app.config)
    app.extensions["shinsaku"] = service
    service.start()
    return app
