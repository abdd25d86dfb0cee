"""Benchmark of the backend: end-to-end HTTP latency and throughput of ``shinsaku serve``, its peak RSS,
and the same checkpoint in PyTorch eager (``torch.set_num_threads(2)``) as the ratio to beat; then
where the time goes: decode share, the model's FLOPs per image (``torch.utils.flop_counter``) and
the GFLOP/s onnxruntime achieves against this machine's measured FP32 matrix-multiply rate.

Usage: ``python benchmarks/bench_backend.py [--model CARD] [--checkpoint best.pth] [--requests 200]
[--clients 8 32]``

Prints figures and one side-by-side table, asserts nothing. Targets (issue 9, 2 CPU cores, one
1024x1024 JPEG): p50 <= 12 ms, >= 100 images/s with 8 clients, >= 3x PyTorch eager, RSS <= 400 MB.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import requests
from PIL import Image, ImageDraw, ImageFilter

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
BUNDLED = REPO / "backend" / "models" / "shinsaku-detector.json"


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or platform) and the usable core count."""
    name = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name}, {len(os.sched_getaffinity(0))} usable cores"


def anime_like_jpeg(seed: int, side: int = 1024) -> bytes:
    """A synthetic illustration-like ``side`` x ``side`` JPEG (gradients, flat shapes, outlines)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:side, 0:side] / side
    base = np.stack([(np.sin(xx * rng.uniform(1, 6)) + 1) * 100 + rng.uniform(0, 50),
                     (np.cos(yy * rng.uniform(1, 6)) + 1) * 100 + rng.uniform(0, 50),
                     (xx + yy) * 100 + rng.uniform(0, 50)], axis=-1).clip(0, 255).astype(np.uint8)
    img = Image.fromarray(base)
    draw = ImageDraw.Draw(img)
    for _ in range(40):
        x0, y0 = rng.integers(0, side, 2)
        x1, y1 = x0 + rng.integers(20, side // 3), y0 + rng.integers(20, side // 3)
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        draw.ellipse((x0, y0, x1, y1), fill=color, outline=(20, 20, 20), width=int(rng.integers(1, 6)))
    img = img.filter(ImageFilter.SMOOTH)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def peak_rss_mb(pid: int) -> float:
    """Peak resident set size (VmHWM) of process ``pid`` in MB (10^6 bytes)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / 1e6
    return float("nan")


def start_server(model: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "SHINSAKU_CACHE_SIZE": "0"}  # every request is really inferred
    proc = subprocess.Popen([sys.executable, "-m", "backend.cli", "serve", "--port", str(port), "--model", str(model)],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/v1/health", timeout=1).status_code == 200:
                return proc
        except requests.RequestException:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("server not healthy after 120 s")


def latency_ms(url: str, image: bytes, n: int) -> np.ndarray:
    """End-to-end latency of ``n`` sequential requests on one keep-alive connection, ms."""
    times = []
    with requests.Session() as session:
        for i in range(n + 10):
            start = time.perf_counter()
            response = session.post(f"{url}/v1/classify", data=image, headers={"Content-Type": "image/jpeg"})
            elapsed = (time.perf_counter() - start) * 1000
            response.raise_for_status()
            if i >= 10:  # warm-up
                times.append(elapsed)
    return np.array(times)


def throughput(url: str, images: list[bytes], clients: int, rounds: int) -> tuple[float, int]:
    """Images per second for ``rounds`` passes over ``images`` from ``clients`` concurrent clients;
    also the number of non-200 answers."""
    local = threading.local()
    jobs = [img for _ in range(rounds) for img in images]

    def one(img):
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return local.session.post(f"{url}/v1/classify", data=img, headers={"Content-Type": "image/jpeg"}).status_code

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, images[:clients]))  # warm-up connections
        start = time.perf_counter()
        statuses = list(pool.map(one, jobs))
        elapsed = time.perf_counter() - start
    return len(jobs) / elapsed, sum(s != 200 for s in statuses)


