"""Thread-safe in-memory LRU cache of results, keyed by the sha256 of the image bytes."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: hashing an image (image_key) needs no onnxruntime
    from backend.inference import ModelOutputs


def image_key(data: bytes) -> str:
    """The cache key of image bytes: their sha256 as 64 lowercase hex characters."""
    return hashlib.sha256(data).hexdigest()


class ResultCache:
    """LRU mapping ``image_key -> ModelOutputs`` (``backend.inference``: the model's record of one
    image) holding at most ``maxsize`` entries; ``maxsize`` 0 disables caching. All methods are safe
    to call from several threads."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = max(0, int(maxsize))
        self._data: OrderedDict[str, ModelOutputs] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> ModelOutputs | None:
        """The cached record for ``key`` (marking it recently used), or None."""
        with self._lock:
            value = self._data.get(key)
            if value is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: str, value: ModelOutputs) -> None:
        """Store ``value`` under ``key``, evicting the least recently used entry when full."""
        if self.maxsize == 0:
            return
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)
