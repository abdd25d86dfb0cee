"""Every size, count and time limit, defined once in ``limits.json`` next to this file.

The JSON file is the single definition: the backend's configuration defaults (``backend.config``), the
preprocessing contract (``backend.preprocessing``), ``shinsaku scan`` and the WebExtension (which
imports the same file at build time) all read it. Keys carry their unit:

- ``max_image_bytes``: largest ``/v1/classify`` body and largest file ``scan`` reads (20 MiB).
- ``max_batch_bytes``: largest ``/v1/classify/batch`` body (64 MiB).
- ``max_batch_files``: most files in one batch request.
- ``max_pixels``, ``max_side``: largest decoded image (width * height) and side, pixels.
- ``max_aspect_ratio``: longest side / shortest side the backend and ``scan`` judge (422 beyond).
- ``decode_budget_bytes``: memory that concurrent decodes may hold together (estimated before decoding).
- ``max_header_bytes``: largest request line + headers.
- ``connection_limit``: open HTTP connections served at once (more wait in the listen backlog).
- ``channel_timeout_s``: an idle keep-alive connection is closed after this many seconds.
- ``request_read_timeout_s``: a request not fully received this many seconds after its first byte is
  dropped (slow-header and slow-body clients cannot hold connections).

Only the standard library is imported, so ``training`` can import ``backend.preprocessing`` cheaply.
"""

from __future__ import annotations

import json
from pathlib import Path

LIMITS_FILE = Path(__file__).resolve().parent / "limits.json"
LIMITS: dict[str, int] = json.loads(LIMITS_FILE.read_text(encoding="utf-8"))

MAX_IMAGE_BYTES: int = LIMITS["max_image_bytes"]
MAX_BATCH_BYTES: int = LIMITS["max_batch_bytes"]
MAX_BATCH_FILES: int = LIMITS["max_batch_files"]
MAX_PIXELS: int = LIMITS["max_pixels"]
MAX_SIDE: int = LIMITS["max_side"]
MAX_ASPECT_RATIO: float = LIMITS["max_aspect_ratio"]
DECODE_BUDGET_BYTES: int = LIMITS["decode_budget_bytes"]
MAX_HEADER_BYTES: int = LIMITS["max_header_bytes"]
CONNECTION_LIMIT: int = LIMITS["connection_limit"]
CHANNEL_TIMEOUT_S: int = LIMITS["channel_timeout_s"]
REQUEST_READ_TIMEOUT_S: int = LIMITS["request_read_timeout_s"]
