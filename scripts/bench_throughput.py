#!/usr/bin/env python3
"""Throughput and peak memory of `vidinpaint clean`, against a bare PyAV decode->encode.

Prints, for the shipped sample and for a generated 720p clip: fps of a bare PyAV
decode -> RGB -> encode (same encoder settings as the pipeline), fps of the full `clean`
pipeline (default config), and their ratio; then the peak RSS of `clean` on a 10 s and a
3 min 480p clip, each in a fresh process. Figures go to docs/BENCHMARKS.md by hand, with
the machine line printed first.

Usage: python scripts/bench_throughput.py [--long-seconds 180] [--skip-memory] [--skip-throughput]
       [--memory-size 1280x720 --short-seconds 4 --long-seconds 16 --set fill.window=30 ...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av

import vidinpaint
from vidinpaint.config import Config
from vidinpaint.synthetic import walkers, write_clip
from vidinpaint.video import probe
from vidinpaint.video.encoders import choose_encoder

ROOT = Path(__file__).resolve().parents[1]


def machine() -> str:
    cpu = "unknown CPU"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    gpu = "no GPU"
    try:
        import torch

        if torch.cuda.is_available():
            gpu = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return f"{platform.node()}: {cpu}, {os.cpu_count()} cores, {gpu}, Python {platform.python_version()}, PyAV {av.__version__}"


def bare_transcode(src: Path, dst: Path) -> tuple[int, float]:
    """Decode -> RGB ndarray -> encode with PyAV alone, with the pipeline's encoder settings."""
    info = probe(src)
    enc = choose_encoder(Config().encode, "mp4", info.colour, info.codec, (info.width, info.height))
    start = time.perf_counter()
    n = 0
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin = inp.streams.video[0]
        vin.thread_type = "AUTO"
        vout = out.add_stream(enc.codec, rate=vin.average_rate, options=enc.options)
        vout.width, vout.height, vout.pix_fmt = vin.codec_context.width, vin.codec_context.height, enc.pix_fmt
        for frame in inp.decode(vin):
            rgb = frame.to_ndarray(format="rgb24")
            out.mux(vout.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
            n += 1
        out.mux(vout.encode(None))
    return n, time.perf_counter() - start


def pipeline(src: Path, dst: Path) -> tuple[int, float]:
    start = time.perf_counter()
    result = vidinpaint.clean(src, dst, overwrite=True)
    return result.frames, time.perf_counter() - start


def peak_rss_of_clean(src: Path, dst: Path, overrides: list[str]) -> dict:
    """Run `clean` in a fresh interpreter; return its frames, seconds and peak RSS (MiB)."""
    code = (
        "import json, resource, time, sys, vidinpaint\n"
        "t = time.perf_counter()\n"
        f"r = vidinpaint.clean({str(src)!r}, {str(dst)!r}, overwrite=True, overrides={overrides!r})\n"
        "print(json.dumps({'frames': r.frames, 'seconds': time.perf_counter() - t,\n"
        "  'peak_rss_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description="vidinpaint throughput and memory benchmark")
    parser.add_argument("--long-seconds", type=float, default=180.0)
    parser.add_argument("--short-seconds", type=float, default=10.0)
    parser.add_argument("--memory-size", default="854x480", help="WxH of the memory clips")
    parser.add_argument("--set", action="append", default=[], help="config overrides for the memory runs")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clips = {"sample vtest 768x576 10fps": ROOT / "samples" / "vtest.mp4"}
        gen = tmp / "gen720.mp4"
        write_clip(gen, (f for f, _, _ in walkers(1280, 720, 150, people=3, seed=2)), fps=25)
        clips["generated 1280x720 25fps 6s"] = gen
        print(f"{'clip':<30} {'frames':>6} {'bare fps':>9} {'clean fps':>10} {'clean/bare':>10}")
        for name, path in ({} if args.skip_throughput else clips).items():
            n, bare_s = bare_transcode(path, tmp / "bare.mp4")
            m, clean_s = pipeline(path, tmp / "clean.mp4")
            print(f"{name:<30} {m:>6} {n / bare_s:>9.1f} {m / clean_s:>10.1f} {(m / clean_s) / (n / bare_s):>10.2f}")
        if args.skip_memory:
            return
        width, height = (int(v) for v in args.memory_size.split("x"))
        print(f"\n{f'{width}x{height} clip, 25 fps':<30} {'frames':>6} {'clean fps':>10} {'peak RSS MiB':>13}"
              f"   overrides: {args.set or 'none'}")
        for seconds in (args.short_seconds, args.long_seconds):
            src = tmp / f"mem{int(seconds)}.mp4"
            write_clip(src, (f for f, _, _ in walkers(width, height, int(seconds * 25), people=3, seed=3)), fps=25)
            r = peak_rss_of_clean(src, tmp / "mem_out.mp4", args.set)
            print(f"{f'{seconds:.0f} s':<30} {r['frames']:>6} {r['frames'] / r['seconds']:>10.1f} {r['peak_rss_mib']:>13.1f}")


if __name__ == "__main__":
    main()
