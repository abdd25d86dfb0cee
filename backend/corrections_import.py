"""``shinsaku corrections import``: a corrections export plus the images the user saved, as a data
root that ``shinsaku train --extra-data ROOT`` includes (``training.data.load_data``).

The root has the layout of ``../shared/data``: ``ROOT/manifest.tsv`` with its columns
(``MANIFEST_COLUMNS``) and the images at ``ROOT/<label>/<source>/<sha10>_<name>.<ext>``, the
label being the person's. Each correction is matched to an image file by the SHA-256 of the file's
bytes (the export's ``image_sha256``), searching the images folder recursively. The source is
``corrections-<host of the page>-<label>`` (or ``<--source>-<label>``): one per site and label,
so leave-source-out holds a site's AI (or human) images out together, and every source keeps one
class as in ``../shared/data`` (``training.protocol``'s per-source table reads a source's class
from its first image). Provenance columns: ``source_repo`` the page URL, ``path_in_source`` the
image URL, ``commit`` empty, ``stored_as`` ``original``. Re-importing adds only new images (by
sha256); an image labelled both ways is reported and not imported. Never imports torch.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from backend.cache import image_key
from backend.config import DEFAULTS, decode_limits
from backend.corrections import Correction, CorrectionsError, read_export
from backend.limits import MAX_IMAGE_BYTES
from backend.preprocessing import ImageError, decode_opened, open_image
from backend.provenance import extract
from backend.walk import FileRefused, collect_files, display_path, read_limited

MANIFEST_COLUMNS = ("file", "label", "source", "source_repo", "commit", "path_in_source", "sha256", "width",
                    "height", "format", "generator_or_artist_note", "license_of_source", "stored_as",
                    "has_generation_metadata", "source_sha256")
EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif", "BMP": ".bmp"}
DEFAULT_OUTPUT = ".devdata/corrections"
_SOURCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")
SHOWN = 10  # entries listed per kind in the summary


@dataclass
class ImportReport:
    """The outcome of ``import_corrections``: ``imported`` manifest file paths; the other lists are
    one line each (sha256 prefixes of 10 hex digits and why); ``rows`` the output manifest's rows."""

    output: Path
    rows: int = 0
    imported: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    unlabelled: int = 0
    already: list[str] = field(default_factory=list)
    repeated: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    known: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    unread_files: int = 0


def source_for(correction: Correction, name: str | None = None) -> str:
    """``<name>-<label>``, ``name`` by default ``corrections-<host>`` of the page URL (else of the
    image URL; ``www.`` dropped) or ``corrections-unknown``."""
    if name:
        return f"{name}-{correction.user_label}"
    for url in (correction.page_url, correction.image_url):
        try:
            host = (urlsplit(url).hostname or "").removeprefix("www.")
        except ValueError:
            host = ""
        host = re.sub(r"[^a-z0-9.-]+", "-", host).strip(".-")
        if host:
            return f"corrections-{host}-{correction.user_label}"
    return f"corrections-unknown-{correction.user_label}"


def read_manifest(root: Path, required: bool) -> list[dict[str, str]]:
    """The rows of ``root/manifest.tsv`` ([] when absent and not ``required``).

    Raises:
        CorrectionsError: absent when ``required``, unreadable, or (not ``required``: the output)
            with columns other than ``MANIFEST_COLUMNS``.
    """
    path = Path(root) / "manifest.tsv"
    if not path.exists() and not required:
        return []
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh, delimiter="\t")
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CorrectionsError(f"cannot read {path}: {exc}") from None
    if not required and tuple(reader.fieldnames or ()) != MANIFEST_COLUMNS:
        raise CorrectionsError(f"{path} has other columns than ../shared/data/manifest.tsv; choose another --output")
    return rows


def find_images(folder: Path, wanted: set[str]) -> tuple[dict[str, str], int]:
    """Path of a file whose bytes have each wanted sha256, searching ``folder`` recursively (sorted
    paths: the first match wins), and the number of entries not read (links leaving the folder,
    special files, unreadable files, files over ``MAX_IMAGE_BYTES``)."""
    found: dict[str, str] = {}
    unread = 0
    for candidate in collect_files([folder]):
        if candidate.error:
            unread += 1
            continue
        try:
            sha = image_key(read_limited(candidate.path, MAX_IMAGE_BYTES))
        except OSError:  # FileRefused included
            unread += 1
            continue
        if sha in wanted:
            found.setdefault(sha, candidate.path)
    return found, unread


