"""Hostile-input benchmark of ``shinsaku serve`` (real bundled model, real waitress, loopback only) and
of ``shinsaku scan``. Prints figures, asserts nothing; each part is bounded in count and time.

  battery  every hostile image of ``hostile_images.battery()``, each alone, then ``--concurrency`` (8)
           at once: latency per image and the server's peak RSS (VmHWM) against its RSS before
  fuzz     ``--fuzz N`` (10,000; about 3 minutes on 2 busy cores) mutations of real images from
           ``--data``: 5xx, unanswered, over 2 s, server RSS after a warm-up and after the run (idle)
  slow     ``--slow`` (512) connections trickling header bytes (reopened when dropped) while
           ``/v1/health`` is timed
  scan     ``shinsaku scan`` on a folder of hostile files and names: time, errors, both reports

Usage: ``python benchmarks/bench_hostile.py [battery fuzz slow scan] [--fuzz 10000]``
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import requests
from tqdm import tqdm

sys.path[:0] = [str(Path(__file__).resolve().parent)]
from bench_backend import BUNDLED, REPO, cpu_model, free_port, peak_rss_mb, start_server
from hostile_images import battery, mutate


def rss_mb(pid: int) -> float:
    """Resident set size (VmRSS) of process ``pid`` in MB (10^6 bytes)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024 / 1e6
    return float("nan")


def post(url: str, data: bytes, timeout: float = 10.0) -> tuple[int | None, float]:
    """POST image bytes to ``/v1/classify``: (status or None when unanswered, seconds)."""
    started = time.perf_counter()
    try:
        status = requests.post(f"{url}/v1/classify", data=data, headers={"Content-Type": "image/png"},
                               timeout=timeout).status_code
    except requests.RequestException:
        status = None
    return status, time.perf_counter() - started


def summary(answers: list[tuple[str, int | None, float]]) -> str:
    """One line of ``(name, status, seconds)`` answers: statuses, p50 and max ms, count over 200 ms."""
    times = np.array([t for _, _, t in answers]) * 1000
    statuses = Counter(str(s) for _, s, _ in answers)
    slowest = max(answers, key=lambda a: a[2])
    return (f"n={len(answers):3d} statuses {dict(sorted(statuses.items()))} p50 {np.percentile(times, 50):.1f} ms, "
            f"max {times.max():.1f} ms ({slowest[0]}), over 200 ms {int((times > 200).sum())}")


def bench_battery(url: str, pid: int, concurrency: int) -> None:
    """Per category: each image sent alone (its own cost), then in bursts of ``concurrency`` sent
    together and all awaited (queueing on the cores included); the server's cache is off."""
    images = battery()
    print(f"battery: server RSS before {rss_mb(pid):.0f} MB; each image alone, then bursts of {concurrency} at once")
    for category, items in images.items():
        alone = [(name, *post(url, data, 30)) for name, data in items]
        cycle = (items * concurrency)[:max(len(items), concurrency)]
        burst = []
        for start in range(0, len(cycle), concurrency):
            with ThreadPoolExecutor(concurrency) as pool:
                burst += pool.map(lambda item: (item[0], *post(url, item[1], 30)), cycle[start:start + concurrency])
        print(f"  {category:9s} alone     {summary(alone)}")
        print(f"  {category:9s} {concurrency} at once {summary(burst)}; peak RSS so far {peak_rss_mb(pid):.0f} MB")
    print(f"battery: server RSS after {rss_mb(pid):.0f} MB, peak {peak_rss_mb(pid):.0f} MB")


def real_images(data_dir: Path, count: int) -> list[bytes]:
    files = sorted(p for p in data_dir.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp"))
    random.Random(0).shuffle(files)
    return [p.read_bytes() for p in files[:count] if p.stat().st_size < 2_000_000]


def bench_fuzz(url: str, pid: int, n: int, data_dir: Path, concurrency: int) -> None:
    """``n`` mutations of real images (mutation ``i`` drawn with ``random.Random(i)``, made by the
    client that sends it: no body is held longer), ``concurrency`` clients. RSS "before" is taken
    after the unmutated seeds were judged once (warm-up), "after" 2 s after the last answer."""
    seeds = real_images(data_dir, 200)
    fresh = rss_mb(pid)
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(lambda b: post(url, b, 30), seeds))
    time.sleep(1)
    before = rss_mb(pid)

    def one(i: int) -> tuple[int | None, float]:
        rng = random.Random(i)
        return post(url, mutate(rng.choice(seeds), rng), 10)

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        answers = list(tqdm(pool.map(one, range(n)), total=n, desc="fuzz", mininterval=30))
    elapsed = time.perf_counter() - started
    time.sleep(2)
    after = rss_mb(pid)
    statuses = [s for s, _ in answers]
    times = np.array([t for _, t in answers])
    counts = {str(s): statuses.count(s) for s in sorted(set(statuses), key=str)}
    print(f"fuzz: {n} mutated real images ({len(seeds)} seeds), {concurrency} clients, {elapsed:.0f} s: "
          f"statuses {counts}")
    print(f"fuzz: 5xx {sum(1 for s in statuses if s and s >= 500)}, unanswered {statuses.count(None)}, "
          f"over 2 s {int((times > 2).sum())}, p50 {np.percentile(times, 50) * 1000:.1f} ms, "
          f"p99 {np.percentile(times, 99) * 1000:.0f} ms, max {times.max() * 1000:.0f} ms; RSS fresh {fresh:.0f} MB, "
          f"after warm-up {before:.0f} MB, after the run {after:.0f} MB ({after - before:+.0f} MB), "
          f"peak {peak_rss_mb(pid):.0f} MB")


