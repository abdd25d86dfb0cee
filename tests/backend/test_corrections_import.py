"""``shinsaku corrections import``: the extension's CSV and JSON exports plus saved images become a
data root that ``training.data.load_data`` accepts; re-imports add nothing twice; bad input is one
line and exit status 2."""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from backend_live import REPO
from PIL import Image

from backend.cli import main
from backend.corrections_import import MANIFEST_COLUMNS, import_corrections

#: The options page's CSV columns (extension/src/utils/corrections.js, CORRECTION_COLUMNS).
COLUMNS = ("decided_at", "page_url", "image_url", "image_sha256", "model_label", "probability_ai",
           "model_version", "user_label", "decision")


def save(folder: Path, name: str, shade: int, fmt: str = "PNG") -> str:
    """Save a small image under ``folder`` and return its sha256."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (48, 32), (shade, 255 - shade, 90)).save(path, fmt)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def row(sha: str, label: str, page: str = "https://www.pixiv.net/artworks/1", **more) -> dict:
    decision = {"ai": "confirmed_ai", "human": "confirmed_human", "": "follow_up"}[label]
    return {"decided_at": "2025-05-01T10:00:00.000Z", "page_url": page, "image_url": f"{page}/img.png",
            "image_sha256": sha, "model_label": "human" if label == "ai" else "ai", "probability_ai": 0.42,
            "model_version": "2.0.0", "user_label": label, "decision": decision, **more}


def write_csv(path: Path, rows: list[dict]) -> Path:
    """As the extension writes it: RFC 4180, CRLF, every column."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_json(path: Path, rows: list[dict]) -> Path:
    path.write_text(json.dumps({"exported_at": "2025-05-02T00:00:00.000Z", "corrections": rows}, indent=1))
    return path


