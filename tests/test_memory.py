"""Memory of the default pipeline must not grow with clip length (issue #16).

RSS, not tracemalloc: torch, OpenCV and FFmpeg allocate outside Python's view. The default preset
runs in a fresh process on a generated clip with walkers; RSS is read after every frame, and
past the warm-up (windows and queues filling, ~40 frames) its trend must be flat: keeping even
half a frame per frame alive would exceed the bound. ``scripts/bench_memory.py`` measures the
same on real footage at full size.
"""

import json
import subprocess
import sys

import numpy as np

WIDTH, HEIGHT, FRAMES, WARM_UP = 320, 240, 120, 40
PROBE = f"""
import json, sys
import vidinpaint
from vidinpaint.synthetic import walkers, write_clip
write_clip(sys.argv[1], (f for f, _, _ in walkers({WIDTH}, {HEIGHT}, {FRAMES}, people=3, seed=3)), fps=25)
leak, rss = [], []
def progress(frame):
    if len(sys.argv) > 3:
        leak.append(frame.rgb.copy())
    rss.append(int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20)
vidinpaint.clean(sys.argv[1], sys.argv[2], overwrite=True, progress=progress)
print(json.dumps(rss))
"""


def rss_trend(tmp_path, *extra: str) -> float:
    """MiB per frame that RSS grows by after the warm-up, from a least-squares line."""
    done = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path / "in.mp4"), str(tmp_path / "out.mp4"), *extra],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    rss = np.array(json.loads(done.stdout.strip().splitlines()[-1]))
    assert len(rss) == FRAMES
    return float(np.polyfit(np.arange(WARM_UP, FRAMES), rss[WARM_UP:], 1)[0])


def test_default_pipeline_memory_does_not_grow_with_clip_length(tmp_path):
    frame_mib = WIDTH * HEIGHT * 3 / 2**20
    slope = rss_trend(tmp_path)
    assert slope < 0.5 * frame_mib, f"RSS grows by {slope:.3f} MiB per frame (a frame is {frame_mib:.3f} MiB)"
