"""The review page's test sites: a gallery of at least 200 real images served straight from
``../shared/data`` (nothing is copied), and a small gallery of drawn images for the README's
screenshots (dataset images stay out of the repository)."""

from __future__ import annotations

import csv
import functools
import hashlib
import http.server
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from ext_helpers import DATA_DIR

#: Images of the review gallery (the issue asks for at least 200).
REVIEW_IMAGES = 210
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>
<style>body {{ margin: 0; font-family: serif; }} .grid {{ display: flex; flex-wrap: wrap; gap: 6px; padding: 6px; }}
img.art {{ width: 150px; height: 150px; object-fit: cover; display: block; }}</style></head>
<body><h1>{title}</h1><div class="grid">
{images}
</div></body></html>"""


class DataHandler(http.server.SimpleHTTPRequestHandler):
    """Serves ``/data/...`` from ``../shared/data`` and everything else from its own folder."""

    def translate_path(self, path: str) -> str:
        if path.startswith("/data/"):
            self.directory = str(DATA_DIR.resolve())
            path = path[len("/data"):]
        return super().translate_path(path)

    def log_message(self, *args):  # keep pytest output readable
        pass


@dataclass
class ReviewSite:
    """A local site on 127.0.0.1: ``url(name)`` of its pages; ``bytes_for(image URL)``."""

    base_url: str
    root: Path
    server: http.server.ThreadingHTTPServer
    pages: dict[str, str] = field(default_factory=dict)

    def url(self, page: str) -> str:
        return f"{self.base_url}/{page}"

    def bytes_for(self, url: str) -> bytes:
        path = unquote(urlsplit(url).path)
        if path.startswith("/data/"):
            return (DATA_DIR / path[len("/data/"):]).read_bytes()
        return (self.root / path.lstrip("/")).read_bytes()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def pick_dataset_images(count: int) -> list[str]:
    """``count`` distinct JPEG/PNG/WebP files of the data set (relative paths), alternating human
    and AI, in a fixed order."""
    with (DATA_DIR / "manifest.tsv").open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t") if r["format"] in ("JPEG", "PNG", "WEBP")]
    rows.sort(key=lambda r: hashlib.sha256(r["sha256"].encode()).hexdigest())
    seen, by_label = set(), {"human": [], "ai": []}
    for r in rows:
        if r["sha256"] not in seen:
            seen.add(r["sha256"])
            by_label[r["label"]].append(r["file"])
    return [by_label["human" if i % 2 == 0 else "ai"][i // 2] for i in range(count)]


def draw_images(folder: Path, count: int) -> list[str]:
    """``count`` small PNG drawings made here (coloured shapes, and pen strokes on paper), for
    screenshots."""
    from PIL import Image, ImageDraw

    names = []
    for i in range(count):
        sketch = i % 3 == 0
        img = Image.new("RGB", (256, 256), (250, 248, 240) if sketch else
                        (40 + 9 * i % 200, 90 + 23 * i % 150, 160 + 31 * i % 90))
        d = ImageDraw.Draw(img)
        for k in range(6 if not sketch else 40):
            x, y = (17 * i + 41 * k) % 200, (29 * i + 13 * k) % 200
            if sketch:
                d.line([x, y, x + (k * 37) % 56, y + (k * 23) % 56], fill=(20, 20, 20), width=1 + k % 3)
            else:
                d.ellipse([x, y, x + 40 + (k * 11 + i) % 60, y + 40 + (k * 7 + i) % 60],
                          fill=((60 * k + 37 * i) % 255, (90 * k + 11 * i) % 255, (30 * k + 71 * i) % 255))
        name = f"drawing-{i:02d}.png"
        img.save(folder / name)
        names.append(name)
    return names


def write_dataset_gallery(root: Path, filename: str, count: int) -> None:
    """A page of ``count`` data-set images (``/data/...`` URLs) with ``/broken.png`` in the middle."""
    tags = [f'<img class="art" src="/data/{quote(f)}" alt="artwork {i}">'
            for i, f in enumerate(pick_dataset_images(count))]
    tags.insert(count // 2, '<img class="art" src="/broken.png" alt="broken">')
    (root / filename).write_text(PAGE.format(title=f"Gallery of {count}", images="\n".join(tags)))


def build_review_site(root: Path) -> ReviewSite:
    """Write the pages and start the server: ``review-gallery.html`` (``REVIEW_IMAGES`` data-set
    images and one corrupt file) and ``drawings.html`` (drawn images and one corrupt file)."""
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)  # refused by the backend: an error
    write_dataset_gallery(root, "review-gallery.html", REVIEW_IMAGES)
    drawn = [f'<img class="art" src="/{n}" alt="drawing">' for n in draw_images(root, 23)] + \
        ['<img class="art" src="/broken.png" alt="broken">']
    (root / "drawings.html").write_text(PAGE.format(title="Drawings", images="\n".join(drawn)))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(DataHandler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return ReviewSite(base_url=f"http://127.0.0.1:{server.server_address[1]}", root=root, server=server)