def _note(c: Correction) -> str:
    """``generator_or_artist_note``: the decision, its time and the model's answer."""
    said = "the model's answer not recorded"
    if c.model_label:
        said = f"model {c.model_version or '(version unknown)'} said {c.model_label}"
        said += f" (P(AI) {c.probability_ai})" if c.probability_ai else ""
    return f"Shinsaku extension correction ({c.decision or 'user_label'}, {c.decided_at or 'time unknown'}): {said}"


def manifest_row(c: Correction, path: str, source: str, known_sha: str) -> tuple[dict[str, str], bytes]:
    """The manifest row and bytes of the image at ``path`` for correction ``c``.

    Raises:
        ImageError: not decodable within the backend's limits (``backend.config.DEFAULTS``).
        OSError: unreadable; ``FileRefused`` when it changed since it was hashed (sha256 differs).
    """
    data = read_limited(path, MAX_IMAGE_BYTES)
    if image_key(data) != known_sha:
        raise FileRefused("changed", "the file changed while importing")
    img = open_image(data, limits=decode_limits(DEFAULTS))
    fmt, (width, height) = img.format, img.size
    decode_opened(img)
    stem = Path(path).stem.removeprefix(f"{known_sha[:10]}_")  # a file saved from a data root
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._")[:60] or "image"
    ai_metadata = any(f.says == "ai" and not f.error for f in extract(data))
    row = {"file": f"{c.user_label}/{source}/{c.image_sha256[:10]}_{stem}{EXTENSIONS[fmt]}",
           "label": c.user_label, "source": source, "source_repo": c.page_url, "commit": "",
           "path_in_source": c.image_url, "sha256": c.image_sha256, "width": str(width), "height": str(height),
           "format": fmt, "generator_or_artist_note": _note(c), "license_of_source": "unknown (saved from the page)",
           "stored_as": "original", "has_generation_metadata": "yes" if ai_metadata else "no",
           "source_sha256": c.image_sha256}
    return {k: re.sub(r"[\t\r\n]+", " ", v) for k, v in row.items()}, data


def _write_image(output: Path, file: str, data: bytes) -> None:
    """Write one image at ``output / file``. Raises ``CorrectionsError`` when that fails."""
    try:
        (output / file).parent.mkdir(parents=True, exist_ok=True)
        (output / file).write_bytes(data)
    except OSError as exc:
        raise CorrectionsError(f"cannot write {output / file}: {exc.strerror or exc}") from None


