"""FP32 against INT8 and FP16 side by side, and ``shinsaku scan`` with 1 against N workers, in one run
on this machine: bare onnxruntime per image (batch 1 and 8), HTTP latency p50/p99 from one client,
HTTP images/s from 8 clients (distinct images, cache off), server peak RSS, scan images/s, and the
largest probability difference from FP32 on the 64 benchmark images (parity on this provider).

Usage: ``python benchmarks/bench_precision.py [--model CARD] [--requests 200] [--scan-images 200]``

INT8 and FP16 need the card's ``int8`` / ``fp16`` entry (``python -m training.quantize --precision
int8|fp16 --model CARD``); a precision without one is left out of the table, with the reason printed.
FP16 is meant for the CUDA provider: on the CPU it runs, slower than FP32 (a measured figure). Other processes on the machine skew absolute times: the load average is printed,
and ratios are what stays comparable. Prints figures, asserts nothing. ``SHINSAKU_PROVIDER`` applies
(``benchmarks/gpu_check.sh`` runs this with ``cuda``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_backend import (  # the HTTP helpers of the backend benchmark
    BUNDLED,
    anime_like_jpeg,
    cpu_model,
    free_port,
    latency_ms,
    peak_rss_mb,
    start_server,
    throughput,
)

from backend.config import build_config
from backend.inference import Detector
from backend.model_card import PRECISIONS, ModelError, for_precision, load_card
from backend.preprocessing import preprocess
from backend.scan import default_workers, scan_files
from backend.walk import collect_files


@contextlib.contextmanager
def environment(**values: str):
    """Set environment variables for the block (the server subprocess inherits them)."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def detector_for(model: Path, precision: str) -> Detector:
    """An in-process detector with the server's default settings (``SHINSAKU_*`` applied)."""
    config = build_config({"MODEL_PATH": str(model), "PRECISION": precision})
    card = for_precision(load_card(model), precision)
    return Detector(card, config["PROVIDER"], config["INTRA_OP_THREADS"], config["INTER_OP_THREADS"],
                    config["ORT_ALLOW_SPINNING"])


def bare_ms(detector: Detector, x: np.ndarray, batch: int, runs: int) -> float:
    """p50 milliseconds per image of ``detector.predict`` on batches of ``batch`` copies of ``x``."""
    stacked = np.repeat(x[None], batch, axis=0)
    detector.predict(stacked)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        detector.predict(stacked)
        times.append((time.perf_counter() - start) * 1000 / batch)
    return float(np.median(times))


def http_figures(model: Path, precision: str, image: bytes, images: list[bytes], requests_n: int,
                 clients: int, rounds: int) -> dict[str, float]:
    """p50/p99 latency (ms, one client), images/s (``clients`` clients) and peak RSS (MB) of a
    ``shinsaku serve`` subprocess at ``precision``."""
    port = free_port()
    with environment(SHINSAKU_PRECISION=precision):
        proc = start_server(model, port)
    url = f"http://127.0.0.1:{port}"
    try:
        lat = latency_ms(url, image, requests_n)
        ips, failed = throughput(url, images, clients, rounds)
        return {"p50": float(np.percentile(lat, 50)), "p99": float(np.percentile(lat, 99)), "ips": ips,
                "failed": failed, "rss": peak_rss_mb(proc.pid)}
    finally:
        proc.terminate()
        proc.wait(10)


def scan_rate(detector: Detector, folder: Path, workers: int) -> float:
    """Images per second of ``scan_files`` over ``folder`` with ``workers`` decoding threads."""
    files = collect_files([str(folder)])
    start = time.perf_counter()
    results = scan_files(files, detector, progress=False, workers=workers)
    elapsed = time.perf_counter() - start
    assert all(r.label for r in results), "every benchmark image must be judged"
    return len(files) / elapsed


def row(name: str, values: dict[str, float | None], fmt: str, columns: list[str], ratio: bool = True) -> str:
    """One markdown table row: ``values`` of each precision in ``columns`` (``n/a`` when missing),
    then each reduced precision's ratio to fp32 when ``ratio``."""
    cells = [(fmt.format(values[p]) if values.get(p) is not None else "n/a") for p in columns]
    rels = [f"{values[p] / values['fp32']:.2f}x" if ratio and values.get(p) and values.get("fp32") else ""
            for p in columns[1:]]
    return f"| {name} | {' | '.join(cells + rels)} |"


