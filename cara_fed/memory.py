"""Giving the memory of decoded images back to the operating system once a job is done with it.

glibc serves big allocations from mmap and unmaps them on free, but it raises that threshold every time a big
block is freed (up to 32 MiB), after which a worker's image buffers come from the heap and stay resident after
the job, fragmented across thread arenas: a worker that once decoded a large image kept its peak for good.
Pinning the threshold at 1 MiB keeps image-sized blocks on mmap (freed at once), and a trim after each media
job returns what the heap still holds. Both are no-ops where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import logging
import sys
from functools import cache

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
MMAP_THRESHOLD = 1 << 20


@cache
def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def keep_big_allocations_returnable() -> None:
    """Call once per process that decodes images (the worker, or `serve` with its embedded worker)."""
    libc = _glibc()
    if libc is not None and not libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD):
        log.warning("could not pin the mmap threshold; freed image memory may stay resident")


def trim() -> None:
    """Return free heap memory to the system (after a media job; takes about a millisecond)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
