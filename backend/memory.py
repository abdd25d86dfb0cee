"""Bounded decoding memory: a budget that concurrent decodes share, and handing freed memory back to
the operating system (glibc keeps large freed buffers in its heaps otherwise)."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import threading
from collections.abc import Iterator

#: Decodes estimated at this many bytes or more are followed by ``release_free_memory``.
TRIM_AFTER_BYTES = 32 * 1024 * 1024
#: glibc ``mallopt`` parameter number of ``M_MMAP_THRESHOLD``.
_M_MMAP_THRESHOLD = -3
#: Allocations of at least this many bytes get their own mapping, returned to the OS when freed.
MMAP_THRESHOLD_BYTES = 1024 * 1024


class BudgetTimeout(RuntimeError):
    """The decode budget stayed in use for the whole wait; retry later (HTTP 503 busy)."""


class DecodeBudget:
    """A memory budget, in bytes, shared by concurrent decodes (a semaphore weighted by size).

    ``hold(n)`` waits until ``n`` bytes are free (a request larger than the whole budget waits for
    all of it, so it runs alone) and gives them back on exit. N hostile requests therefore cannot
    hold more than ``capacity`` bytes of decoded pixels together. Safe from any number of threads.
    """

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError(f"the decode budget must be positive, got {capacity} bytes")
        self.capacity = int(capacity)
        self.in_use = 0
        self._cond = threading.Condition()

    @contextlib.contextmanager
    def hold(self, nbytes: int, timeout: float | None = None) -> Iterator[None]:
        """Hold ``min(nbytes, capacity)`` bytes for the ``with`` block.

        Raises:
            BudgetTimeout: not enough bytes freed within ``timeout`` seconds (None: wait forever).
        """
        need = max(0, min(int(nbytes), self.capacity))
        with self._cond:
            if not self._cond.wait_for(lambda: self.in_use + need <= self.capacity, timeout):
                raise BudgetTimeout(f"decoding memory is in use ({self.in_use} of {self.capacity} bytes)")
            self.in_use += need
        try:
            yield
        finally:
            with self._cond:
                self.in_use -= need
                self._cond.notify_all()


def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        return libc if libc is not None and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


_LIBC = _glibc()


def tune_allocator() -> bool:
    """Make glibc serve allocations of ``MMAP_THRESHOLD_BYTES`` or more (image buffers) from their
    own mappings, which ``free`` returns to the OS at once; without it glibc raises the threshold
    after the first large free and keeps later image buffers in its heaps. Process-wide and
    idempotent; returns False where the C library is not glibc."""
    return bool(_LIBC is not None and _LIBC.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))


def release_free_memory() -> bool:
    """glibc ``malloc_trim(0)``: hand free heap pages of every arena back to the OS. Returns True
    when memory was released; False when none was or the C library is not glibc."""
    return bool(_LIBC is not None and _LIBC.malloc_trim(0))
