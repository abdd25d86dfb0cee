"""``shinsaku scan``: classify files and folders offline with the served model and contract; write CSV
or JSON results and an optional self-contained HTML report, with occlusion heat maps when asked
(``--explain``). Every path found is listed: files that cannot be judged (and symlinks, special files,
unreadable folders: see ``backend.walk``) as errors."""

from __future__ import annotations

import argparse
import base64
import csv
import io
import json
import os
import sys
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass

import numpy as np
from tqdm import tqdm

from backend.cache import image_key
from backend.config import DEFAULTS, ConfigError, build_config, decode_limits
from backend.explain import GRID, METHOD, occlusion_map, thumbnail_png
from backend.inference import Detector, load_detector
from backend.limits import MAX_IMAGE_BYTES
from backend.model_card import ModelCard, ModelError
from backend.preprocessing import DecodeLimits, ImageError, decode_image, to_model_input
from backend.provenance import disagrees, extract_dicts, summary
from backend.walk import Candidate, FileRefused, collect_files, read_limited

THUMBNAIL_SIDE = 160  # pixels
DEFAULT_LIMITS = decode_limits(DEFAULTS)  # as ``serve``: pixels, side and aspect ratio of backend/limits.json
FIELDS = ("path", "label", "probability_ai", "image_sha256", "error", "message", "evidence")
#: First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class ScanResult:
    """One file's verdict (``label``, ``probability_ai``) or its ``error`` code and ``message``;
    ``path`` is printable (see ``backend.walk.display_path``); ``evidence``: the provenance findings
    of the file's metadata (``backend.provenance``), None when the file was not read."""

    path: str
    label: str | None = None
    probability_ai: float | None = None
    image_sha256: str | None = None
    error: str | None = None
    message: str | None = None
    thumbnail: str | None = None  # data: URI of a JPEG thumbnail, for the report only
    evidence: list[dict] | None = None
    heatmap: str | None = None  # data: URI of the heat-map thumbnail (--explain), for the report only
    explain_error: str | None = None  # why the explanation failed (--explain), for the report only

    @property
    def disagrees(self) -> bool:
        """Whether the evidence contradicts the label (``backend.provenance.disagrees``)."""
        return bool(self.label and self.evidence and disagrees(self.evidence, self.label))


def thumbnail_uri(img) -> str:
    """A JPEG thumbnail (longest side ``THUMBNAIL_SIDE`` px) of an RGB image as a data: URI."""
    thumb = img.copy()
    thumb.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    buf = io.BytesIO()
    thumb.save(buf, "JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _printable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _prepare(candidate: Candidate, card: ModelCard, limits: DecodeLimits, thumbnails: bool,
             max_bytes: int) -> tuple[ScanResult, np.ndarray | None]:
    result = ScanResult(candidate.shown, error=candidate.error, message=candidate.message)
    if candidate.error:
        return result, None
    try:
        data = read_limited(candidate.path, max_bytes)
        result.image_sha256 = image_key(data)
        result.evidence = extract_dicts(data)
        img = decode_image(data, limits=limits, draft_size=card.draft_size)
        if thumbnails:
            result.thumbnail = thumbnail_uri(img)
        return result, to_model_input(img, card.size, card.resize)
    except (ImageError, FileRefused) as exc:
        result.error, result.message = exc.code, _printable(str(exc))
    except OSError as exc:
        result.error, result.message = "unreadable_file", f"{type(exc).__name__}: {exc.strerror or exc}"
    except Exception as exc:  # noqa: BLE001 - one file never stops the scan
        result.error, result.message = "internal_error", _printable(f"{type(exc).__name__}: {exc}")
    return result, None


def explain_into(result: ScanResult, x: np.ndarray, detector: Detector, batch_size: int) -> None:
    """Occlusion heat map (``backend.explain``) of a judged image's model input ``x`` (``(3, S, S)``
    float32): ``GRID**2 + 1`` inferences of the scan's ``detector`` in batches of ``batch_size``, then
    ``result.heatmap`` = a data: URI of ``thumbnail_png`` (the centre crop with the map laid over it).
    Any failure is written to ``result.explain_error`` instead; never raises."""
    try:
        explanation = occlusion_map(detector.predict, x, batch_size=batch_size)
        result.heatmap = "data:image/png;base64," + base64.b64encode(thumbnail_png(x, explanation)).decode("ascii")
    except Exception as exc:  # noqa: BLE001 - one explanation never stops the scan
        result.explain_error = _printable(f"{type(exc).__name__}: {exc}")


