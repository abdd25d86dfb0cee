"""``shinsaku scan``: folders recursively and files, CSV/JSON, HTML report, errors listed not dropped."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from image_bytes import noise, solid

from backend.cli import EXIT_MODEL, main


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

    files = [c for c in collect_files([folder]) if c.path.endswith((".png", ".webp"))]
    results = scan_files(files, Detector(load_card(fixture_model)), progress=False)
    for candidate, result in zip(files, results):
        data = Path(candidate.path).read_bytes()
        api = client.post("/v1/classify", data=data, content_type="image/png").json
        assert api["probability_ai"] == pytest.approx(result.probability_ai, abs=1e-6)
        assert api["image_sha256"] == result.image_sha256


def test_scan_without_model_fails_cleanly(folder, tmp_path, capsys):
    assert main(["scan", str(folder), "--model", str(tmp_path / "none.json"), "--no-progress"]) == EXIT_MODEL
    err = capsys.readouterr().err
    assert "not found" in err and err.count("\n") == 1  # one line, no traceback


@pytest.fixture
def hostile(tmp_path):
    """A folder of hostile names and files: non-UTF-8 and formula names, symlinks (loop, dangling,
    outside, to a folder), a FIFO, a sparse file over the size limit, an unreadable folder, a bomb,
    a 16384 x 1 strip."""
    import os

    from PIL import Image

    root = tmp_path / "hostile"
    root.mkdir()
    (root / "ok.png").write_bytes(solid("white"))
    os.link(root / "ok.png", os.fsencode(root) + b"/caf\xe9-latin1.png")  # not UTF-8
    (root / "=HYPERLINK(\"http:x\",\"y\").png").write_bytes(b"not an image")
    (root / "loop").symlink_to(root / "loop")
    (root / "dangling.png").symlink_to(root / "nowhere.png")
    (tmp_path / "outside.png").write_bytes(solid("black"))
    (root / "outside.png").symlink_to(tmp_path / "outside.png")
    (root / "inside.png").symlink_to(root / "ok.png")
    (root / "folder-link").symlink_to(root, target_is_directory=True)
    os.mkfifo(root / "pipe.png")
    with open(root / "huge.bin", "wb") as fh:  # sparse: no disk used
        fh.truncate(2 * 1024 ** 3)
    from image_bytes import encode

    (root / "bomb.png").write_bytes(encode(Image.new("1", (20_000, 20_000)), "PNG"))
    (root / "strip.png").write_bytes(encode(Image.new("RGB", (16384, 1)), "PNG"))  # beyond 50:1
    locked = root / "locked"
    locked.mkdir()
    (locked / "secret.png").write_bytes(solid("white"))
    locked.chmod(0)
    yield root
    locked.chmod(0o755)


def test_scan_hostile_folder_finishes_and_reports_everything(hostile, fixture_model, tmp_path, capsys):
    import os

    out, report = tmp_path / "out.csv", tmp_path / "report.html"
    assert main(["scan", str(hostile), "--model", str(fixture_model), "-o", str(out), "--report", str(report),
                 "--no-progress"]) == 0
    rows = {r["path"].rsplit("/", 1)[-1]: r for r in csv.DictReader(out.read_text(encoding="utf-8").splitlines())}
    expected = {"ok.png": "", "inside.png": "", "caf\\xe9-latin1.png": "",
                '=HYPERLINK("http:x","y").png': "unsupported_media_type", "loop": "symlink_loop",
                "dangling.png": "dangling_symlink", "outside.png": "symlink_outside_folder",
                "folder-link": "not_a_regular_file", "pipe.png": "not_a_regular_file", "huge.bin": "file_too_large",
                "bomb.png": "image_too_large", "strip.png": "extreme_aspect_ratio"}
    if os.geteuid() != 0:  # root reads any folder
        expected["locked"] = "unreadable_folder"
    assert {name: rows[name]["error"] for name in expected} == expected
    assert rows["ok.png"]["label"] == "ai" and rows["caf\\xe9-latin1.png"]["image_sha256"] == rows["ok.png"]["image_sha256"]
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows.values() for cell in r.values())
    html = report.read_text(encoding="utf-8")
    assert "caf\\xe9-latin1.png" in html and "symlink_loop" in html
    assert f"total: {len(rows)}" in capsys.readouterr().err


def test_fifo_given_by_name_is_not_opened(tmp_path, fixture_model, capsys):
    import os

    os.mkfifo(tmp_path / "pipe.jpg")  # opening it for reading would block forever
    assert main(["scan", str(tmp_path / "pipe.jpg"), "--model", str(fixture_model), "--no-progress",
                 "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["error"] == "not_a_regular_file"


def test_csv_cells_are_formula_escaped():
    from backend.scan import csv_cell

    assert [csv_cell(v) for v in ("=1+1", "+1", "-1", "@SUM(A1)", "ok", 0.5, None)] == \
        ["'=1+1", "'+1", "'-1", "'@SUM(A1)", "ok", 0.5, None]


def test_formula_name_given_relative_is_escaped_in_csv(tmp_path, fixture_model, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "=cmd.png").write_bytes(solid("white"))
    assert main(["scan", "=cmd.png", "--model", str(fixture_model), "--no-progress"]) == 0
    row = next(csv.DictReader(capsys.readouterr().out.splitlines()))
    assert row["path"] == "'=cmd.png" and row["label"] == "ai"
