"""Memory of the default pipeline must not grow with clip length (issue #16).

RSS, not tracemalloc: torch, OpenCV and FFmpeg allocate outside Python's view. The default preset
runs in a fresh process on a clip that plays the same walkers forwards, backwards, forwards and
backwards, so every quarter asks the same work of every stage; RSS is read after each frame.
Past the warm-up quarter, the median of the last quarter must match that of the second: keeping
a quarter of a frame per frame alive would exceed the bound, while a passing spike (threads
overlapping their buffers on a loaded machine, which glibc may keep as free heap) moves no median. ``scripts/bench_memory.py``
measures the same on real footage at full size.
"""

import json
import subprocess
import sys

import numpy as np

WIDTH, HEIGHT, QUARTER = 320, 240, 30
PROBE = f"""
import json, sys
import vidinpaint
from vidinpaint.synthetic import walkers, write_clip
scene = [f for f, _, _ in walkers({WIDTH}, {HEIGHT}, {QUARTER}, people=3, seed=3)]
write_clip(sys.argv[1], scene + scene[::-1] + scene + scene[::-1], fps=25)
leak, rss = [], []
def progress(frame):
    if len(sys.argv) > 3:
        leak.append(frame.rgb.copy())
    rss.append(int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20)
vidinpaint.clean(sys.argv[1], sys.argv[2], overwrite=True, progress=progress)
print(json.dumps(rss))
"""


def rss_growth(tmp_path, *extra: str) -> float:
    """MiB by which the last quarter's median RSS exceeds the second quarter's."""
    done = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path / "in.mp4"), str(tmp_path / "out.mp4"), *extra],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    rss = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(rss) == 4 * QUARTER
    return float(np.median(rss[3 * QUARTER:]) - np.median(rss[QUARTER:2 * QUARTER]))


def test_default_pipeline_memory_does_not_grow_with_clip_length(tmp_path):
    frame_mib = WIDTH * HEIGHT * 3 / 2**20
    growth = rss_growth(tmp_path)
    assert growth < 0.25 * 2 * QUARTER * frame_mib, f"RSS grew by {growth:.1f} MiB over {2 * QUARTER} frames"
