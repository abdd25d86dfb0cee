"""``shinsaku`` CLI: serve under waitress (subprocess), forwarding to training, no torch for serve/scan."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import types

import pytest
import requests
from backend_live import REPO, start_backend
from image_bytes import solid
from onnx_fixture import write_model

from backend.cli import main


@pytest.mark.parametrize("command", ["train", "evaluate", "export"])
def test_training_commands_are_forwarded(monkeypatch, command):
    seen = {}

    def get_args_parser():
        parser = argparse.ArgumentParser(add_help=False)
        parser.add_argument("--epochs", type=int)
        parser.add_argument("--help", action="store_true")
        return parser

    module = types.SimpleNamespace(get_args_parser=get_args_parser, main=lambda args: seen.setdefault("args", args))
    monkeypatch.setitem(sys.modules, f"training.{command}", module)
    assert main([command, "--epochs", "3", "--help"]) == 0
    assert seen["args"].epochs == 3 and seen["args"].help is True


def test_serve_and_scan_do_not_import_torch(fixture_model):
    code = ("import sys, backend.cli, backend.scan\n"
            "from backend import create_app\n"
            f"app = create_app({{'MODEL_PATH': {str(fixture_model)!r}, 'LOAD_MODEL_ASYNC': False}})\n"
            "assert app.extensions['shinsaku'].state == 'ok'\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision', 'training')))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_serve_answers_a_curl_style_request(fixture_model):
    with start_backend(model_path=fixture_model) as (url, _):
        response = requests.post(f"{url}/v1/classify", data=solid("white", fmt="JPEG"),
                                 headers={"Content-Type": "image/jpeg"}, timeout=10)
        assert response.status_code == 200 and response.json()["label"] == "ai"
        assert requests.get(f"{url}/v1/model", timeout=5).json()["name"] == "shinsaku-fixture"
        wrong = requests.put(f"{url}/v1/classify", data=b"x", timeout=5)
        assert wrong.status_code == 405 and wrong.headers["Allow"] and wrong.json()["error"]


def test_serve_checks_sha256_at_start(tmp_path):
    card = write_model(tmp_path, sha256="f" * 64)
    with start_backend(model_path=card, wait=False) as (url, proc):
        deadline, health = time.monotonic() + 60, None
        while time.monotonic() < deadline:
            try:
                health = requests.get(f"{url}/v1/health", timeout=2)
                if health.json()["status"] == "error":
                    break
            except requests.RequestException:
                pass
            time.sleep(0.1)
        assert health is not None and health.status_code == 503
        assert "sha256 mismatch" in health.json()["message"]
        assert proc.poll() is None  # still serving, never crashing


def test_serve_refuses_public_bind_without_token(fixture_model):
    out = subprocess.run([sys.executable, "-m", "backend.cli", "serve", "--host", "0.0.0.0", "--model",
                          str(fixture_model)], cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
                         env={k: v for k, v in __import__("os").environ.items() if k != "SHINSAKU_TOKEN"})
    assert out.returncode == 2 and "TOKEN" in one_line(out.stderr)


@pytest.mark.e2e
def test_real_model_end_to_end(live_backend):
    """The README's promise: the bundled model serves and a curl-style request gets a label."""
    card = json.loads((REPO / "backend" / "models" / "shinsaku-detector.json").read_text())
    model = requests.get(f"{live_backend}/v1/model", timeout=10).json()
    assert model["sha256"] == card["sha256"] and model["tta_views"] == card["tta_views"]
    assert model["headline"] == card["headline"]  # the card's headline travels to the API
    assert "leave-source-out" in model["headline"]["protocol"]
    assert 0 <= model["headline"]["false_accusation_rate"] <= 1
    for color in ("white", "black"):
        response = requests.post(f"{live_backend}/v1/classify", data=solid(color, size=(1024, 1024), fmt="JPEG"),
                                 headers={"Content-Type": "image/jpeg"}, timeout=30)
        assert response.status_code == 200
        body = response.json()
        assert body["label"] in ("ai", "human", "uncertain") and 0 <= body["probability_ai"] <= 1
        assert body["model_sha256"] == card["sha256"]


@pytest.mark.e2e
def test_real_model_batched_equals_single():
    """Dynamic batching never changes a verdict: the bundled model gives the single-image result in
    batches of 2 and 4, up to float32 rounding (onnxruntime may pick other kernels for another batch
    size: 1 ulp, about 3e-8 here), and the same labels."""
    import numpy as np

    from backend.inference import Detector
    from backend.model_card import label_for, load_card

    card_path = REPO / "backend" / "models" / "shinsaku-detector.json"
    if not card_path.with_suffix(".onnx").exists():
        pytest.skip("the bundled model backend/models/shinsaku-detector.onnx does not exist yet")
    detector = Detector(load_card(card_path))
    x = np.random.default_rng(0).random((4, 3, 224, 224), dtype=np.float32)
    single = np.array([detector.predict(x[i:i + 1])[0] for i in range(4)])
    card = load_card(card_path)
    for batched in (np.concatenate([detector.predict(x[:2]), detector.predict(x[2:])]), detector.predict(x)):
        np.testing.assert_allclose(batched, single, rtol=0, atol=1e-6)
        assert [label_for(float(p), card.threshold, card.uncertain_band) for p in batched] == \
            [label_for(float(p), card.threshold, card.uncertain_band) for p in single]


def run_serve(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    child_env = {k: v for k, v in os.environ.items() if not k.startswith("SHINSAKU_")}
    return subprocess.run([sys.executable, "-m", "backend.cli", "serve", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=60, check=False, env={**child_env, **(env or {})})


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if "shinsaku serve:" in line]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def test_busy_port_is_one_line_and_its_own_exit_status(fixture_model):
    import socket

    from backend.cli import EXIT_ADDRESS

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        out = run_serve("--port", str(taken.getsockname()[1]), "--model", str(fixture_model))
    assert out.returncode == EXIT_ADDRESS
    assert "already in use" in one_line(out.stderr).lower() and "serving on" not in out.stderr


@pytest.mark.parametrize("env, words", [({"SHINSAKU_PORT": "abc"}, "PORT must be an int"),
                                        ({"SHINSAKU_PORT": "70000"}, "PORT must be between"),
                                        ({"SHINSAKU_QUEUE_SIZE": "0"}, "QUEUE_SIZE must be positive")])
def test_bad_configuration_values_are_one_line(fixture_model, env, words):
    from backend.cli import EXIT_CONFIG

    out = run_serve("--model", str(fixture_model), env=env)
    assert out.returncode == EXIT_CONFIG and words in one_line(out.stderr)


def test_missing_model_is_one_line_and_its_own_exit_status(tmp_path):
    from backend.cli import EXIT_MODEL

    out = run_serve("--model", str(tmp_path / "nothing.json"))
    assert out.returncode == EXIT_MODEL and "not found" in one_line(out.stderr)


def test_make_serve_takes_a_port():
    out = subprocess.run(["make", "-n", "serve", "PORT=9123"], cwd=REPO, capture_output=True, text=True, timeout=30,
                         check=False)
    assert "shinsaku serve --port 9123" in out.stdout