def _write_manifest(output: Path, rows: list[dict[str, str]]) -> None:
    """Write the whole manifest atomically (a temporary file renamed). Raises ``OSError``."""
    temporary = output / "manifest.tsv.tmp"
    with open(temporary, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, MANIFEST_COLUMNS, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    os.replace(temporary, output / "manifest.tsv")


def _importable(group: list[Correction], existing: dict[str, dict], known: dict[str, tuple[str, dict]],
                report: ImportReport) -> bool:
    """Whether the corrections of one image (``group``, same sha256) are to be imported; the
    others are recorded in ``report`` as conflicts, repeats, already imported or known."""
    c, short = group[0], group[0].image_sha256[:10]
    labels = {g.user_label for g in group}
    if len(labels) > 1:
        places = ", ".join(f"{g.user_label} ({g.where})" for g in group)
        report.conflicts.append(f"{short}: labelled {places} in the export; not imported")
        return False
    report.repeated += [f"{short} ({g.where})" for g in group[1:]]
    if c.image_sha256 in existing:
        row = existing[c.image_sha256]
        if row["label"] == c.user_label:
            report.already.append(short)
        else:
            report.conflicts.append(f"{short}: {c.user_label} in the export, {row['label']} in the output "
                                    f"manifest ({row['file']}, kept)")
        return False
    if c.image_sha256 in known:
        root, row = known[c.image_sha256]
        kind = report.known if row.get("label") == c.user_label else report.conflicts
        kind.append(f"{short}: {c.user_label} in the export, {row.get('label')} in {root} ({row.get('file')}); "
                    "not imported")
        return False
    return True


def import_corrections(export: Path, images: Path, output: Path = Path(DEFAULT_OUTPUT), source: str | None = None,
                       known_roots: tuple[Path, ...] = ()) -> ImportReport:
    """Add the corrections of ``export`` whose image is in ``images`` to the data root ``output``.

    ``source``: the name that replaces ``corrections-<host>`` in every row's source (``source_for``);
    ``known_roots``: data roots (e.g. ``../shared/data``) whose images, by ``sha256`` or
    ``source_sha256``, are not imported again (a different label there is reported as a conflict).

    Raises:
        CorrectionsError: unusable input: the export (``read_export``), a missing images folder, a bad
            ``source``, an unreadable known root, an output manifest of other columns, or a write that fails.
    """
    if source is not None and not _SOURCE.fullmatch(source):
        raise CorrectionsError(f"--source {source!r}: use letters, digits, '.', '_' and '-' (at most 80)")
    if not Path(images).is_dir():
        raise CorrectionsError(f"--images {images}: no such folder")
    rows = read_export(export)
    report = ImportReport(Path(output), invalid=rows.invalid, unlabelled=rows.unlabelled)
    existing_rows = read_manifest(Path(output), required=False)
    existing = {row["sha256"]: row for row in existing_rows}
    known = {row[key]: (str(root), row) for root in known_roots for row in read_manifest(Path(root), required=True)
             for key in ("sha256", "source_sha256") if row.get(key)}
    groups: dict[str, list[Correction]] = defaultdict(list)
    for c in rows.corrections:
        groups[c.image_sha256].append(c)
    todo = [group[0] for group in groups.values() if _importable(group, existing, known, report)]
    found, report.unread_files = find_images(Path(images), {c.image_sha256 for c in todo}) if todo else ({}, 0)
    new_rows = []
    for c in todo:
        if c.image_sha256 not in found:
            report.not_found.append(c.image_sha256[:10])
            continue
        try:
            row, data = manifest_row(c, found[c.image_sha256], source_for(c, source), c.image_sha256)
        except (ImageError, OSError) as exc:
            code = getattr(exc, "code", None) or type(exc).__name__
            report.refused.append(f"{c.image_sha256[:10]} ({display_path(found[c.image_sha256])}): {code}: {exc}")
            continue
        _write_image(Path(output), row["file"], data)  # images first: the manifest lists only written ones
        new_rows.append(row)
        report.imported.append(row["file"])
    report.rows = len(existing_rows) + len(new_rows)
    if new_rows:
        try:
            _write_manifest(Path(output), existing_rows + new_rows)
        except OSError as exc:
            raise CorrectionsError(f"cannot write {output}: {exc.strerror or exc}") from None
    return report


def format_report(report: ImportReport) -> str:
    """The summary people read: what was imported and, kind by kind, what was not and why."""
    lines = [f"imported {len(report.imported)} image(s) into {report.output}"
             + (f" (manifest.tsv: {report.rows} row(s); train with --extra-data {report.output})" if report.rows else "")]
    for title, items in (("not found in --images (no file with that sha256)", report.not_found),
                         ("invalid rows", report.invalid), ("conflicting labels", report.conflicts),
                         ("refused images", report.refused), ("already in the output", report.already),
                         ("repeated in the export", report.repeated), ("already in --known data", report.known)):
        if items:
            more = [f"... {len(items) - SHOWN} more"] if len(items) > SHOWN else []
            if all(len(item) == 10 for item in items):  # sha256 prefixes: one line
                lines.append(f"{title}: {len(items)}: {', '.join(items[:SHOWN] + more)}")
            else:
                lines += [f"{title}: {len(items)}"] + [f"  {item}" for item in items[:SHOWN] + more]
    if report.unlabelled:
        lines.append(f"without a label (needs follow-up, or no decision): {report.unlabelled}")
    if report.unread_files:
        lines.append(f"files in --images not read (links leaving it, special, unreadable, over "
                     f"{MAX_IMAGE_BYTES >> 20} MiB): {report.unread_files}")
    return "\n".join(lines)


def run_import(args: argparse.Namespace) -> int:
    """``shinsaku corrections import``: prints the summary; returns 0, or ``EXIT_CONFIG`` (2) after
    one line on standard error when the input cannot be used."""
    from backend.cli import EXIT_CONFIG, EXIT_OK, fail

    try:
        report = import_corrections(Path(args.file), Path(args.images), Path(args.output), args.source,
                                    tuple(map(Path, args.known or ())))
    except CorrectionsError as exc:
        return fail("corrections import", str(exc), EXIT_CONFIG)
    print(format_report(report))
    return EXIT_OK
