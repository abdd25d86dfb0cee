"""Hostile image bytes for ``bench_hostile.py``: extreme aspect ratios in every format, decompression
bombs (headers announcing more pixels than the limit), animated bombs, images at the pixel limit,
and mutations of real images (header sizes rewritten, bytes flipped, cut, inserted)."""

from __future__ import annotations

import functools
import io
import random
import struct
import zlib

from PIL import Image

FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP")
WEBP_MAX_SIDE = 16383


def encode(img: Image.Image, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


def set_size(data: bytes, width: int, height: int) -> bytes:
    """``data`` with the image size in its header rewritten (PNG IHDR with its CRC, JPEG SOF, GIF
    logical screen and first frame, BMP, WebP VP8/VP8L/VP8X); unknown formats come back unchanged."""
    b = bytearray(data)
    if b.startswith(b"\x89PNG"):
        b[16:24] = struct.pack(">II", width, height)
        b[29:33] = struct.pack(">I", zlib.crc32(bytes(b[12:29])))
    elif b.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(b):
            marker, length = b[i + 1], struct.unpack(">H", b[i + 2:i + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2):
                b[i + 5:i + 9] = struct.pack(">HH", height & 0xFFFF, width & 0xFFFF)
                break
            i += 2 + length
    elif b.startswith(b"GIF"):
        b[6:10] = struct.pack("<HH", width & 0xFFFF, height & 0xFFFF)
        j = b.find(b"\x2c", 13)
        if j > 0:
            b[j + 5:j + 9] = struct.pack("<HH", width & 0xFFFF, height & 0xFFFF)
    elif b.startswith(b"BM"):
        b[18:26] = struct.pack("<ii", width, height)
    elif b[8:12] == b"WEBP":
        if b[12:16] == b"VP8X":
            b[24:30] = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
        elif b[12:16] == b"VP8 ":
            b[26:30] = struct.pack("<HH", width & 0x3FFF, height & 0x3FFF)
        elif b[12:16] == b"VP8L":
            bits = ((width - 1) & 0x3FFF) | (((height - 1) & 0x3FFF) << 14) | (int.from_bytes(b[21:25], "little") & ~0xFFFFFFF)
            b[21:25] = bits.to_bytes(4, "little")
    return bytes(b)


@functools.cache
def battery() -> dict[str, list[tuple[str, bytes]]]:
    """Named hostile images by category, as ``{category: [(name, bytes), ...]}``:

    - ``aspect``: 16384 x 1 and x 16 strips in every format (refused) and the longest strips accepted
      (50:1, judged);
    - ``bomb``: small files whose header announces more pixels than the limits (or 36 Mpx, within
      them), and a 20000 x 20000 1-bit PNG;
    - ``animated``: 60 to 200 frames of 2000 x 2000, and a GIF whose header announces 65535 x 65535;
    - ``at_limit``: the largest images the limits accept (40 Mpx), for information.

    The first three are expected to be answered fast. Built once per process (about 20 s and 1.2 GB
    on 2 cores), then cached."""
    out: dict[str, list[tuple[str, bytes]]] = {"aspect": [], "bomb": [], "animated": [], "at_limit": []}
    for fmt in FORMATS:
        side = WEBP_MAX_SIDE if fmt == "WEBP" else 16384
        for w, h in ((side, 1), (1, side), (side, 16), (16, side), (side, -(-side // 50)), (-(-side // 50), side)):
            out["aspect"].append((f"{fmt} {w}x{h}", encode(Image.new("RGB", (w, h), (250, 240, 230)), fmt)))
        small = encode(Image.new("RGB", (64, 64), "white"), fmt)
        for w, h in ((60000, 60000), (16383, 16383), (65535, 2), (6000, 6000)):  # the last within the limits
            out["bomb"].append((f"{fmt} header {w}x{h}", set_size(small, w, h)))
    out["bomb"].append(("PNG 20000x20000 1-bit", encode(Image.new("1", (20000, 20000)), "PNG")))
    two = [Image.new("P", (2000, 2000), i) for i in range(2)]  # alternating frames, two images held
    frames = two * 100
    out["animated"].append(("GIF 200 frames 2000x2000", encode(frames[0], "GIF", save_all=True, append_images=frames[1:])))
    rgb = [Image.new("RGB", (2000, 2000), (255 * i, 0, 0)) for i in range(2)] * 30
    out["animated"].append(("APNG 60 frames 2000x2000", encode(rgb[0], "PNG", save_all=True, append_images=rgb[1:])))
    out["animated"].append(("WebP 60 frames 2000x2000", encode(rgb[0], "WEBP", save_all=True, append_images=rgb[1:])))
    out["animated"].append(("GIF 3 frames, header 65535x65535", set_size(encode(frames[0], "GIF", save_all=True,
                                                                         append_images=frames[1:3]), 65535, 65535)))
    for fmt in ("PNG", "GIF", "JPEG"):
        out["at_limit"].append((f"{fmt} 6324x6324 (40 Mpx)", encode(Image.new("L", (6324, 6324), 200), fmt)))
    return out


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One random mutation chain of ``data``: header size rewrite, byte flips, cuts, insertions."""
    b = bytearray(data)
    if rng.random() < 0.3:
        w = rng.choice([1, 2, rng.randint(1, 70000), 16384, 65535, 60000])
        h = rng.choice([1, 2, rng.randint(1, 70000), 16384, 65535, 3])
        b = bytearray(set_size(bytes(b), w, h))
    for _ in range(rng.randint(0, 8)):
        op, pos = rng.choice(("flip", "cut", "insert", "delete")), rng.randrange(max(1, len(b)))
        if op == "flip" and b:
            b[pos] ^= rng.randint(1, 255)
        elif op == "cut" and rng.random() < 0.3:
            del b[pos:]
        elif op == "insert":
            b[pos:pos] = rng.randbytes(rng.randint(1, 16))
        elif b:
            del b[pos:pos + rng.randint(1, 64)]
    return bytes(b)
