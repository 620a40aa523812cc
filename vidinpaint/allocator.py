"""Keep the C heap from growing with clip length.

Every frame allocates and frees megabyte-sized buffers (numpy arrays, OpenCV and PyAV images,
torch activations) from several threads. glibc's default policy raises its mmap threshold each
time such a buffer is freed (up to 32 MB), so later buffers of that size come from per-thread
heaps instead of being mapped and unmapped; freed heap chunks between live ones cannot go back
to the system, and the heaps of up to 8 arenas per core can fragment a little more with every frame.

A fixed threshold (large buffers always mapped, so freeing one returns it at once) and two
arenas guard against that; ``scripts/bench_memory.py`` measures peak RSS against clip length.
Other C libraries (musl, macOS) have no ``mallopt``; there this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MMAP_THRESHOLD = 256 * 1024  # bytes: anything as large as a 256x256 RGB image is mapped
TRIM_THRESHOLD = 32 * 1024 * 1024  # bytes of free heap top kept before giving it back
ARENAS = 2


@functools.cache
def tune_allocator() -> str:
    """Set glibc's malloc to a fixed mmap threshold and ``ARENAS`` arenas, once per process;
    returns what was done, for the stage lines."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return "system allocator (no mallopt)"
    ok = all(mallopt(option, value) == 1 for option, value in (
        (M_MMAP_THRESHOLD, MMAP_THRESHOLD), (M_TRIM_THRESHOLD, TRIM_THRESHOLD), (M_ARENA_MAX, ARENAS)))
    return f"glibc malloc, mmap >= {MMAP_THRESHOLD // 1024} KiB, {ARENAS} arenas" if ok else "glibc malloc (mallopt refused)"
