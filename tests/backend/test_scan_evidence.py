"""``shinsaku scan`` with provenance evidence: the evidence column in CSV and JSON, and the HTML
report's script-free filters by label and by "metadata disagrees with the model"."""

from __future__ import annotations

import csv
import io
import json
import re

import provenance_images as pi
from PIL import Image, PngImagePlugin

from backend.cli import main
from backend.provenance import summary


def _png(color, text=None) -> bytes:
    info = PngImagePlugin.PngInfo()
    if text:
        info.add_text("parameters", text)
    buf = io.BytesIO()
    Image.new("RGB", (256, 256), color).save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def _folder(tmp_path):
    root = tmp_path / "imgs"
    root.mkdir()
    (root / "black_a1111.png").write_bytes(_png("black", pi.A1111))  # fixture model: human; metadata: AI
    (root / "white_a1111.png").write_bytes(_png("white", pi.A1111))  # both say AI
    (root / "black_plain.png").write_bytes(_png("black"))
    (root / "broken.png").write_bytes(_png("black")[:60])
    return root


def test_scan_json_and_csv_carry_evidence(tmp_path, fixture_model, capsys):
    root = _folder(tmp_path)
    out = tmp_path / "out.json"
    assert main(["scan", str(root), "--model", str(fixture_model), "--format", "json", "-o", str(out),
                 "--no-progress"]) == 0
    by_name = {r["path"].rsplit("/", 1)[-1]: r for r in json.loads(out.read_text())["results"]}
    (finding,) = by_name["black_a1111.png"]["evidence"]
    assert finding["source"] == "png:parameters" and finding["says"] == "ai"
    assert by_name["black_plain.png"]["evidence"] == []
    assert main(["scan", str(root), "--model", str(fixture_model), "--no-progress"]) == 0
    rows = {r["path"].rsplit("/", 1)[-1]: r for r in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    assert rows["black_a1111.png"]["evidence"] == "png_text (png:parameters): ai"
    assert rows["black_plain.png"]["evidence"] == "none"


def test_report_marks_disagreements_and_has_filters(tmp_path, fixture_model):
    root = _folder(tmp_path)
    report = tmp_path / "report.html"
    assert main(["scan", str(root), "--model", str(fixture_model), "--report", str(report), "-o",
                 str(tmp_path / "o.csv"), "--no-progress"]) == 0
    html = report.read_text()
    rows = re.findall(r'<tr class="row" data-label="(\w+)"( data-disagrees)?>\s*<td class="img">.*?'
                      r'<td class="path">([^<]+)</td>', html, re.DOTALL)
    marked = {path.rsplit("/", 1)[-1]: (label, bool(flag)) for label, flag, path in rows}
    assert marked == {"black_a1111.png": ("human", True), "white_a1111.png": ("ai", False),
                      "black_plain.png": ("human", False), "broken.png": ("error", False)}
    for control in ("f-all", "f-ai", "f-human", "f-uncertain", "f-error", "f-disagree"):
        assert f'id="{control}"' in html
    assert "body:has(#f-disagree:checked) tr.row:not([data-disagrees])" in html
    assert "<script" not in html


def test_summary_line():
    assert summary([]) == "none"
    assert summary([{"kind": "c2pa", "source": "c2pa:manifest", "says": "ai", "valid": False}]) == \
        "c2pa (c2pa:manifest): ai [invalid]"