def eager(card: dict, checkpoint: str | None, image: bytes, images: list[bytes], n: int) -> dict | str:
    """The same model in PyTorch eager with the card's TTA views, in this process (no HTTP):
    preprocess + forward. Returns figures, or a ``"skipped: ..."`` string."""
    try:
        import torch
        from torch.utils.flop_counter import FlopCounterMode

        from backend.preprocessing import preprocess
        from training.tta import TTAModel
    except ImportError as exc:
        return f"skipped: {exc}"
    torch.set_num_threads(2)
    from training.model import build_model, load_checkpoint

    if checkpoint:
        model, _ = load_checkpoint(Path(checkpoint))
        source = checkpoint
    else:
        recipe = card.get("recipe", {})
        model = build_model(recipe.get("attention", True), recipe.get("head", "dense"), weights="none",
                            taps=tuple(recipe.get("taps", ())), tap_std=recipe.get("tap_std", False)).eval()
        source = "card architecture, untrained weights (no --checkpoint; same cost)"
    tta = TTAModel(model, card["tta_views"]).eval()
    size, mode, draft = card["input"]["size"], card["input"]["resize"], card["input"].get("jpeg_draft", False)
    times = []
    with torch.inference_mode():
        for i in range(n + 5):
            start = time.perf_counter()
            tta(torch.from_numpy(preprocess(image, size, mode, jpeg_draft=draft))[None])
            if i >= 5:
                times.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        for k in range(0, len(images), 16):
            tta(torch.from_numpy(np.stack([preprocess(b, size, mode, jpeg_draft=draft) for b in images[k:k + 16]])))
        ips = len(images) / (time.perf_counter() - start)
        with FlopCounterMode(display=False) as counter:
            tta(torch.zeros(1, 3, size, size))
    return {"source": source, "p50_ms": float(np.percentile(times, 50)), "images_per_s": ips,
            "gflop_per_image": counter.get_total_flops() / 1e9}