def default_workers() -> int:
    """Decoding threads ``shinsaku scan`` uses by default: the CPU cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def scan_files(files: list[Candidate], detector: Detector, batch_size: int = 16, progress: bool = True,
               thumbnails: bool = False, limits: DecodeLimits = DEFAULT_LIMITS,
               max_bytes: int = MAX_IMAGE_BYTES, workers: int = 1, explain: bool = False) -> list[ScanResult]:
    """Classify ``files`` in batches of ``batch_size`` images; one ``ScanResult`` per candidate, in
    order. Files over ``max_bytes`` bytes are refused before reading. With ``explain``, every judged
    image also gets a heat map (``explain_into``: ``GRID**2 + 1`` = 50 more inferences per image).

    Reading, hashing, metadata and decoding run in a pool of ``workers`` threads (Pillow, hashlib and
    NumPy release the GIL) while the one shared ``detector`` runs the previous batch, so at most two
    batches of inputs are held (``2 * batch_size`` arrays of ``(3, S, S)`` float32). Batches are the
    same consecutive ``batch_size`` files whatever ``workers`` is, so results are identical to one
    worker. The progress bar (images/s; per explained image with ``explain``) shows only when
    ``progress`` and standard error is a terminal.
    """
    card = detector.card
    size = max(1, batch_size)
    chunks = [files[start:start + size] for start in range(0, len(files), size)]
    results: list[ScanResult] = []
    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="shinsaku-scan") as pool, \
            tqdm(total=len(files), unit="img", desc=f"scan{' + explain' if explain else ''} ({max(1, workers)} workers)",
                 disable=None if progress else True, file=sys.stderr) as bar:
        def submit(chunk: list[Candidate]) -> list[Future]:
            return [pool.submit(_prepare, c, card, limits, thumbnails, max_bytes) for c in chunk]

        upcoming = submit(chunks[0]) if chunks else []
        for index in range(len(chunks)):
            current, upcoming = upcoming, (submit(chunks[index + 1]) if index + 1 < len(chunks) else [])
            prepared = [future.result() for future in current]
            ready = [(r, x) for r, x in prepared if x is not None]
            if ready:
                for (result, _), outputs in zip(ready, detector.infer(np.stack([x for _, x in ready]))):
                    result.probability_ai = outputs.probability_ai
                    result.label = card.label(outputs.probability_ai)
            results += [r for r, _ in prepared]
            if not explain:
                bar.update(len(prepared))
                continue
            bar.update(len(prepared) - len(ready))  # errors at once, judged images once explained
            for result, x in ready:
                explain_into(result, x, detector, size)
                bar.update(1)
    return results


def summarize(results: list[ScanResult]) -> dict[str, int]:
    """Counts: ``total``, ``ai``, ``human``, ``uncertain``, ``error``."""
    counts = Counter(r.label or "error" for r in results)
    return {"total": len(results), **{k: counts.get(k, 0) for k in ("ai", "human", "uncertain", "error")}}


def sort_for_report(results: list[ScanResult]) -> list[ScanResult]:
    """Most likely AI first, errors last."""
    return sorted(results, key=lambda r: (r.probability_ai is None, -(r.probability_ai or 0.0)))


def csv_cell(value):
    """A CSV cell a spreadsheet shows as text: strings starting with ``= + - @`` (or tab, CR) get a
    leading ``'``; other values unchanged."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def write_results(results: list[ScanResult], fmt: str, out, card: ModelCard) -> None:
    """Write ``results`` (input order) as ``csv`` (formula-escaped cells; ``evidence`` as a one-line
    summary) or ``json`` (``evidence`` as the list of findings) to the text stream ``out``."""
    rows = [{k: asdict(r)[k] for k in FIELDS} for r in results]
    if fmt == "csv":
        for row in rows:
            row["evidence"] = "" if row["evidence"] is None else summary(row["evidence"])
        writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: csv_cell(v) for k, v in row.items()} for row in rows)
    else:
        json.dump({"model": {"name": card.name, "version": card.version, "sha256": card.sha256,
                             "precision": card.precision,
                             "threshold": card.threshold, "uncertain_band": list(card.uncertain_band)},
                   "summary": summarize(results), "results": rows}, out, indent=1)
        out.write("\n")


def render_report(results: list[ScanResult], card: ModelCard, explained: bool = False) -> str:
    """The self-contained HTML report (inline thumbnails and CSS, no external resource); with
    ``explained``, a heat-map column (``ScanResult.heatmap`` or ``explain_error``)."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("backend", "templates"), autoescape=select_autoescape(["html"]))
    return env.get_template("report.html").render(results=sort_for_report(results), summary=summarize(results),
                                                  card=card, evidence_summary=summary, explained=explained,
                                                  method=METHOD, grid=GRID)


def run_scan(args: argparse.Namespace) -> int:
    """The ``shinsaku scan`` command. Returns 0, ``EXIT_CONFIG`` (2) for a bad setting (or
    ``--explain`` without ``--report``) or
    ``EXIT_MODEL`` (4) when the model cannot be loaded, after one line on standard error."""
    from backend.cli import EXIT_CONFIG, EXIT_MODEL, fail

    if args.explain and not args.report:
        return fail("scan", "--explain needs --report (heat maps are shown in the HTML report only)", EXIT_CONFIG)
    try:
        config = build_config({"MODEL_PATH": args.model} if args.model else None)
        detector = load_detector(config)
    except ConfigError as exc:
        return fail("scan", f"bad configuration: {exc}", EXIT_CONFIG)
    except ModelError as exc:
        return fail("scan", str(exc), EXIT_MODEL)
    limits = decode_limits(config)
    results = scan_files(collect_files(args.paths), detector, args.batch_size, not args.no_progress,
                         thumbnails=bool(args.report), limits=limits, max_bytes=config["MAX_IMAGE_BYTES"],
                         workers=args.workers or default_workers(), explain=args.explain)
    if args.output:
        with open(args.output, "w", encoding="utf-8", newline="") as fh:
            write_results(results, args.format, fh, detector.card)
    else:
        write_results(results, args.format, sys.stdout, detector.card)
    if args.report:
        with open(args.report, "w", encoding="utf-8") as fh:
            fh.write(render_report(results, detector.card, explained=args.explain))
    print(", ".join(f"{k}: {v}" for k, v in summarize(results).items()), file=sys.stderr)
    return 0
