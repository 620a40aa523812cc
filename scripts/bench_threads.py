#!/usr/bin/env python3
"""Where one `clean` run's CPU goes, thread by thread: each of the pipeline's threads by name (a
stage, decode, encode, GrabCut's workers), the main thread, and what is left of the process's CPU
time, spent in threads Python did not start (OpenCV's and torch's thread pools, FFmpeg's
decoder threads). The stage timings (`clean --timings`) say how long each stage took; this says
how much of a core it used, and whether a node's cores work for the stages or elsewhere.

Usage: python scripts/bench_threads.py [--clip samples/vtest.mp4] [--scaled 1920x1080 --frames 75]
       [--config fast] [--set KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import vidinpaint
from vidinpaint.devices import cpu_line
from vidinpaint.synthetic import write_scaled

ROOT = Path(__file__).resolve().parents[1]


def count_threads() -> Counter:
    """CPU seconds of every Python thread started from now on, by name, added as each one ends."""
    spent: Counter = Counter()
    run = threading.Thread.run

    def timed(self: threading.Thread) -> None:
        try:
            run(self)
        finally:
            spent[self.name] += time.thread_time()

    threading.Thread.run = timed
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, default=ROOT / "samples" / "vtest.mp4")
    parser.add_argument("--scaled", default="", help="WIDTHxHEIGHT: the clip scaled first (as bench_throughput does)")
    parser.add_argument("--frames", type=int, default=0, help="with --scaled: only the first N frames")
    parser.add_argument("--config", default=None, help="a preset or YAML file")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clip = args.clip
        if args.scaled:
            width, height = (int(v) for v in args.scaled.split("x"))
            clip = Path(tmp) / f"scaled{Path(args.clip).suffix}"
            write_scaled(args.clip, clip, width, height, frames=args.frames or None)
        spent = count_threads()
        start, cpu, main_cpu = time.perf_counter(), time.process_time(), time.thread_time()
        result = vidinpaint.clean(clip, Path(tmp) / f"out{clip.suffix}", config=args.config,
                                  overrides=args.overrides, overwrite=True)
        wall, cpu, main_cpu = time.perf_counter() - start, time.process_time() - cpu, time.thread_time() - main_cpu
    named = sum(spent.values())
    print(f"machine: {cpu_line()}")
    print(f"{clip.name if not args.scaled else args.scaled} from {Path(args.clip).name}, {result.frames} frames, "
          f"preset {args.config or 'default'}{', ' + ' '.join(args.overrides) if args.overrides else ''}: "
          f"{wall:.1f} s wall, {cpu:.1f} CPU-seconds ({cpu / wall:.1f} cores busy on average)")
    rows = [*spent.most_common(), ("main thread", main_cpu), ("threads Python did not start", cpu - named - main_cpu)]
    for name, seconds in rows:
        if seconds >= 0.05:
            print(f"  {name:<30} {seconds:7.2f} s  {seconds / cpu:6.1%}")


if __name__ == "__main__":
    main()