def manifest(root: Path) -> list[dict]:
    with open(root / "manifest.tsv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


@pytest.fixture
def images(tmp_path) -> tuple[Path, list[str]]:
    """A saved-images folder (nested) with a PNG, a JPEG and a WebP; their sha256s."""
    folder = tmp_path / "saved"
    return folder, [save(folder, "a.png", 10), save(folder / "deep" / "er", "b b.jpg", 120, "JPEG"),
                    save(folder, "c.webp", 240, "WEBP")]


def test_csv_export_becomes_a_data_root_training_loads(tmp_path, images):
    folder, (png, jpg, webp) = images
    export = write_csv(tmp_path / "c.csv", [row(png, "ai", image_url="'=1+2"),
                                           row(jpg, "human", "https://x.com/u/status/1"),
                                           row(webp, "ai", "https://x.com/u/status/2")])
    out = tmp_path / "root"
    report = import_corrections(export, folder, out)
    assert len(report.imported) == 3 and not (report.not_found or report.invalid or report.refused)
    rows = manifest(out)
    assert tuple(rows[0]) == MANIFEST_COLUMNS
    by_sha = {r["sha256"]: r for r in rows}
    assert by_sha[png]["file"] == f"ai/corrections-pixiv.net-ai/{png[:10]}_a.png"
    assert by_sha[jpg]["file"] == f"human/corrections-x.com-human/{jpg[:10]}_b_b.jpg"
    assert by_sha[webp]["source"] == "corrections-x.com-ai"  # one source per site and label
    assert (by_sha[png]["width"], by_sha[png]["height"], by_sha[png]["format"]) == ("48", "32", "PNG")
    assert by_sha[jpg]["source_repo"] == "https://x.com/u/status/1" and by_sha[jpg]["source_sha256"] == jpg
    assert by_sha[png]["path_in_source"] == "=1+2"  # the extension's CSV formula guard undone
    assert len({(r["source"], r["label"]) for r in rows}) == len({r["source"] for r in rows})  # one class each
    for r in rows:
        assert hashlib.sha256((out / r["file"]).read_bytes()).hexdigest() == r["sha256"]
    data = pytest.importorskip("training.data")
    samples = data.load_data([out])
    assert {(s.file, s.label, s.source) for s in samples} == {
        (r["file"], data.LABELS[r["label"]], r["source"]) for r in rows}
    assert all(s.path.is_file() for s in samples)


def test_json_export_reimport_adds_only_new_images(tmp_path, images, capsys):
    folder, (png, jpg, webp) = images
    out = tmp_path / "root"
    export = write_json(tmp_path / "c.json", [row(png, "ai"), row(jpg, "human")])
    assert main(["corrections", "import", str(export), "--images", str(folder), "--output", str(out)]) == 0
    assert "imported 2 image(s)" in capsys.readouterr().out
    before = (out / "manifest.tsv").read_bytes()
    assert main(["corrections", "import", str(export), "--images", str(folder), "--output", str(out)]) == 0
    assert "imported 0" in (text := capsys.readouterr().out) and "already in the output: 2" in text
    assert (out / "manifest.tsv").read_bytes() == before
    export = write_json(tmp_path / "c2.json", [row(webp, "human"), row(png, "ai"), row(webp, "human")])
    report = import_corrections(export, folder, out, source="moderation-team")
    assert report.imported == [f"human/moderation-team-human/{webp[:10]}_c.webp"]
    assert len(report.already) == 1 and len(report.repeated) == 1
    assert [r["sha256"] for r in manifest(out)] == [png, jpg, webp]


def test_missing_images_invalid_rows_and_conflicts_are_reported(tmp_path, images, capsys):
    folder, (png, jpg, webp) = images
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    broken = hashlib.sha256((folder / "broken.png").read_bytes()).hexdigest()
    out = tmp_path / "root"
    import_corrections(write_csv(tmp_path / "first.csv", [row(jpg, "human")]), folder, out)
    rows = [row("f" * 64, "ai"), row(webp, "ai"), row(webp, "human"), row(jpg, "ai"), row(png, ""),
            row("xyz", "ai"), row(png, "ai", user_label="maybe"), row(broken, "ai"), row(png, "ai")]
    export = write_csv(tmp_path / "c.csv", rows)
    assert main(["corrections", "import", str(export), "--images", str(folder), "--output", str(out)]) == 0
    text = capsys.readouterr().out
    assert "imported 1 image(s)" in text
    assert "not found in --images (no file with that sha256): 1: ffffffffff" in text
    assert "row 7: image_sha256 'xyz' is not 64 hex digits" in text
    assert "row 8: user_label 'maybe' is neither ai nor human" in text
    assert f"{webp[:10]}: labelled ai (row 3), human (row 4) in the export; not imported" in text
    assert f"{jpg[:10]}: ai in the export, human in the output manifest" in text
    assert "refused images: 1" in text and f"{broken[:10]} (" in text and "not an image" in text
    assert "without a label (needs follow-up, or no decision): 1" in text
    assert {r["sha256"]: r["label"] for r in manifest(out)} == {jpg: "human", png: "ai"}


def test_images_already_in_known_data_are_not_imported(tmp_path, images):
    folder, (png, jpg, _) = images
    known = tmp_path / "shared"
    known.mkdir()
    (known / "manifest.tsv").write_text("file\tlabel\tsource\tsha256\n"
                                        f"ai/s/a.png\tai\ts\t{png}\nhuman/s/b.jpg\thuman\ts\t{jpg}\n")
    export = write_json(tmp_path / "c.json", [row(png, "ai"), row(jpg, "ai")])
    report = import_corrections(export, folder, tmp_path / "root", known_roots=(known,))
    assert not report.imported and len(report.known) == 1 and len(report.conflicts) == 1
    assert not (tmp_path / "root").exists()


def test_the_review_pages_export_is_read_by_its_decisions(tmp_path, images):
    folder, (png, jpg, webp) = images
    results = [{"page_url": "https://danbooru.donmai.us/posts/1", "image_url": "https://cdn/x.png",
                "image_sha256": sha, "label": "ai", "decision": decision}
               for sha, decision in ((png, "confirmed_human"), (jpg, None), (webp, "follow_up"))]
    export = tmp_path / "review.json"
    export.write_text(json.dumps({"page": {"url": "https://danbooru.donmai.us/posts/1"}, "results": results}))
    report = import_corrections(export, folder, tmp_path / "root")
    assert report.imported == [f"human/corrections-danbooru.donmai.us-human/{png[:10]}_a.png"] and report.unlabelled == 2


@pytest.mark.parametrize("content, message", [
    (None, "cannot read"),
    ("{not json", "is not valid JSON"),
    ('{"exported_at": "x"}', "no 'corrections' list"),
    ("path,label\na.png,ai\n", "the CSV header lacks image_sha256"),
    (b"\xff\xfe\x00bad", "is not UTF-8 text"),
])
def test_unusable_exports_fail_in_one_line(tmp_path, capsys, content, message):
    export = tmp_path / "export.csv"
    if content is not None:
        export.write_bytes(content if isinstance(content, bytes) else content.encode())
    (tmp_path / "saved").mkdir()
    status = main(["corrections", "import", str(export), "--images", str(tmp_path / "saved"),
                   "--output", str(tmp_path / "root")])
    err = capsys.readouterr().err.strip()
    assert status == 2 and message in err and "\n" not in err and err.startswith("shinsaku corrections import: ")
    assert not (tmp_path / "root").exists()


@pytest.mark.parametrize("problem", ["images", "source", "output"])
def test_unusable_options_fail_in_one_line(tmp_path, images, capsys, problem):
    folder, (png, _, _) = images
    export = write_csv(tmp_path / "c.csv", [row(png, "ai")])
    out = tmp_path / "root"
    argv = ["corrections", "import", str(export), "--images", str(folder), "--output", str(out)]
    if problem == "images":
        argv[4] = str(tmp_path / "nowhere")
    elif problem == "source":
        argv += ["--source", "../escape"]
    else:
        out.mkdir()
        (out / "manifest.tsv").write_text("file\tlabel\tsource\n")
    assert main(argv) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_corrections_import_does_not_import_torch():
    code = "import sys, backend.cli, backend.corrections_import\nassert 'torch' not in sys.modules\n"
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)