def matmul_peak_gflops(n: int = 2048, runs: int = 5) -> float:
    """This machine's measured FP32 rate, GFLOP/s: the best of ``runs`` ``n`` x ``n`` float32 matrix
    products in NumPy's BLAS on all its threads (``2 n^3`` FLOPs each), the practical peak that
    convolutions lowered to GEMM can approach."""
    a, b = (np.random.default_rng(i).random((n, n), dtype=np.float32) for i in range(2))
    a @ b  # warm-up
    best = min(_timed(lambda: a @ b) for _ in range(runs))
    return 2 * n**3 / best / 1e9


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def onnx_only_ms(model: Path, image: bytes, n: int = 30) -> tuple[float, float]:
    """In-process p50 of preprocessing and of one onnxruntime inference (TTA inside), ms, with the
    server's default session options: where the end-to-end time goes."""
    from backend.config import DEFAULTS
    from backend.inference import Detector
    from backend.model_card import load_card
    from backend.preprocessing import preprocess

    card = load_card(model)
    detector = Detector(card, "cpu", DEFAULTS["INTRA_OP_THREADS"], DEFAULTS["INTER_OP_THREADS"],
                        DEFAULTS["ORT_ALLOW_SPINNING"])
    pre, inf = [], []
    for _ in range(n):
        start = time.perf_counter()
        x = preprocess(image, card.size, card.resize, jpeg_draft=card.jpeg_draft)[None]
        mid = time.perf_counter()
        detector.predict(x)
        pre.append((mid - start) * 1000)
        inf.append((time.perf_counter() - mid) * 1000)
    return float(np.median(pre)), float(np.median(inf))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(BUNDLED), help="model card (default: the bundled model)")
    parser.add_argument("--checkpoint", help="best.pth of the same model for the PyTorch eager row")
    parser.add_argument("--requests", type=int, default=200, help="sequential requests for latency")
    parser.add_argument("--clients", type=int, nargs="+", default=[8, 32], help="concurrent clients for throughput")
    parser.add_argument("--rounds", type=int, default=3, help="passes over the 64 distinct images")
    parser.add_argument("--eager-runs", type=int, default=30, help="single-image runs in PyTorch eager")
    args = parser.parse_args()
    model = Path(args.model)
    if not model.exists():
        raise SystemExit(f"skipped: no model at {model}")
    card = json.loads(model.read_text())
    print(f"CPU: {cpu_model()}; load average before the run {os.getloadavg()[0]:.2f} (others' jobs skew figures)")
    print(f"model: {card['name']} {card['version']} sha256 {card['sha256'][:16]}, TTA views {card['tta_views']}")
    image = anime_like_jpeg(0)
    images = [anime_like_jpeg(seed) for seed in range(1, 65)]
    print(f"input: 1024x1024 JPEG, {len(image) / 1000:.0f} kB; stream of {len(images)} distinct images")
    port = free_port()
    proc = start_server(model, port)
    url = f"http://127.0.0.1:{port}"
    try:
        lat = latency_ms(url, image, args.requests)
        p50, p99 = np.percentile(lat, 50), np.percentile(lat, 99)
        print(f"HTTP latency, 1 image, sequential, n={len(lat)}: p50 {p50:.1f} ms, p99 {p99:.1f} ms "
              f"(target p50 <= 25 ms)")
        rates = {}
        for clients in args.clients:
            rates[clients], failed = throughput(url, images, clients, args.rounds)
            print(f"HTTP throughput, {clients} concurrent clients, {args.rounds}x{len(images)} images: "
                  f"{rates[clients]:.1f} images/s, {failed} non-200")
        rss = peak_rss_mb(proc.pid)
        print(f"server peak RSS: {rss:.0f} MB")
    finally:
        proc.terminate()
        proc.wait(10)
    pre_ms, inf_ms = onnx_only_ms(model, image)
    print(f"in-process breakdown (p50): decode + preprocess {pre_ms:.1f} ms, onnxruntime inference with TTA "
          f"{inf_ms:.1f} ms")
    peak = matmul_peak_gflops()
    result = eager(card, args.checkpoint, image, images, args.eager_runs)
    if isinstance(result, str):
        print(f"PyTorch eager: {result}")
        result = {}
    rows = [("HTTP latency p50, 1 client (ms)", f"{p50:.1f}", "<= 12"),
            ("HTTP latency p99, 1 client (ms)", f"{p99:.1f}", ""),
            *[(f"HTTP throughput, {c} clients (images/s)", f"{r:.1f}", ">= 100" if c == 8 else "")
              for c, r in rates.items()],
            ("server peak RSS (MB)", f"{rss:.0f}", "<= 400"),
            ("decode + preprocess, in-process p50 (ms)", f"{pre_ms:.1f}", ""),
            ("onnxruntime with TTA, batch 1, p50 (ms)", f"{inf_ms:.1f}", ""),
            ("decode share of in-process time", f"{pre_ms / (pre_ms + inf_ms):.0%}", ""),
            ("measured FP32 matmul rate, all cores (GFLOP/s)", f"{peak:.0f}", "")]
    if result:
        flops = result["gflop_per_image"]
        rows += [("model FLOPs per image, TTA views included (GFLOP)", f"{flops:.2f}", ""),
                 ("onnxruntime achieved, batch 1 (GFLOP/s; share of matmul rate)",
                  f"{flops / inf_ms * 1000:.0f} ({flops / inf_ms * 1000 / peak:.0%})", ""),
                 ("PyTorch eager p50, preprocess + forward (ms)", f"{result['p50_ms']:.1f}", ""),
                 ("PyTorch eager, batches of 16 (images/s)", f"{result['images_per_s']:.1f}", ""),
                 ("backend/eager latency ratio", f"{result['p50_ms'] / p50:.2f}x", ">= 3x"),
                 (f"backend ({args.clients[0]} clients)/eager throughput ratio",
                  f"{rates[args.clients[0]] / result['images_per_s']:.2f}x", ">= 3x")]
        print(f"PyTorch eager: {result['source']}, 2 threads")
    print("\n| measure | value | target |\n|---|---|---|")
    for name, value, target in rows:
        print(f"| {name} | {value} | {target} |")


if __name__ == "__main__":
    main()
