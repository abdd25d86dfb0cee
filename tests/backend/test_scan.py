"""``shinsaku scan``: folders recursively and files, CSV/JSON, HTML report, errors listed not dropped."""

from __future__ import annotations

import csv
import json
import re

import pytest
from image_bytes import noise, solid

from backend.cli import main


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "imgs"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "white.png").write_bytes(solid("white"))
    (root / "sub" / "black.jpg").write_bytes(solid("black", fmt="JPEG"))
    (root / "sub" / "deeper" / "noise.webp").write_bytes(noise(3, fmt="WEBP"))
    (root / "sub" / "broken.jpg").write_bytes(solid("white", size=(300, 300), fmt="JPEG")[:100])
    (root / "notes.txt").write_text("<script>alert(1)</script>")
    (root / ".hidden.png").write_bytes(solid("white"))
    return root


def test_scan_json_and_report(folder, fixture_model, tmp_path, capsys):
    out, report = tmp_path / "out.json", tmp_path / "report.html"
    missing = tmp_path / "missing.png"
    assert main(["scan", str(folder), str(missing), "--model", str(fixture_model), "--format", "json",
                 "-o", str(out), "--report", str(report), "--no-progress", "--batch-size", "2"]) == 0
    data = json.loads(out.read_text())
    by_name = {r["path"].rsplit("/", 1)[-1]: r for r in data["results"]}
    assert set(by_name) == {"white.png", "black.jpg", "noise.webp", "broken.jpg", "notes.txt", "missing.png"}
    assert by_name["white.png"]["label"] == "ai" and by_name["black.jpg"]["label"] == "human"
    assert by_name["broken.jpg"]["error"] == "corrupt_image" and by_name["broken.jpg"]["label"] is None
    assert by_name["notes.txt"]["error"] == "unsupported_media_type"
    assert by_name["missing.png"]["error"] == "unreadable_file"
    assert data["summary"] == {"total": 6, "ai": 1, "human": 1, "uncertain": 1, "error": 3}
    assert data["model"]["sha256"] == json.loads(fixture_model.read_text())["sha256"]
    html = report.read_text()
    assert "<script>alert" not in html  # paths and messages are escaped
    assert not re.search(r'(src|href)="(?!data:)', html)  # self-contained
    assert html.count('src="data:image/jpeg;base64,') == 3
    order = [m for m in re.findall(r'class="path">([^<]+)<', html)]
    assert order[0].endswith("white.png") and order[1].endswith("noise.webp") and order[2].endswith("black.jpg")
    assert 'data-count="error">3<' in html
    assert "total: 6" in capsys.readouterr().err


def test_scan_csv_to_stdout(folder, fixture_model, capsys):
    assert main(["scan", str(folder / "white.png"), str(folder / "sub"), "--model", str(fixture_model),
                 "--no-progress"]) == 0
    rows = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    assert [r["path"].rsplit("/", 1)[-1] for r in rows] == ["white.png", "black.jpg", "broken.jpg", "noise.webp"]
    assert rows[0]["label"] == "ai" and float(rows[0]["probability_ai"]) > 0.9
    assert rows[2]["error"] == "corrupt_image"


def test_scan_matches_server(folder, fixture_model, client):
    """Same model, same contract: the scan's probability equals the API's."""
    from backend.inference import Detector
    from backend.model_card import load_card
    from backend.scan import collect_files, scan_files

    files = [p for p in collect_files([folder]) if p.suffix in (".png", ".webp")]
    results = scan_files(files, Detector(load_card(fixture_model)), progress=False)
    for path, result in zip(files, results):
        api = client.post("/v1/classify", data=path.read_bytes(), content_type="image/png").json
        assert api["probability_ai"] == pytest.approx(result.probability_ai, abs=1e-6)


def test_scan_without_model_fails_cleanly(folder, tmp_path, capsys):
    assert main(["scan", str(folder), "--model", str(tmp_path / "none.json"), "--no-progress"]) == 1
    assert "not found" in capsys.readouterr().err
