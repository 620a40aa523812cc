"""Keep the C heap from growing with the number of threads.

Every frame allocates and frees megabyte-sized buffers (numpy arrays, OpenCV and PyAV images,
torch activations) in several threads: decode, encode and one per stage. glibc gives threads up
to 8 arenas per core, and each arena keeps its own freed memory; two arenas are enough for
threads that mostly wait on each other, and hold less memory idle.

An earlier version also fixed the mmap threshold at 256 KiB, so that every large buffer was
mapped and unmapped; that made each torch activation a fresh set of page faults, which slowed
the detector much more than it saved in peak memory. ``scripts/bench_memory.py``
measures peak RSS against clip length. Other C libraries (musl, macOS) have no ``mallopt``;
there this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_ARENA_MAX = -8
ARENAS = 2


@functools.cache
def tune_allocator() -> str:
    """Set glibc's malloc to ``ARENAS`` arenas, once per process; returns what was done, for the stage lines."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return "system allocator (no mallopt)"
    ok = mallopt(M_ARENA_MAX, ARENAS) == 1
    return f"glibc malloc, {ARENAS} arenas" if ok else "glibc malloc (mallopt refused)"
