"""``shinsaku scan --explain``: heat-map thumbnails in the HTML report for judged images only, errors
in explanation reported in their row without stopping the scan, CSV unchanged."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from image_bytes import solid
from PIL import Image
from test_explain import drawing, png

from backend import scan
from backend.cli import EXIT_CONFIG, main
from backend.explain import GRID, THUMBNAIL_SIDE, Explanation, thumbnail_png

HEATMAP = re.compile(r'<td class="heat"><img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="heat map">')


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "imgs"
    root.mkdir()
    (root / "white.png").write_bytes(solid("white"))
    (root / "black.jpg").write_bytes(solid("black", fmt="JPEG"))
    (root / "drawing.png").write_bytes(png(drawing((320, 256))))
    (root / "broken.png").write_bytes(solid("white")[:60])
    (root / "notes.txt").write_text("not an image")
    return root


def rows(html: str) -> dict[str, str]:
    """File name -> the HTML of its report row."""
    found = re.findall(r'(<tr class="row".*?</tr>)', html, re.DOTALL)
    return {re.search(r'class="path">([^<]+)<', row).group(1).rsplit("/", 1)[-1]: row for row in found}


def test_report_has_heatmaps_for_judged_images_only(folder, fixture_model, tmp_path):
    report, out, plain = tmp_path / "report.html", tmp_path / "explained.csv", tmp_path / "plain.csv"
    assert main(["scan", str(folder), "--model", str(fixture_model), "--report", str(report), "--explain",
                 "-o", str(out), "--no-progress", "--batch-size", "2"]) == 0
    html = report.read_text()
    by_name = rows(html)
    assert set(by_name) == {"white.png", "black.jpg", "drawing.png", "broken.png", "notes.txt"}
    for name in ("white.png", "black.jpg", "drawing.png"):
        (encoded,) = HEATMAP.findall(by_name[name])
        thumb = Image.open(io.BytesIO(base64.b64decode(encoded)))
        assert thumb.format == "PNG" and thumb.size == (THUMBNAIL_SIDE, THUMBNAIL_SIDE)
        assert len(encoded) < 4 * THUMBNAIL_SIDE * (THUMBNAIL_SIDE + 1) // 3 + 2000  # bounded
    for name in ("broken.png", "notes.txt"):
        assert not HEATMAP.search(by_name[name]) and "explanation failed" not in by_name[name]
    assert html.count('alt="heat map"') == 3 and "<th>Heat map</th>" in html and f"{GRID * GRID + 1} inferences" in html
    assert not re.search(r'(src|href)="(?!data:)', html) and "<script" not in html  # self-contained
    assert main(["scan", str(folder), "--model", str(fixture_model), "-o", str(plain), "--no-progress",
                 "--batch-size", "2"]) == 0
    assert out.read_text() == plain.read_text()  # CSV unchanged by --explain


def test_a_failed_explanation_is_reported_in_its_row_and_the_scan_goes_on(folder, fixture_model, tmp_path,
                                                                          monkeypatch):
    original = scan.occlusion_map

    def fails_on_white(predict, x, **kwargs):
        if x.mean() > 0.99:
            raise RuntimeError("boom <b>")
        return original(predict, x, **kwargs)

    monkeypatch.setattr(scan, "occlusion_map", fails_on_white)
    report = tmp_path / "report.html"
    assert main(["scan", str(folder), "--model", str(fixture_model), "--report", str(report), "--explain",
                 "-o", str(tmp_path / "o.csv"), "--no-progress"]) == 0
    by_name = rows(report.read_text())
    assert "explanation failed: RuntimeError: boom &lt;b&gt;" in by_name["white.png"]
    assert not HEATMAP.search(by_name["white.png"]) and 'data-label="ai"' in by_name["white.png"]
    assert HEATMAP.search(by_name["black.jpg"]) and HEATMAP.search(by_name["drawing.png"])


def test_without_explain_no_heatmap_column(folder, fixture_model, tmp_path):
    report = tmp_path / "report.html"
    assert main(["scan", str(folder), "--model", str(fixture_model), "--report", str(report),
                 "-o", str(tmp_path / "o.csv"), "--no-progress"]) == 0
    html = report.read_text()
    assert "Heat map" not in html and 'class="heat"' not in html


def test_explain_needs_a_report(folder, fixture_model, capsys):
    assert main(["scan", str(folder), "--model", str(fixture_model), "--explain", "--no-progress"]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert "--report" in err and err.count("\n") == 1


def test_progress_counts_each_file_once_and_names_explain(folder, fixture_model, monkeypatch):
    bars = []

    class Recorder(scan.tqdm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **{**kwargs, "disable": True})
            self.kwargs, self.counted = kwargs, 0
            bars.append(self)

        def update(self, n=1):
            self.counted += n

    monkeypatch.setattr(scan, "tqdm", Recorder)
    from backend.inference import Detector
    from backend.model_card import load_card

    files = scan.collect_files([str(folder)])
    results = scan.scan_files(files, Detector(load_card(fixture_model), "cpu"), batch_size=2, explain=True)
    (bar,) = bars
    assert "explain" in bar.kwargs["desc"] and bar.counted == len(files) == len(results)
    assert sum(r.heatmap is not None for r in results) == 3


def test_thumbnail_is_the_crop_with_red_ai_and_blue_human_cells():
    delta = np.zeros((GRID, GRID), np.float32)
    delta[0, 0], delta[-1, -1] = 2.0, -2.0
    explanation = Explanation(0.5, delta, np.abs(delta) / 2.0)
    thumb = Image.open(io.BytesIO(thumbnail_png(np.full((3, 224, 224), 0.5, np.float32), explanation)))
    rgb = np.asarray(thumb.convert("RGB"), dtype=int)
    top_left, bottom_right, middle = rgb[2, 2], rgb[-3, -3], rgb[THUMBNAIL_SIDE // 2, THUMBNAIL_SIDE // 2]
    assert top_left[0] > top_left[2] + 60 and bottom_right[2] > bottom_right[0] + 60
    assert np.abs(middle - 128).max() <= 3  # untouched grey where the map is zero
