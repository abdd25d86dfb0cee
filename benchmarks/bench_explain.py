"""Cost of explanations and of provenance evidence, in milliseconds per image.

Usage: ``python benchmarks/bench_explain.py [--model CARD] [--images 8] [--repeat 20] [--threads 2]
[--max-batch N]``

1. ``POST /v1/explain``'s work (decode + preprocess + ``backend.explain.occlusion_map``, ``GRID**2 + 1``
   inferences with the model's TTA through the server's ``Batcher``: groups of ``BATCH_SIZE`` queued,
   run in batches of ``--max-batch``, default the server's ``MAX_BATCH_SIZE``) on ``--images`` pictures (from
   ``../shared/data`` when present, else generated 1024 x 768 drawings), next to one classify inference
   of the same inputs for the ratio. Run in process (no HTTP), onnxruntime with ``--threads`` threads.
2. ``backend.provenance.extract`` on ordinary and hostile metadata: no metadata, A1111 PNG, a signed C2PA
   JPEG, an 8 MB tEXt chunk, a zTXt bomb (200 MB of text compressed), XMP with entity declarations and
   200,000 nested elements, a JPEG with a garbage C2PA segment; median and max of ``--repeat`` runs.

Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import struct
import sys
import time
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "backend"))
BUNDLED = REPO / "backend" / "models" / "shinsaku-detector.onnx"
DATA = REPO.parent / "shared" / "data"


def pictures(count: int) -> list[bytes]:
    """``count`` image files' bytes: gallery files when ``../shared/data`` exists, else drawings."""
    files = sorted(p for p in DATA.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp"))
    if files:
        step = max(1, len(files) // count)
        return [p.read_bytes() for p in files[::step][:count]]
    from test_explain import drawing, png

    return [png(drawing((1024, 768), seed)) for seed in range(count)]


def hostile_metadata() -> dict[str, bytes]:
    """Named files with ordinary and hostile metadata (built like the unit tests' fixtures)."""
    import provenance_images as pi

    png = pi.encoded("PNG")
    bomb = b"parameters\x00\x00" + zlib.compress(b"a" * 200_000_000, 9)
    chunk = struct.pack(">I", len(bomb)) + b"zTXt" + bomb + struct.pack(">I", zlib.crc32(b"zTXt" + bomb))
    laughs = b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">' + b"".join(
        b'<!ENTITY %c "%s">' % (98 + i, (b"&%c;" % (97 + i)) * 10) for i in range(9)) + b"]>"
    deep = b"<a>" * 200_000 + b"DigitalSourceType>trainedAlgorithmicMedia<" + b"</a>" * 200_000
    jpeg = pi.encoded("JPEG")
    garbage = b"JP\x00\x01\x00\x00\x00\x01\x00\x00\x00\x40jumbc2pa" + bytes(range(256)) * 200
    segment = b"\xff\xeb" + struct.pack(">H", len(garbage) + 2) + garbage
    return {"no metadata (PNG)": png, "A1111 parameters (PNG)": pi.png_with_text({"parameters": pi.A1111}),
            "signed C2PA (JPEG)": pi.c2pa_signed_jpeg(), "8 MB tEXt chunk": pi.png_with_text({"parameters": "x" * 8_000_000}),
            "zTXt bomb (200 MB inflated)": png[:33] + chunk + png[33:],
            "XMP entities + 200k nesting (PNG iTXt)": pi.png_with_xmp(laughs + deep),
            "garbage C2PA segment (JPEG)": jpeg[:2] + segment + jpeg[2:]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(BUNDLED))
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-batch", type=int, default=None, help="images per inference (default: serve's)")
    args = parser.parse_args()

    from backend.config import DEFAULTS
    from backend.explain import BATCH_SIZE, GRID, occlusion_map
    from backend.inference import Batcher, Detector
    from backend.model_card import load_card
    from backend.preprocessing import preprocess
    from backend.provenance import extract

    card = load_card(args.model)
    detector = Detector(card, "cpu", args.threads)
    detector.warm_up()
    max_batch = args.max_batch or DEFAULTS["MAX_BATCH_SIZE"]
    batcher = Batcher(detector.infer, max_batch, DEFAULTS["MAX_WAIT_MS"], DEFAULTS["QUEUE_SIZE"])
    print(f"model {card.name} {card.version}, {len(card.tta_views)} TTA views, grid {GRID}x{GRID} "
          f"({GRID * GRID + 1} inferences, groups of {BATCH_SIZE} through the batcher, batches of {max_batch}), "
          f"{args.threads} onnxruntime threads")
    explain_ms, classify_ms = [], []
    for data in pictures(args.images):
        started = time.perf_counter()
        x = preprocess(data)
        occlusion_map(batcher.predict, x)
        explain_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        detector.predict(preprocess(data)[None])
        classify_ms.append((time.perf_counter() - started) * 1000)
    print(f"explain: median {statistics.median(explain_ms):.0f} ms/image, max {max(explain_ms):.0f} ms "
          f"(n = {len(explain_ms)}); classify alone median {statistics.median(classify_ms):.1f} ms; "
          f"ratio {statistics.median(explain_ms) / statistics.median(classify_ms):.0f}x")
    batcher.close()
    print("evidence extraction (backend.provenance.extract):")
    for name, data in hostile_metadata().items():
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            found = extract(data)
            times.append((time.perf_counter() - started) * 1000)
        print(f"  {name:42s} {len(data) / 1e6:7.2f} MB  median {statistics.median(times):7.2f} ms  "
              f"max {max(times):7.2f} ms  findings {[f'{f.source}:{f.says}' for f in found]}")


if __name__ == "__main__":
    main()
