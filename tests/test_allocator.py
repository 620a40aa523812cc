"""The allocator setting keeps a frame's large buffers in the heap between frames (vidinpaint/allocator.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

FRAMES = '''
import ctypes, sys
import numpy as np
from vidinpaint.allocator import tune_allocator

class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]

try:
    mallinfo2 = ctypes.CDLL("libc.so.6").mallinfo2
except (OSError, AttributeError):
    print("no mallinfo2")
    sys.exit()
mallinfo2.restype = Info
if sys.argv[1] == "tuned":
    tune_allocator()
for frame in range(6):  # a frame's buffers, as the fill's carry makes them: written, then all freed
    buffers = [np.ones((1080, 1920, 4), np.uint8) for _ in range(3)]
    del buffers
print(mallinfo2().fordblks >> 20)
'''


def _free_megabytes(mode: str) -> str:
    """MiB of freed memory the C heap keeps after six frames of three 8 MB buffers each."""
    env = {k: v for k, v in os.environ.items()  # glibc's own defaults, whatever this shell set
           if not k.startswith(("MALLOC_", "GLIBC_TUNABLES")) and k != "LD_PRELOAD"}
    run = subprocess.run([sys.executable, "-c", FRAMES, mode], capture_output=True, text=True, check=True, env=env)
    return run.stdout.strip()


def test_a_frames_buffers_stay_in_the_heap_for_the_next_frame():
    """glibc's own thresholds hand most of the heap's top back after each frame (all but about one
    of the three buffers), and the next frame's buffers are faulted in again; tuned, all three
    (23.7 MiB) stay for the next frame."""
    tuned = _free_megabytes("tuned")
    if tuned == "no mallinfo2":
        pytest.skip("not glibc 2.33 or later")
    assert int(tuned) >= 20 > 16 > int(_free_megabytes("plain"))
