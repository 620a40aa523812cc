"""Peak memory of `clean` must not grow with clip length (streaming, bounded queues)."""

import tracemalloc


import vidinpaint
from vidinpaint.synthetic import walkers, write_clip


def peak_bytes(path, out):
    tracemalloc.start()
    vidinpaint.clean(path, out, settings={"detect": {"backend": "motion", "window": 10, "stride": 2},
                                                  "segment": {"backend": "box"}, "fill": {"window": 5}})
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_peak_memory_does_not_depend_on_clip_length(tmp_path):
    short, long = tmp_path / "short.mp4", tmp_path / "long.mp4"
    write_clip(short, (f for f, _, _ in walkers(192, 144, 40)), fps=25)
    write_clip(long, (f for f, _, _ in walkers(192, 144, 200)), fps=25)
    a = peak_bytes(short, tmp_path / "a.mp4")
    b = peak_bytes(long, tmp_path / "b.mp4")
    frame = 192 * 144 * 3
    assert b < a * 1.25, (a, b)  # 5x the frames, the same peak
    print(f"peak {a / frame:.1f} vs {b / frame:.1f} frames")
    assert b < 120 * frame  # far below holding 200 frames (200 * frame)
