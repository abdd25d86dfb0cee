"""Fixtures for the extension's end-to-end tests: the built Chromium extension, a local gallery
site made at test time from ``../shared/data``, and Debian's Chromium driven by Playwright with the
extension loaded. The backend is the shared ``live_backend`` fixture (real server, real model)."""

from __future__ import annotations

import base64
import csv
import functools
import http.server
import io
import json
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from ext_helpers import CHROMIUM, DATA_DIR, EXT_DIR, Gallery


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Debian's Chromium; the end-to-end tests skip when it is not installed."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="session")
def extension_build() -> Path:
    """``extension/build/chromium``, freshly built with ``node scripts/build.mjs``."""
    if shutil.which("node") is None:
        pytest.fail("node is required to build the extension")
    if not (EXT_DIR / "node_modules" / "esbuild").exists():
        pytest.fail("extension/node_modules is missing: run `cd extension && npm ci` first")
    subprocess.run(["node", "scripts/build.mjs"], cwd=EXT_DIR, check=True, capture_output=True)
    out = EXT_DIR / "build" / "chromium"
    assert (out / "manifest.json").exists()
    return out


def _pick_images(count: int) -> list[Path]:
    """Deterministic mix of human and AI images big enough to be checked (>= 200 px)."""
    manifest = DATA_DIR / "manifest.tsv"
    with manifest.open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t")
                if int(r["width"]) >= 200 and int(r["height"]) >= 200 and r["format"] in ("JPEG", "PNG", "WEBP")]
    rows.sort(key=lambda r: r["sha256"])
    by_label = {lab: [r for r in rows if r["label"] == lab] for lab in ("human", "ai")}
    picked = []
    for i in range(count):
        pool = by_label["human" if i % 2 == 0 else "ai"]
        picked.append(DATA_DIR / pool[i // 2]["file"])
    return picked


PAGE_HEAD = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>
<style>
  body {{ margin: 0; font-family: serif; background: #fafafa; }}
  .grid {{ display: flex; flex-wrap: wrap; gap: 8px; padding: 8px; }}
  img.art {{ width: 200px; height: 200px; object-fit: cover; display: block; }}
  h1 {{ margin: 8px; font-size: 20px; }}
</style></head><body><h1>{title}</h1>
"""

SHADOW_SCRIPT = """<script>
customElements.define('art-card', class extends HTMLElement {
  connectedCallback() {
    if (this.shadowRoot) return;
    const root = this.attachShadow({mode: 'open'});
    root.innerHTML = '<style>img{width:200px;height:200px;object-fit:cover;display:block}</style>' +
      '<img id="shadowimg" src="' + this.getAttribute('src') + '">';
  }
});
</script>"""


def _write_pages(root: Path, f: dict[str, str], data_url: str, cdn_url: str) -> None:
    gallery = PAGE_HEAD.format(title="Shinsaku test gallery") + f"""
<div class="grid" id="top">
  <img id="plain1" class="art" src="{f['plain1']}" alt="plain 1">
  <img id="plain2" class="art" src="{f['plain2']}" alt="plain 2">
  <img id="srcset" class="art" src="{f['srcset_small']}" srcset="{f['srcset_small']} 90w, {f['srcset_big']} 800w" sizes="200px" alt="srcset">
  <picture id="pic"><source type="image/webp" srcset="{f['pic_webp']}"><img id="picimg" class="art" src="{f['pic_fallback']}" alt="picture"></picture>
  <art-card id="card" src="{f['shadow']}"></art-card>
  <img id="dataimg" class="art" src="{data_url}" alt="data url">
  <img id="cdnimg" class="art" src="{cdn_url}/{f['cdn']}" alt="from another host">
  <img id="nocors" class="art" src="{cdn_url}/{f['nocors']}" alt="unreadable for the extension">
  <img id="tiny" src="{f['tiny']}" style="width:64px;height:64px" alt="tiny">
  <img id="strip" class="art" src="{f['strip']}" alt="a 16384 x 1 strip stretched by CSS">
  <img id="band" class="art" src="{f['band']}" alt="a 4000 x 40 band (100:1) stretched by CSS">
  <div style="display:none"><img id="hidden1" class="art" src="{f['hidden1']}" alt="hidden 1"></div>
  <img id="hidden2" class="art" src="{f['hidden2']}" style="visibility:hidden" alt="hidden 2">
</div>
<div class="grid" id="lazyzone"></div>
<div style="height:2600px"></div>
<div class="grid"><img id="belowfold" class="art" loading="lazy" src="{f['belowfold']}" alt="below the fold"></div>
<div class="grid" id="feed"></div>
<div id="sentinel" style="height:20px"></div>
<div style="height:400px"></div>
{SHADOW_SCRIPT}
<script>
  // A lazy loader: the image comes in without src, the loader sets it a moment later.
  setTimeout(() => {{
    const img = document.createElement('img');
    img.id = 'lazy1'; img.className = 'art'; img.alt = 'lazy'; img.dataset.src = {json.dumps(f['lazy1'])};
    document.getElementById('lazyzone').append(img);
    setTimeout(() => {{ img.src = img.dataset.src; }}, 300);
  }}, 800);
  // Infinite scroll: each time the sentinel shows, one more image is appended.
  const more = {json.dumps([f['feed1'], f['feed2']])};
  const sentinel = document.getElementById('sentinel');
  const feed = new IntersectionObserver((entries) => {{
    if (!entries.some((e) => e.isIntersecting) || !more.length) return;
    const img = document.createElement('img');
    img.className = 'art'; img.id = 'feed' + (3 - more.length); img.src = more.shift(); img.alt = 'feed';
    document.getElementById('feed').append(img);
    // Like real feeds: load more while the end of the page stays in view.
    setTimeout(() => {{ feed.unobserve(sentinel); feed.observe(sentinel); }}, 300);
  }});
  feed.observe(sentinel);
</script>
</body></html>"""
    (root / "gallery.html").write_text(gallery)


@pytest.fixture(scope="session")
def gallery(tmp_path_factory) -> Gallery:
    """A local art site on 127.0.0.1 (its own port), built from ``../shared/data``."""
    if not (DATA_DIR / "manifest.tsv").exists():
        pytest.skip(f"no training images at {DATA_DIR.resolve()} (needed to build the gallery pages)")
    root = tmp_path_factory.mktemp("gallery")
    (root / "img").mkdir()
    names = ["plain1", "plain2", "srcset_small", "srcset_big", "pic_webp", "pic_fallback", "shadow",
             "tiny", "hidden1", "hidden2", "lazy1", "belowfold", "feed1", "feed2", "cdn", "nocors"]
    files: dict[str, str] = {}
    for i, (name, src) in enumerate(zip(names, _pick_images(len(names)))):
        ext = src.suffix.lower()
        if name == "pic_webp":  # the <source type="image/webp"> must really be WebP
            from PIL import Image
            dest = root / "img" / f"{i:02d}-{name}.webp"
            Image.open(src).convert("RGB").save(dest, "WEBP", quality=90)
        else:
            dest = root / "img" / f"{i:02d}-{name}{ext}"
            shutil.copyfile(src, dest)
        files[name] = f"img/{dest.name}"
    # Page tricks: images the backend refuses (beyond 50:1, or 1 px high) shown 200 x 200 by CSS.
    from PIL import Image
    for name, size in (("strip", (16384, 1)), ("band", (4000, 40))):
        Image.new("RGB", size, (180, 40, 90)).save(root / "img" / f"{name}.png")
        files[name] = f"img/{name}.png"
    # A data: URL image (read by the content script, not fetched by the background).
    buf = io.BytesIO()
    Image.open(_pick_images(18)[17]).convert("RGB").resize((256, 256)).save(buf, "PNG")
    data_url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    # An image host the extension has no permission for (like an art site's CDN): 127.0.0.2 is
    # loopback too but not covered by the extension's host permissions. It sends CORS headers, so
    # they can be read; files named *nocors* can't, and must end as error badges.
    cdn = http.server.ThreadingHTTPServer(("127.0.0.2", 0), functools.partial(CorsHandler, directory=str(root)))
    cdn_url = f"http://127.0.0.2:{cdn.server_address[1]}"
    _write_pages(root, files, data_url, cdn_url)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(root)))
    for srv in (server, cdn):
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    g = Gallery(base_url=f"http://127.0.0.1:{server.server_address[1]}", root=root, files=files, cdn_url=cdn_url)
    yield g
    for srv in (server, cdn):
        srv.shutdown()
        srv.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output readable
        pass


class CorsHandler(QuietHandler):
    """Serves CORS-enabled images, except files named ``*nocors*`` (readable by no extension path)."""

    def end_headers(self):
        if "nocors" not in self.path:
            self.send_header("Access-Control-Allow-Origin", "*")
        super().end_headers()


@pytest.fixture(scope="module")
def browser(chromium_path, extension_build, tmp_path_factory):
    """A persistent Chromium context with the unpacked extension loaded (headless=new).

    Yields ``(context, extension_id)``.
    """
    from playwright.sync_api import sync_playwright

    user_dir = tmp_path_factory.mktemp("chromium-profile")
    args = [
        "--headless=new",
        f"--disable-extensions-except={extension_build}",
        f"--load-extension={extension_build}",
        "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync",
    ]
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(user_dir), executable_path=str(chromium_path), headless=False, args=args,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            workers = context.service_workers or [context.wait_for_event("serviceworker", timeout=30000)]
            ext_id = workers[0].url.split("/")[2]
            yield context, ext_id
        finally:
            context.close()


@pytest.fixture(scope="session")
def review_site(tmp_path_factory):
    """The review page's sites (see ``review_site.py``): ``REVIEW_IMAGES`` real images served from
    ``../shared/data`` and a small drawn gallery for screenshots."""
    if not (DATA_DIR / "manifest.tsv").exists():
        pytest.skip(f"no training images at {DATA_DIR.resolve()} (needed to build the review gallery)")
    from review_site import build_review_site

    site = build_review_site(tmp_path_factory.mktemp("review-site"))
    yield site
    site.close()
