"""Reading the extension's corrections exports: the options page's CSV and JSON
(``extension/src/utils/corrections.js``: ``decided_at``, ``page_url``, ``image_url``,
``image_sha256``, ``model_label``, ``probability_ai``, ``model_version``, ``user_label``,
``decision``) and, as well, the review page's exports (``extension/src/utils/export.js``), whose
person's label comes from the ``decision`` column. Standard library only."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

#: The person's labels, as in the manifests' ``label`` column.
LABELS = ("ai", "human")
#: The label each decision of ``extension/src/utils/decisions.js`` implies (follow-up: none).
DECISION_LABELS = {"confirmed_ai": "ai", "confirmed_human": "human"}
#: Largest export read, bytes (an export of 100,000 corrections is ~40 MB of JSON).
MAX_EXPORT_BYTES = 64 << 20
_SHA256 = re.compile(r"[0-9a-f]{64}")
#: The extension's CSV writer (``csvField``) puts ``'`` before cells starting with these.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class CorrectionsError(Exception):
    """Input that cannot be used at all (missing or unreadable file, not an export); the message
    is one line for people."""


@dataclass(frozen=True)
class Correction:
    """One labelled image of an export: ``where`` names its place (``row 3`` of a CSV, the header
    being row 1; ``entry 2`` of a JSON list), ``image_sha256`` is 64 lowercase hex digits of the
    image's bytes, ``user_label`` ``ai`` or ``human``, ``probability_ai`` the model's P(AI) in
    [0, 1] as exported (text, may be empty); the other fields are the export's text, ``""`` when
    absent."""

    where: str
    image_sha256: str
    user_label: str
    page_url: str = ""
    image_url: str = ""
    model_label: str = ""
    probability_ai: str = ""
    model_version: str = ""
    decision: str = ""
    decided_at: str = ""


@dataclass
class ExportRows:
    """What ``read_export`` found: the labelled ``corrections`` in file order, ``invalid`` rows
    (one message each) and the number of ``unlabelled`` rows (needs follow-up, or no decision)."""

    corrections: list[Correction]
    invalid: list[str]
    unlabelled: int


def _text(value: object) -> str:
    """An export cell as text: ``None`` is empty, the CSV formula guard ``'`` is undone."""
    text = "" if value is None else str(value).strip()
    return text[1:] if text.startswith("'") and text[1:].startswith(_FORMULA_START) else text


def _records(text: str, name: str) -> list[tuple[str, object]]:
    """``(where, record)`` of the export's text: JSON when it starts with ``{`` or ``[``, else CSV.

    Raises:
        CorrectionsError: unparsable JSON, no list of rows, or a CSV header without ``image_sha256``
            and a label column.
    """
    if text.lstrip().startswith(("{", "[")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CorrectionsError(f"{name} is not valid JSON: {exc}") from None
        rows = data if isinstance(data, list) else next(
            (data[key] for key in ("corrections", "results") if isinstance(data.get(key), list)), None)
        if rows is None:
            raise CorrectionsError(f"{name} is not a corrections export: no 'corrections' list")
        return [(f"entry {i}", row) for i, row in enumerate(rows, 1)]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [_text(column) for column in reader.fieldnames or []]
    if "image_sha256" not in header or not {"user_label", "decision"} & set(header):
        raise CorrectionsError(f"{name} is not a corrections export: the CSV header lacks image_sha256 "
                               "and user_label (export from the options page's Corrections)")
    reader.fieldnames = header
    try:
        return [(f"row {i}", row) for i, row in enumerate(reader, 2)]
    except csv.Error as exc:
        raise CorrectionsError(f"{name} is not valid CSV: {exc}") from None


def _correction(where: str, record: object) -> Correction | str | None:
    """A record as a ``Correction``, a message when invalid, or None when it carries no label."""
    if not isinstance(record, dict):
        return f"{where}: not an object"
    get = {key: _text(value) for key, value in record.items() if isinstance(key, str)}.get
    decision = get("decision", "")
    label = get("user_label", "").lower() or DECISION_LABELS.get(decision, "")
    if not label:
        return f"{where}: decision {decision!r} is not a label" if decision not in ("", "follow_up") else None
    if label not in LABELS:
        return f"{where}: user_label {label!r} is neither ai nor human"
    sha = get("image_sha256", "").lower()
    if not _SHA256.fullmatch(sha):
        return f"{where}: image_sha256 {sha[:20]!r} is not 64 hex digits" if sha else f"{where}: no image_sha256"
    return Correction(where, sha, label, get("page_url", ""), get("image_url", ""),
                      get("model_label", "") or get("label", ""), get("probability_ai", ""),
                      get("model_version", ""), decision, get("decided_at", ""))


def read_export(path: str | Path) -> ExportRows:
    """Read a corrections export (CSV or JSON, told apart by content; UTF-8, a BOM allowed).

    Raises:
        CorrectionsError: the file is missing, unreadable, over ``MAX_EXPORT_BYTES``, not UTF-8,
            or not an export (see ``_records``).
    """
    path = Path(path)
    try:
        if path.stat().st_size > MAX_EXPORT_BYTES:
            raise CorrectionsError(f"{path} is over {MAX_EXPORT_BYTES >> 20} MiB: not a corrections export")
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CorrectionsError(f"{path} is not UTF-8 text: not a corrections export") from None
    except OSError as exc:
        raise CorrectionsError(f"cannot read {path}: {exc.strerror or exc}") from None
    out = ExportRows([], [], 0)
    for where, record in _records(text, str(path)):
        found = _correction(where, record)
        if isinstance(found, Correction):
            out.corrections.append(found)
        elif found is None:
            out.unlabelled += 1
        else:
            out.invalid.append(found)
    return out