def bench_slow(url: str, port: int, count: int, seconds: float) -> None:
    host = f"127.0.0.1:{port}"

    def opened() -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(f"GET /v1/health HTTP/1.1\r\nHost: {host}\r\n".encode())
        return sock

    socks = [opened() for _ in range(count)]
    latencies, reopened = [], 0
    session = requests.Session()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for i, sock in enumerate(socks):  # one more header byte each: never a complete request
            try:
                sock.sendall(b"X")
            except OSError:
                sock.close()
                socks[i], reopened = opened(), reopened + 1
        for _ in range(5):
            started = time.perf_counter()
            try:
                ok = session.get(f"{url}/v1/health", timeout=5).status_code == 200
            except requests.RequestException:
                ok = False
            latencies.append((time.perf_counter() - started) * 1000 if ok else float("inf"))
            time.sleep(0.1)
    for sock in socks:
        sock.close()
    lat = np.array(latencies)
    print(f"slow: {count} slow connections held {seconds:.0f} s ({reopened} dropped by the server and reopened): "
          f"/v1/health n={len(lat)} failed {int(np.isinf(lat).sum())}, p50 {np.percentile(lat, 50):.1f} ms, "
          f"p99 {np.percentile(lat, 99):.1f} ms, max {lat.max():.1f} ms, over 100 ms {int((lat > 100).sum())}")


def bench_scan(model: Path) -> None:
    from hostile_images import encode
    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "hostile"
        root.mkdir()
        for i, (name, data) in enumerate(item for items in battery().values() for item in items):
            (root / f"{i:02d} {name.replace('/', '_')}.img").write_bytes(data)
        (root / "ok.png").write_bytes(encode(Image.new("RGB", (300, 200), "white"), "PNG"))
        (root / '=HYPERLINK("http:x","y").png').write_bytes(b"not an image")
        with open(os.fsencode(root) + b"/caf\xe9.png", "wb") as fh:  # a name that is not UTF-8
            fh.write(encode(Image.new("RGB", (64, 64)), "PNG"))
        (root / "loop").symlink_to(root / "loop")
        (root / "dangling.png").symlink_to(root / "nowhere")
        (root / "outside.png").symlink_to(Path(tmp) / "x.png")
        (Path(tmp) / "x.png").write_bytes(b"x")
        os.mkfifo(root / "fifo.png")
        with open(root / "huge.bin", "wb") as fh:
            fh.truncate(2 * 1024 ** 3)
        out, report = Path(tmp) / "out.csv", Path(tmp) / "report.html"
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "backend.cli", "scan", str(root), "--model", str(model), "-o",
                               str(out), "--report", str(report), "--no-progress"], cwd=REPO, capture_output=True,
                              text=True, timeout=600, check=False)
        elapsed = time.perf_counter() - started
        rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines())) if out.exists() else []
        errors = Counter(r["error"] for r in rows if r["error"])
        print(f"scan: {sum(1 for _ in os.scandir(root))} entries, exit {done.returncode} in {elapsed:.1f} s; "
              f"{done.stderr.strip().splitlines()[-1]}; CSV {len(rows)} rows, report "
              f"{report.stat().st_size if report.exists() else 0} B; errors {dict(sorted(errors.items()))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="*", default=["battery", "fuzz", "slow", "scan"])
    parser.add_argument("--model", default=str(BUNDLED), help="model card (default: the bundled model)")
    parser.add_argument("--concurrency", type=int, default=8, help="requests at once (battery)")
    parser.add_argument("--fuzz", type=int, default=10_000, help="mutated images to send")
    parser.add_argument("--fuzz-clients", type=int, default=4, help="concurrent fuzz clients")
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data"), help="folder of real images")
    parser.add_argument("--slow", type=int, default=512, help="slow connections to hold")
    parser.add_argument("--slow-seconds", type=float, default=25.0, help="how long to hold them")
    args = parser.parse_args()
    model = Path(args.model)
    print(f"machine: {cpu_model()}, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} at start; "
          f"model {model.name}")
    if "scan" in args.parts:
        bench_scan(model)
    server_parts = [p for p in args.parts if p != "scan"]
    if not server_parts:
        return
    port = free_port()
    proc = start_server(model, port)
    url = f"http://127.0.0.1:{port}"
    try:
        for part in server_parts:
            if part == "battery":
                bench_battery(url, proc.pid, args.concurrency)
            elif part == "fuzz":
                bench_fuzz(url, proc.pid, args.fuzz, Path(args.data), args.fuzz_clients)
            elif part == "slow":
                bench_slow(url, port, args.slow, args.slow_seconds)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
