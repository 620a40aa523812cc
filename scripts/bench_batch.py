#!/usr/bin/env python3
"""Batch throughput: clips/s and frames/s for 1 and 2 local workers on the same clips.

Generates ``--clips`` walker clips (default 8 x 50 frames, 640x360, 25 fps), then runs
``run_batch`` on them with 1 worker and with 2 workers (fresh output folder each, default
config: NanoDet + GrabCut + Telea when NanoDet is cached). Prints the machine and the figures.

Usage: python scripts/bench_batch.py [--clips 8] [--frames 50] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from vidinpaint.batch import LOG_NAME, discover
from vidinpaint.config import load_config
from vidinpaint.runner import run_batch
from vidinpaint.synthetic import walkers, write_clip


def main() -> None:
    parser = argparse.ArgumentParser(description="batch throughput benchmark")
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--frames", type=int, default=50)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--set", action="append", default=[], help="config overrides, as on the CLI")
    args = parser.parse_args()
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    print(f"machine: {platform.node()}: {cpu}, {os.cpu_count()} cores")
    config = load_config(None, args.set)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "clips"
        src.mkdir()
        for i in range(args.clips):
            write_clip(src / f"clip{i:03d}.mp4", (f for f, _, _ in walkers(640, 360, args.frames, people=2, seed=i)), fps=25)
        print(f"{args.clips} clips x {args.frames} frames, 640x360; overrides: {args.set or 'none'}")
        print(f"{'workers':>7} {'clips/s':>8} {'frames/s':>9} {'wall s':>7} {'failed':>6}")
        for workers in (int(w) for w in args.workers.split(",")):
            out = Path(tmp) / f"out{workers}"
            start = time.perf_counter()
            summary = run_batch(discover([src], out), config, out / LOG_NAME, workers=workers)
            wall = time.perf_counter() - start
            print(f"{workers:>7} {summary.done / wall:>8.2f} {summary.frames / wall:>9.1f} {wall:>7.1f} {len(summary.failed):>6}")


if __name__ == "__main__":
    main()
