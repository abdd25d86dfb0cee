"""Shared pytest fixtures: the Flask ``app`` and ``client`` on a small fixture ONNX model, and
``live_backend``, the real ``shinsaku serve`` with the bundled model (for end-to-end tests)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# pytest puts tests/ first on sys.path, where tests/backend would shadow the backend package as a
# namespace package: the repository root goes first. Then the helpers of tests/backend.
sys.path[:0] = [str(REPO), str(REPO / "tests" / "backend")]

from backend_live import TEST_PORT, LocalClient, start_backend, wait_healthy

BUNDLED_ONNX = REPO / "backend" / "models" / "shinsaku-detector.onnx"
#: Extra allowed origins for ``live_backend`` (comma-separated, e.g. ``moz-extension://<uuid>``).
LIVE_ORIGINS_ENV = "SHINSAKU_LIVE_ALLOWED_ORIGINS"


@pytest.fixture(scope="session")
def live_backend() -> Iterator[str]:
    """The real backend: ``shinsaku serve`` under waitress with the bundled model
    (``backend/models/shinsaku-detector.onnx``), on a free port of 127.0.0.1.

    Yields its base URL, e.g. ``"http://127.0.0.1:49152"``, once ``GET /v1/health`` answers 200.
    Extra allowed origins (e.g. a Firefox ``moz-extension://<uuid>``) are read from the environment
    variable ``SHINSAKU_LIVE_ALLOWED_ORIGINS`` (comma-separated) and passed to the server as
    ``SHINSAKU_ALLOWED_ORIGINS``; the Chromium extension origin is always allowed. Skips the test
    when the bundled model is not there yet. Session-scoped: one server for the whole run.
    """
    if not BUNDLED_ONNX.exists():
        pytest.skip(f"the bundled model {BUNDLED_ONNX.relative_to(REPO)} does not exist yet")
    with start_backend(extra_origins=os.environ.get(LIVE_ORIGINS_ENV, ""), timeout=120) as (url, _):
        yield url


@pytest.fixture(scope="session")
def fixture_model(tmp_path_factory) -> Path:
    """Card path of the small fixture ONNX model (see ``tests/backend/onnx_fixture.py``)."""
    from onnx_fixture import write_model

    return write_model(tmp_path_factory.mktemp("model"))


@pytest.fixture
def make_app(fixture_model):
    """Factory ``make_app(**config) -> app`` on the fixture model, model loaded synchronously,
    ``PORT`` 8765, ``app.test_client()`` a ``LocalClient``; keyword arguments override config keys.
    Apps are closed after the test."""
    from backend import create_app

    apps = []

    def factory(**overrides):
        config = {"MODEL_PATH": str(fixture_model), "PORT": TEST_PORT, "LOAD_MODEL_ASYNC": False,
                  "TESTING": True, **overrides}
        application = create_app(config)
        application.test_client_class = LocalClient
        apps.append(application)
        return application

    yield factory
    for application in apps:
        application.extensions["shinsaku"].close()


@pytest.fixture
def app(make_app):
    """The backend app on the fixture model, with default security settings."""
    return make_app()


@pytest.fixture
def client(app):
    """A ``LocalClient`` of ``app``."""
    return app.test_client()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """Base URL of waitress, set up as ``shinsaku serve`` does (``backend.http_server``), serving
    the fixture model in this process on 127.0.0.1 (free port; queue of 16 images, cache off, at
    most 4 files per batch request)."""
    import threading

    from onnx_fixture import write_model

    from backend import create_app
    from backend.http_server import make_server

    card = write_model(tmp_path_factory.mktemp("live-model"))
    app = create_app({"MODEL_PATH": str(card), "LOAD_MODEL_ASYNC": False, "QUEUE_SIZE": 16, "CACHE_SIZE": 0,
                      "MAX_BATCH_FILES": 4})
    server = make_server(app, {**app.config, "PORT": 0})  # shinsaku serve's waitress setup, free port
    app.config["PORT"] = server.effective_port
    threading.Thread(target=server.run, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.effective_port}"
    wait_healthy(base_url, timeout=30)
    yield base_url
    server.close()
    app.extensions["shinsaku"].close()
