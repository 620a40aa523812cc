#!/usr/bin/env python3
"""Peak RSS of `vidinpaint clean` against clip length, for the presets as users run them.

Each run is the real CLI (`python -m vidinpaint clean -q`) in a fresh process; its peak RSS is
the kernel's (``wait4`` rusage of that child alone). The long clip is the short one played
``--times`` times, alternately forwards and backwards, so the content (people, holes, motion)
stays the same and only the length changes. Both clips are written the same way (x264
lossless, 4:2:0 as the sample), the short one being the clip played once: a decoder's pictures
are then the same size in both (an earlier version compared the 4:2:0 sample against a 4:4:4
long clip, whose decoded pictures are twice as large); a clip with an odd side cannot be written
in 4:2:0, and a deeper or 4:4:4 one is measured as 8-bit 4:2:0. Prints the machine line and one
row per preset.

Usage: python scripts/bench_memory.py [--clip samples/vtest.mp4] [--times 4] [--presets default,fast,quality]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import av

from vidinpaint.devices import cpu_line

ROOT = Path(__file__).resolve().parents[1]


def machine() -> str:
    return f"{cpu_line()}, Python {platform.python_version()}, PyAV {av.__version__}"


def ping_pong(src: Path, dst: Path, times: int) -> int:
    """``src`` played ``times`` times, reversed every other time, re-encoded losslessly (of its
    pictures in 4:2:0); returns frames."""
    with av.open(str(src)) as inp:
        stream = inp.streams.video[0]
        rate = stream.average_rate
        frames = [f.to_ndarray(format="rgb24") for f in inp.decode(stream)]
    h, w = frames[0].shape[:2]
    with av.open(str(dst), "w") as out:
        video = out.add_stream("libx264", rate=rate, options={"crf": "0", "preset": "ultrafast"})
        video.width, video.height, video.pix_fmt = w, h, "yuv420p"
        for k in range(times):
            for rgb in frames if k % 2 == 0 else frames[::-1]:
                out.mux(video.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        out.mux(video.encode(None))
    return len(frames) * times


def peak_rss(clip: Path, out: Path, preset: str) -> float:
    """Peak RSS (MiB) of one `clean` run in a fresh process."""
    proc = subprocess.Popen([sys.executable, "-m", "vidinpaint", "clean", str(clip), "-o", str(out), "-c", preset,
                             "--overwrite", "-q"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"clean -c {preset} {clip} failed: {proc.stderr.read().decode().strip()}")
    return usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, default=ROOT / "samples" / "vtest.mp4")
    parser.add_argument("--times", type=int, default=4)
    parser.add_argument("--presets", default="default,fast,quality")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        short, long = Path(tmp) / "x1.mp4", Path(tmp) / f"x{args.times}.mp4"
        short_frames, frames = ping_pong(args.clip, short, 1), ping_pong(args.clip, long, args.times)
        with av.open(str(short)) as clip:
            rate = clip.streams.video[0].average_rate
        print(f"clip: {args.clip.name} ({short_frames} frames, {float(short_frames / rate):.0f} s) and it played "
              f"{args.times} times ({frames} frames, {float(frames / rate):.0f} s), both x264 lossless 4:2:0")
        print(f"| preset | peak RSS, {short_frames} frames | peak RSS, {frames} frames | growth |")
        print("|---|---:|---:|---:|")
        for preset in args.presets.split(","):
            a = peak_rss(short, Path(tmp) / "a.mp4", preset)
            b = peak_rss(long, Path(tmp) / "b.mp4", preset)
            print(f"| {preset} | {a:.0f} MiB | {b:.0f} MiB | {100 * (b / a - 1):+.1f} % |", flush=True)


if __name__ == "__main__":
    main()
