"""Give a worker's freed memory back to the system between units of work.

A worker handles many units one after another. What a unit allocated is freed when it ends, but Python's and
glibc's heaps and Arrow's allocator (mimalloc or jemalloc) keep freed pages for reuse, and after a few large units
(books, long pages) a worker would sit at the high-water mark of the largest one plus fragmentation: measured on
the 5 GB bench, about 0.5 GB more per worker than at 1 GB. Releasing after every unit keeps a worker's resident
memory at what the unit in hand needs.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from functools import lru_cache

import pyarrow as pa


@lru_cache(maxsize=1)
def _malloc_trim():
    """glibc's malloc_trim, or None where the C library has none (macOS, musl)."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def release_memory() -> None:
    # The young generations only: a unit's cyclic garbage is recent, and a full collection walks every object of
    # the worker (0.1 s a unit, 1% of a run); the interpreter's own full collections still come in their turn.
    gc.collect(1)
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
