"""Keep the C heap from growing with the number of threads.

Every frame allocates and frees megabyte-sized buffers (numpy arrays, OpenCV and PyAV images,
torch activations) in several threads: decode, encode and one per stage. glibc gives threads up
to 8 arenas per core, and each arena keeps its own freed memory; two arenas are enough for
threads that mostly wait on each other, and hold less memory idle.

Buffers up to ``MMAP_MAX`` (a 1080p frame's float copies, its fill's carry) come from the heap,
and up to ``TRIM`` of freed memory stays at the top of each arena's heap, instead of being mapped
for each frame and handed back after it: each new mapping is a fresh set of page faults. The
cost is up to that much memory held while idle; ``scripts/bench_memory.py``'s peaks did not
rise above earlier runs' (docs/BENCHMARKS.md). glibc's own
threshold starts at 128 KiB and rises only as mapped buffers are freed, and its trim threshold
follows at twice that: a 1080p frame's buffers, freed together, were handed back and faulted in
again on the next frame (``tests/test_allocator.py`` checks that they stay). An earlier
version fixed the threshold at 256 KiB, so that every large buffer was mapped and unmapped,
which slowed the detector much more than it saved in peak memory. ``scripts/bench_memory.py``
measures peak RSS against clip length. Other C libraries (musl, macOS) have no ``mallopt``;
there this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_ARENA_MAX = -8
M_MMAP_THRESHOLD = -3
M_TRIM_THRESHOLD = -1
ARENAS = 2
MMAP_MAX = 32 << 20  # glibc's largest threshold on 64-bit
TRIM = 64 << 20


@functools.cache
def tune_allocator() -> str:
    """Set glibc's malloc's arenas and thresholds, once per process; returns what was done."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return "system allocator (no mallopt)"
    settings = {f"{ARENAS} arenas": (M_ARENA_MAX, ARENAS),
                f"buffers up to {MMAP_MAX >> 20} MiB from the heap": (M_MMAP_THRESHOLD, MMAP_MAX),
                f"{TRIM >> 20} MiB kept": (M_TRIM_THRESHOLD, TRIM)}
    refused = [name for name, (option, value) in settings.items() if mallopt(option, value) != 1]
    return "glibc malloc, " + ", ".join(settings) + (f" (refused: {', '.join(refused)})" if refused else "")