def parity(detectors: dict[str, Detector | None], batch: np.ndarray) -> dict[str, float | None]:
    """Largest ``|p - p_fp32|`` of each precision on ``batch`` ``(N, 3, S, S)`` float32 (in batches of
    8), each on its own detector's provider; fp32's is 0. Empty without an fp32 detector."""
    def probs(detector: Detector) -> np.ndarray:
        return np.concatenate([detector.predict(batch[i:i + 8]) for i in range(0, len(batch), 8)])

    if detectors.get("fp32") is None:
        return {}
    reference = probs(detectors["fp32"]).astype(np.float64)
    return {p: float(np.abs(probs(d) - reference).max()) for p, d in detectors.items() if d is not None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(BUNDLED), help="model card (default: the bundled model)")
    parser.add_argument("--requests", type=int, default=200, help="sequential requests for latency")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients for throughput")
    parser.add_argument("--rounds", type=int, default=2, help="passes over the 64 distinct images")
    parser.add_argument("--runs", type=int, default=30, help="bare onnxruntime runs per batch size")
    parser.add_argument("--scan-images", type=int, default=200, help="1024x1024 JPEGs in the scan folder")
    parser.add_argument("--workers", type=int, default=default_workers(), help="scan workers to compare with 1")
    args = parser.parse_args()
    model = Path(args.model)
    print(f"CPU: {cpu_model()}; load average before the run {os.getloadavg()[0]:.2f}; "
          f"provider setting {os.environ.get('SHINSAKU_PROVIDER', 'auto')}")
    detectors: dict[str, Detector | None] = {}
    for precision in PRECISIONS:
        try:
            detectors[precision] = detector_for(model, precision)
        except ModelError as exc:
            detectors[precision] = None
            print(f"{precision}: not measured: {exc}")
    columns = ["fp32"] + [p for p in PRECISIONS[1:] if detectors[p] is not None]
    image = anime_like_jpeg(0)
    images = [anime_like_jpeg(seed) for seed in range(1, 65)]
    x = preprocess(image)
    figures: dict[str, dict[str, float | None]] = {
        "parity": parity(detectors, np.stack([preprocess(i) for i in images]))}

    def put(key: str, precision: str, value: float | None) -> None:
        figures.setdefault(key, {})[precision] = value

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for i in range(args.scan_images):
            (folder / f"{i:04d}.jpg").write_bytes(images[i % len(images)] if i < 64 else anime_like_jpeg(100 + i))
        for precision, detector in detectors.items():
            if detector is None:
                continue
            print(f"{precision}: {detector.card.onnx_path.name} on {detector.provider}", flush=True)
            put("bare1", precision, bare_ms(detector, x, 1, args.runs))
            put("bare8", precision, bare_ms(detector, x, 8, max(5, args.runs // 4)))
            http = http_figures(model, precision, image, images, args.requests, args.clients, args.rounds)
            for key in ("p50", "p99", "ips", "rss"):
                put(key, precision, http[key])
            if http["failed"]:
                print(f"{precision}: {http['failed']} non-200 answers under load")
            put("scan1", precision, scan_rate(detector, folder, 1))
            put("scanN", precision, scan_rate(detector, folder, args.workers))
    print(f"\nmodel {model} ({', '.join(p for p, d in detectors.items() if d)}); input 1024x1024 JPEG; "
          f"HTTP {args.requests} sequential requests, {args.clients} clients x {args.rounds} x 64 distinct images, "
          f"cache off; scan of {args.scan_images} JPEGs\n")
    header = columns + [f"{p}/fp32" for p in columns[1:]]
    print(f"| measure | {' | '.join(header)} |\n|{'---|' * (len(header) + 1)}")
    for key, name, fmt, ratio in (
            ("bare1", "onnxruntime per image, batch 1 (ms, p50)", "{:.1f}", True),
            ("bare8", "onnxruntime per image, batch 8 (ms, p50)", "{:.1f}", True),
            ("p50", "HTTP latency p50, 1 client (ms)", "{:.1f}", True),
            ("p99", "HTTP latency p99, 1 client (ms)", "{:.1f}", True),
            ("ips", f"HTTP throughput, {args.clients} clients (images/s)", "{:.1f}", True),
            ("rss", "server peak RSS (MB)", "{:.0f}", True),
            ("scan1", "scan, 1 worker (images/s)", "{:.1f}", True),
            ("scanN", f"scan, {args.workers} workers (images/s)", "{:.1f}", True),
            ("parity", "max abs probability difference from fp32, 64 images", "{:.5f}", False)):
        print(row(name, figures.get(key, {}), fmt, columns, ratio))
    for precision in PRECISIONS:
        one, many = figures.get("scan1", {}).get(precision), figures.get("scanN", {}).get(precision)
        if one and many:
            print(f"scan speed-up {precision}: {many / one:.2f}x with {args.workers} workers (target >= 1.7x on 2 cores)")


if __name__ == "__main__":
    main()
