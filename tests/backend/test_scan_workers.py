"""``shinsaku scan --workers N``: decoding runs in N threads at once, and the results (labels,
probabilities, errors, order) are identical to one worker."""

from __future__ import annotations

import json
import threading
from dataclasses import asdict

import pytest
from image_bytes import noise, solid

from backend import scan
from backend.cli import main
from backend.inference import Detector
from backend.model_card import load_card
from backend.walk import collect_files


@pytest.fixture
def mixed_folder(tmp_path):
    root = tmp_path / "mixed"
    root.mkdir()
    for i in range(9):
        (root / f"noise{i}.png").write_bytes(noise(i, fmt="PNG" if i % 2 else "JPEG"))
    (root / "white.webp").write_bytes(solid("white", fmt="WEBP"))
    (root / "broken.jpg").write_bytes(solid("black", size=(300, 300), fmt="JPEG")[:120])
    (root / "text.png").write_text("not an image")
    return root


def test_results_identical_to_one_worker(mixed_folder, fixture_model):
    detector = Detector(load_card(fixture_model), provider="cpu")
    files = collect_files([str(mixed_folder)])
    one = scan.scan_files(files, detector, batch_size=4, progress=False, thumbnails=True, workers=1)
    many = scan.scan_files(files, detector, batch_size=4, progress=False, thumbnails=True, workers=3)
    assert [asdict(r) for r in many] == [asdict(r) for r in one]
    assert sum(r.error is not None for r in one) == 2 and sum(r.label is not None for r in one) == 10


def test_workers_decode_concurrently(mixed_folder, fixture_model, monkeypatch):
    # every decode waits until a second one has started: one worker would break the barrier
    barrier, original = threading.Barrier(2, timeout=10), scan._prepare

    def prepare_in_pairs(*args, **kwargs):
        barrier.wait()
        return original(*args, **kwargs)

    monkeypatch.setattr(scan, "_prepare", prepare_in_pairs)
    detector = Detector(load_card(fixture_model), provider="cpu")
    files = collect_files([str(mixed_folder)])[:8]
    results = scan.scan_files(files, detector, batch_size=4, progress=False, workers=2)
    assert len(results) == 8 and all(r.label or r.error for r in results)


def test_cli_workers_option(mixed_folder, fixture_model, tmp_path):
    outputs = []
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}.json"
        assert main(["scan", str(mixed_folder), "--model", str(fixture_model), "--format", "json", "-o", str(out),
                     "--no-progress", "--workers", workers]) == 0
        outputs.append(json.loads(out.read_text()))
    assert outputs[0] == outputs[1] and outputs[0]["summary"]["total"] == 12
    assert outputs[0]["model"]["precision"] == "fp32"
    with pytest.raises(SystemExit) as exc:
        main(["scan", str(mixed_folder), "--workers", "0"])
    assert exc.value.code == 2
