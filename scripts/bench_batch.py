#!/usr/bin/env python3
"""Batch throughput: clips/s and frames/s for 1 and 2 local workers on the same clips.

Cuts ``--clips`` clips of ``--frames`` frames out of ``samples/vtest.mp4`` (real pedestrians,
768x576, spread over the sample), then runs ``run_batch`` on them with 1 worker and with 2
workers (fresh output folder each, default config: NanoDet + GrabCut + flow fill + Telea when
NanoDet is cached). Real people, because the detector finds none among synthetic silhouettes
and a batch that removes nothing measures only decoding and encoding: each row also prints the
share of output pixels that differ from the input by more than 16 levels.

Usage: python scripts/bench_batch.py [--clips 8] [--frames 50] [--workers 1,2] [--set device=cuda]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from vidinpaint.devices import cpu_line
from vidinpaint.batch import LOG_NAME, discover
from vidinpaint.config import load_config
from vidinpaint.runner import run_batch
from vidinpaint.synthetic import write_clip
from vidinpaint.video import VideoReader

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "vtest.mp4"


def changed(inputs: Path, outputs: Path) -> float:
    """Share of output pixels that differ from the input's by more than 16 levels in some channel."""
    total = count = 0
    for clip in sorted(inputs.glob("*.mp4")):
        if not (outputs / clip.name).exists():  # a failed clip: counted in the failed column
            continue
        for a, b in zip(VideoReader(clip), VideoReader(outputs / clip.name)):
            diff = np.abs(a.rgb.astype(np.int16) - b.rgb.astype(np.int16)).max(axis=2) > 16
            total, count = total + diff.size, count + int(diff.sum())
    return count / max(total, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description="batch throughput benchmark")
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--frames", type=int, default=50)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--set", action="append", default=[], help="config overrides, as on the CLI")
    args = parser.parse_args()
    print(f"machine: {cpu_line()}")
    config = load_config(None, args.set)
    sample = [f.rgb for f in VideoReader(SAMPLE)]
    if args.frames > len(sample):
        parser.error(f"--frames: the sample has {len(sample)} frames")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "clips"
        src.mkdir()
        for i in range(args.clips):  # starts spread evenly over the sample
            start = i * (len(sample) - args.frames) // max(args.clips - 1, 1)
            write_clip(src / f"clip{i:03d}.mp4", sample[start:start + args.frames], fps=25)
        h, w = sample[0].shape[:2]
        print(f"{args.clips} clips x {args.frames} frames of {SAMPLE.name}, {w}x{h}; overrides: {args.set or 'none'}")
        print(f"{'workers':>7} {'clips/s':>8} {'frames/s':>9} {'wall s':>7} {'failed':>6} {'changed px':>10}")
        for workers in (int(w) for w in args.workers.split(",")):
            out = Path(tmp) / f"out{workers}"
            start = time.perf_counter()
            summary = run_batch(discover([src], out), config, out / LOG_NAME, workers=workers)
            wall = time.perf_counter() - start
            print(f"{workers:>7} {summary.done / wall:>8.2f} {summary.frames / wall:>9.1f} {wall:>7.1f} "
                  f"{len(summary.failed):>6} {changed(src, out):>10.3f}")


if __name__ == "__main__":
    main()
