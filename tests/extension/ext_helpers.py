"""Shared helpers of the extension end-to-end tests (paths, the gallery site description)."""

from __future__ import annotations

import base64
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
EXT_DIR = REPO / "extension"
DATA_DIR = REPO / ".." / "shared" / "data"
CHROMIUM = Path(os.environ.get("SHINSAKU_CHROMIUM", "/usr/bin/chromium"))
#: Chromium extension ID fixed by the manifest ``key`` (the backend allows its origin by default).
EXTENSION_ID = "ocllolngjednbkannikihobbnanlliko"
ARTIFACTS = REPO / "artifacts"
#: Longest wait for the extension or the backend in a browser, ms.
WAIT_MS = 60_000


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Gallery:
    """The local art site: ``base_url`` serves ``root``; ``files`` maps names to image paths."""

    base_url: str
    root: Path
    files: dict[str, str] = field(default_factory=dict)
    cdn_url: str = ""

    def url(self, name: str) -> str:
        return f"{self.base_url}/{name}"

    def bytes_for(self, url: str) -> bytes:
        """The bytes behind an image URL of this site (or a ``data:`` URL)."""
        if url.startswith("data:"):
            return base64.b64decode(url.split(",", 1)[1])
        for base in (self.base_url, self.cdn_url):
            if base and url.startswith(base + "/"):
                return (self.root / url[len(base) + 1:]).read_bytes()
        raise AssertionError(f"not an image of the gallery: {url}")


def sw_eval(context, expression: str, arg=None):
    """Evaluate in the extension's service worker (fetched anew: MV3 workers come and go)."""
    workers = [w for w in context.service_workers if EXTENSION_ID in w.url]
    worker = workers[0] if workers else context.wait_for_event("serviceworker", timeout=30000)
    return worker.evaluate(expression, arg)


def set_settings(context, **values) -> None:
    """Write settings the way the options page does, then wait for the auto-label registration."""
    sw_eval(context, """async (v) => { await chrome.storage.local.set(v); await shinsaku.syncAutoLabel(); }""", values)


def backend_label(backend: str, data: bytes) -> dict:
    """What the backend itself answers for these bytes."""
    resp = requests.post(f"{backend}/v1/classify", data=data,
                         headers={"Content-Type": "application/octet-stream"}, timeout=120)
    assert resp.status_code == 200, resp.text
    return resp.json()


def tab_id(context, url: str) -> int:
    """The id of the tab showing ``url``."""
    return sw_eval(context, "async (u) => (await chrome.tabs.query({url: u}))[0].id", url)


def screenshot(page, name: str) -> None:
    """Save a screenshot of the viewport as ``artifacts/<name>``."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=False)
    print(f"screenshot: {path}")


def shown_probability(p: float) -> str:
    """How the extension shows a probability (``src/utils/format.js``): never "100%" or "0%"."""
    if p > 0.99:
        return "> 99%"
    if p < 0.01:
        return "< 1%"
    return f"{min(99, max(1, int(p * 100 + 0.5)))}%"


def open_review_page(context, ext_id: str, page_url: str, timeout_ms: int = WAIT_MS):
    """Open the review page for the tab showing ``page_url`` and wait until its scan is shown."""
    page = context.new_page()
    page.goto(f"chrome-extension://{ext_id}/ui/review/review.html?tabId={tab_id(context, page_url)}")
    page.wait_for_selector("body[data-ready='true']", timeout=timeout_ms)
    return page


def open_loaded_page(context, url: str, timeout_ms: int = WAIT_MS):
    """A new tab showing ``url`` once every image of it has loaded."""
    page = context.new_page()
    page.goto(url)
    page.wait_for_function("[...document.images].every((i) => i.complete)", timeout=timeout_ms)
    return page
