"""Shared helpers of the extension end-to-end tests (paths, the gallery site description)."""

from __future__ import annotations

import base64
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXT_DIR = REPO / "extension"
DATA_DIR = REPO / ".." / "shared" / "data"
CHROMIUM = Path(os.environ.get("SHINSAKU_CHROMIUM", "/usr/bin/chromium"))
#: Chromium extension ID fixed by the manifest ``key`` (the backend allows its origin by default).
EXTENSION_ID = "ocllolngjednbkannikihobbnanlliko"
ARTIFACTS = REPO / "artifacts"


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


