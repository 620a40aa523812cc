#!/usr/bin/env python3
"""Throughput of `vidinpaint clean` against a bare PyAV decode->encode, and where its time goes.

Prints, for the shipped sample and the sample scaled to 1280x720: fps of a bare PyAV decode -> RGB ->
encode (same encoder settings as the pipeline; the median of three runs), fps of `clean` with
each preset, their ratio, and the seconds and share of each stage (as `clean --timings` prints
them). Memory against clip length: `scripts/bench_memory.py`. The machine line comes first.

Usage: python scripts/bench_throughput.py [--presets default,fast] [--skip-generated] [--torch-threads 0,2]
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import tempfile
import time
from pathlib import Path

import av

import vidinpaint
from vidinpaint.config import Config
from vidinpaint.timing import format_times
from vidinpaint.synthetic import write_scaled
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


def pipeline(src: Path, dst: Path, preset: str, torch_threads: int) -> tuple[int, float, list[tuple[str, float]]]:
    start = time.perf_counter()
    result = vidinpaint.clean(src, dst, config=preset, overwrite=True, settings={"torch_threads": torch_threads})
    return result.frames, time.perf_counter() - start, result.timings


def main() -> None:
    parser = argparse.ArgumentParser(description="vidinpaint throughput benchmark")
    parser.add_argument("--presets", default="default,fast", help="comma-separated presets to time")
    parser.add_argument("--skip-generated", action="store_true", help="only the shipped sample, not its 720p version")
    parser.add_argument("--torch-threads", default="0",
                        help="comma-separated torch_threads settings to time (0: the default, half of torch's own thread count)")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clips = {"sample vtest 768x576 10fps": ROOT / "samples" / "vtest.mp4"}
        if not args.skip_generated:  # the same real street at 720p (synthetic walkers are no people to NanoDet)
            gen = tmp / "vtest720.mp4"
            write_scaled(ROOT / "samples" / "vtest.mp4", gen, 1280, 720)
            clips["sample scaled to 1280x720 25fps"] = gen
        for name, path in clips.items():
            # the bare transcode takes about a second, so one run swings with the machine: the median of three
            n, bare_s = sorted(bare_transcode(path, tmp / "bare.mp4") for _ in range(3))[1]
            for preset, threads in itertools.product(args.presets.split(","), map(int, args.torch_threads.split(","))):
                m, clean_s, timings = pipeline(path, tmp / "clean.mp4", preset, threads)
                how = f"preset {preset}" + (f", torch_threads {threads}" if threads else "")
                print(f"\n{name}, {how}: {m} frames; bare transcode {n / bare_s:.1f} fps, "
                      f"clean {m / clean_s:.2f} fps, clean/bare {(m / clean_s) / (n / bare_s):.3f}")
                print("\n".join(format_times(timings)))


if __name__ == "__main__":
    main()
