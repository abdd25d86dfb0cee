"""``shinsaku scan``: classify files and folders offline with the served model and contract; write CSV
or JSON results and an optional self-contained HTML report. Unreadable files are listed as errors."""

from __future__ import annotations

import argparse
import base64
import csv
import io
import json
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from backend.config import build_config
from backend.inference import Detector
from backend.model_card import ModelCard, ModelError, load_card
from backend.preprocessing import DecodeLimits, ImageError, decode_image, to_model_input

THUMBNAIL_SIDE = 160  # pixels
DEFAULT_LIMITS = DecodeLimits()
FIELDS = ("path", "label", "probability_ai", "error", "message")


@dataclass
class ScanResult:
    """One file's verdict (``label``, ``probability_ai``) or its ``error`` code and ``message``."""

    path: str
    label: str | None = None
    probability_ai: float | None = None
    error: str | None = None
    message: str | None = None
    thumbnail: str | None = None  # data: URI of a JPEG thumbnail, for the report only


def collect_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files of ``paths``: files as given, folders recursively (sorted, hidden names skipped).
    A path that does not exist is kept (it is reported as an error)."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file()
                            and not any(part.startswith(".") for part in p.relative_to(path).parts))
        else:
            files.append(path)
    return files


def thumbnail_uri(img) -> str:
    """A JPEG thumbnail (longest side ``THUMBNAIL_SIDE`` px) of an RGB image as a data: URI."""
    thumb = img.copy()
    thumb.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    buf = io.BytesIO()
    thumb.save(buf, "JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _prepare(path: Path, card: ModelCard, limits: DecodeLimits, thumbnails: bool):
    result = ScanResult(str(path))
    try:
        img = decode_image(path.read_bytes(), limits=limits)
    except ImageError as exc:
        result.error, result.message = exc.code, str(exc)
        return result, None
    except OSError as exc:
        result.error, result.message = "unreadable_file", f"{type(exc).__name__}: {exc.strerror or exc}"
        return result, None
    if thumbnails:
        result.thumbnail = thumbnail_uri(img)
    return result, to_model_input(img, card.size, card.resize)


def scan_files(files: list[Path], detector: Detector, batch_size: int = 16, progress: bool = True,
               thumbnails: bool = False, limits: DecodeLimits = DEFAULT_LIMITS) -> list[ScanResult]:
    """Classify ``files`` in batches of ``batch_size`` images; one ``ScanResult`` per file, in order."""
    card = detector.card
    results: list[ScanResult] = []
    with tqdm(total=len(files), unit="img", disable=not progress, file=sys.stderr) as bar:
        for start in range(0, len(files), max(1, batch_size)):
            prepared = [_prepare(p, card, limits, thumbnails) for p in files[start:start + batch_size]]
            ready = [(r, x) for r, x in prepared if x is not None]
            if ready:
                probs = detector.predict(np.stack([x for _, x in ready]))
                for (result, _), p in zip(ready, probs):
                    result.probability_ai = float(p)
                    result.label = card.label(float(p))
            results += [r for r, _ in prepared]
            bar.update(len(prepared))
    return results


def summarize(results: list[ScanResult]) -> dict[str, int]:
    """Counts: ``total``, ``ai``, ``human``, ``uncertain``, ``error``."""
    counts = Counter(r.label or "error" for r in results)
    return {"total": len(results), **{k: counts.get(k, 0) for k in ("ai", "human", "uncertain", "error")}}


def sort_for_report(results: list[ScanResult]) -> list[ScanResult]:
    """Most likely AI first, errors last."""
    return sorted(results, key=lambda r: (r.probability_ai is None, -(r.probability_ai or 0.0)))


def write_results(results: list[ScanResult], fmt: str, out, card: ModelCard) -> None:
    """Write ``results`` (input order) as ``csv`` or ``json`` to the text stream ``out``."""
    rows = [{k: asdict(r)[k] for k in FIELDS} for r in results]
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        json.dump({"model": {"name": card.name, "version": card.version, "sha256": card.sha256,
                             "threshold": card.threshold, "uncertain_band": list(card.uncertain_band)},
                   "summary": summarize(results), "results": rows}, out, indent=1)
        out.write("\n")


def render_report(results: list[ScanResult], card: ModelCard) -> str:
    """The self-contained HTML report (inline thumbnails and CSS, no external resource)."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("backend", "templates"), autoescape=select_autoescape(["html"]))
    return env.get_template("report.html").render(results=sort_for_report(results), summary=summarize(results),
                                                  card=card)


def run_scan(args: argparse.Namespace) -> int:
    """The ``shinsaku scan`` command. Returns 0, or 1 when the model cannot be loaded."""
    config = build_config({"MODEL_PATH": args.model} if args.model else None)
    try:
        card = load_card(config["MODEL_PATH"])
        detector = Detector(card, config["PROVIDER"], config["INTRA_OP_THREADS"], config["INTER_OP_THREADS"],
                            config["ORT_ALLOW_SPINNING"])
    except ModelError as exc:
        print(f"shinsaku scan: {exc}", file=sys.stderr)
        return 1
    limits = DecodeLimits(max_pixels=config["MAX_PIXELS"], max_side=config["MAX_SIDE"])
    results = scan_files(collect_files(args.paths), detector, args.batch_size, not args.no_progress,
                         thumbnails=bool(args.report), limits=limits)
    if args.output:
        with open(args.output, "w", encoding="utf-8", newline="") as fh:
            write_results(results, args.format, fh, card)
    else:
        write_results(results, args.format, sys.stdout, card)
    if args.report:
        Path(args.report).write_text(render_report(results, card), encoding="utf-8")
    summary = summarize(results)
    print(", ".join(f"{k}: {v}" for k, v in summary.items()), file=sys.stderr)
    return 0
