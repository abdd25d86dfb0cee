"""Helpers to run the backend for tests: a Flask test client on 127.0.0.1:8765 and ``shinsaku serve``
as a subprocess (used by the ``live_backend`` fixture of ``tests/conftest.py``)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from flask.testing import FlaskClient

REPO = Path(__file__).resolve().parents[2]
TEST_PORT = 8765
BASE_URL = f"http://127.0.0.1:{TEST_PORT}"


class LocalClient(FlaskClient):
    """Flask test client whose requests go to ``http://127.0.0.1:8765`` (Host header included),
    as a local browser's would; pass ``base_url`` or a ``Host`` header to change it."""

    def open(self, *args, **kwargs):
        if not args or isinstance(args[0], str):
            kwargs.setdefault("base_url", BASE_URL)
        return super().open(*args, **kwargs)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(base_url: str, proc: subprocess.Popen | None = None, timeout: float = 60.0,
                 headers: dict | None = None) -> None:
    """Poll ``GET /v1/health`` until 200. Raises ``RuntimeError`` when ``proc`` exits or on timeout."""
    import requests

    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"shinsaku serve exited with {proc.returncode}")
        try:
            response = requests.get(f"{base_url}/v1/health", headers=headers, timeout=2)
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text[:200]}"
        except requests.RequestException as exc:
            last = repr(exc)
        time.sleep(0.1)
    raise RuntimeError(f"backend at {base_url} not healthy after {timeout} s: {last}")


@contextlib.contextmanager
def start_backend(model_path: str | os.PathLike | None = None, extra_origins: str = "",
                  env: dict | None = None, timeout: float = 60.0, wait: bool = True) -> Iterator[tuple[str, subprocess.Popen]]:
    """Run ``shinsaku serve`` (waitress) as a subprocess on a free port of 127.0.0.1.

    Args:
        model_path: model card or .onnx (default: the bundled model).
        extra_origins: comma-separated origins added to the default allowed ones.
        env: further environment variables for the server (``SHINSAKU_*`` settings).
        timeout: seconds to wait for ``/v1/health`` 200 when ``wait``.

    Yields ``(base_url, process)``; the server is terminated on exit.
    """
    port = free_port()
    child_env = {**os.environ, **(env or {})}
    child_env.pop("SHINSAKU_CONFIG", None)
    if extra_origins:
        child_env["SHINSAKU_ALLOWED_ORIGINS"] = extra_origins
    cmd = [sys.executable, "-m", "backend.cli", "serve", "--port", str(port)]
    if model_path is not None:
        cmd += ["--model", str(model_path)]
    proc = subprocess.Popen(cmd, cwd=REPO, env=child_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base_url = f"http://127.0.0.1:{port}"
    try:
        if wait:
            wait_healthy(base_url, proc, timeout, {"X-Shinsaku-Token": child_env.get("SHINSAKU_TOKEN", "")})
        yield base_url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()


