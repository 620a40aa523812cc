"""Memory of the default pipeline must not grow with clip length (issue #16).

The default preset runs in a fresh process on a clip that plays the same walkers forwards,
backwards, forwards and backwards, so every quarter asks the same work of every stage. After each
frame the probe reads how many bytes glibc's malloc has handed out and not yet taken back
(``mallinfo2``: heap in use plus mapped blocks). That covers torch, OpenCV, FFmpeg and numpy, which
tracemalloc does not see, and unlike RSS it is not hidden by free heap that glibc keeps: a leak
first reuses that slack, so RSS (and its peak) barely moves over a short clip while the bytes in
use grow at once. ``scripts/bench_memory.py`` measures peak RSS on real footage at full size.

The floor of the third quarter (its 10th percentile) must match that of the second (the first
warms up; in the last, the look-ahead and queues drain as the input ends and memory falls) within
a third of a frame per frame between them (22 MiB over 300-frame quarters). The stages run in
threads, so the frames in flight vary: each of the default pipeline's eight stages holds up to
three (its queue of two and the one it works on), the decode and encode queues more, and a probe
taken while the detector is inside a call also counts that call's activations. Hence the floor
rather than the median, and quarters long enough that the bound stays above what the queues can
hold: in probes, floors of 150-frame quarters differed by 0.4 MiB or less alone but by 11.4 MiB
once in a full-suite run. The leak of issue #16 kept about two frames per frame.
"""

import ctypes
import ctypes.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

WIDTH, HEIGHT, QUARTER = 320, 240, 300
FRAME_MIB = WIDTH * HEIGHT * 3 / 2**20
PROBE = f"""
import ctypes, json, sys
import vidinpaint
from vidinpaint.synthetic import walkers, write_clip

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                               "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(sys.argv[3])
libc.mallinfo2.restype = MallInfo2
scene = [f for f, _, _ in walkers({WIDTH}, {HEIGHT}, {QUARTER}, people=3, seed=3)]
write_clip(sys.argv[1], scene + scene[::-1] + scene + scene[::-1], fps=25)
leak, used = [], []
def progress(frame):
    if len(sys.argv) > 4:
        leak.append(frame.rgb.copy())
    info = libc.mallinfo2()
    used.append((info.uordblks + info.hblkhd) / 2**20)
# the leak's run needs no neural stage to show that the probe sees a frame kept per frame
cheap = ["shots.backend=off", "detect.every=10", "segment.backend=box", "fill.backend=off"] if len(sys.argv) > 4 else []
vidinpaint.clean(sys.argv[1], sys.argv[2], overwrite=True, progress=progress, overrides=cheap)
print(json.dumps(used))
"""


def _libc() -> str:
    name = ctypes.util.find_library("c") or "libc.so.6"
    try:
        ctypes.CDLL(name).mallinfo2
    except (OSError, AttributeError):
        pytest.skip("needs glibc >= 2.33 (mallinfo2) to read the bytes malloc has in use")
    return name


def growth(tmp_path, *extra: str) -> float:
    """MiB by which the floor (10th percentile) of the third quarter's bytes in use exceeds the second quarter's."""
    # Importing ultralytics (another test may have) sets OMP_NUM_THREADS=1 for every later child,
    # which changes torch's buffers; the run measured here gets the environment a user's would.
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    done = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path / "in.mp4"), str(tmp_path / "out.mp4"), _libc(),
                           *extra], capture_output=True, text=True, timeout=1200, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    used = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(used) == 4 * QUARTER
    return float(np.percentile(used[2 * QUARTER:3 * QUARTER], 10) - np.percentile(used[QUARTER:2 * QUARTER], 10))


BOUND = QUARTER * FRAME_MIB / 3  # a third of a frame per frame, over the quarter between the two floors


def test_default_pipeline_memory_does_not_grow_with_clip_length(tmp_path):
    grew = growth(tmp_path)
    assert grew < BOUND, f"memory in use grew by {grew:.1f} MiB over {QUARTER} frames"


def test_the_check_sees_a_leak_of_a_frame_per_frame(tmp_path):
    """The probe, on the cheap stages (half the time of the default's), sees a frame kept per frame."""
    grew = growth(tmp_path, "leak")
    assert grew > BOUND, f"keeping a frame per frame raised the memory in use by only {grew:.1f} MiB"
