#!/usr/bin/env python3
"""Throughput of `vidinpaint clean` against a bare PyAV decode->encode, and where its time goes.

Prints, for the shipped sample and the sample scaled to each ``--scaled`` size (1280x720 unless
told): fps of a bare PyAV decode -> RGB ->
encode (same encoder settings as the pipeline; the median of three runs), fps of `clean` with
each preset, their ratio, and the seconds and share of each stage (as `clean --timings` prints
them), and on a GPU the peak GPU memory torch reserved. Memory against clip length: `scripts/bench_memory.py`. The machine line comes first.

Usage: python scripts/bench_throughput.py [--presets default,fast] [--scaled 1280x720,1920x1080 | --scaled ''] [--torch-threads 0,2]
       [--frames 10]
"""

from __future__ import annotations

import argparse
import itertools
import platform
import tempfile
import time
from pathlib import Path

import av

import vidinpaint
from vidinpaint.config import Config
from vidinpaint.devices import cpu_line
from vidinpaint.timing import format_times
from vidinpaint.synthetic import write_scaled
from vidinpaint.video import probe
from vidinpaint.video.encoders import choose_encoder

ROOT = Path(__file__).resolve().parents[1]


def machine() -> str:
    gpu = "no GPU"
    try:
        import torch

        if torch.cuda.is_available():
            gpu = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return f"{cpu_line()}, {gpu}, Python {platform.python_version()}, PyAV {av.__version__}"


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


def pipeline(src: Path, dst: Path, preset: str, torch_threads: int) -> tuple[int, float, list[tuple[str, float]], str]:
    """Frames, seconds and stage times of one ``clean`` run, and its detector and peak GPU memory."""
    import torch

    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    result = vidinpaint.clean(src, dst, config=preset, overwrite=True, settings={"torch_threads": torch_threads})
    seconds = time.perf_counter() - start
    peak = f", peak GPU memory reserved by torch {torch.cuda.max_memory_reserved() / 2**30:.2f} GiB" if cuda else ""
    return result.frames, seconds, result.timings, f"; detect: {dict(result.backends)['detect']}{peak}"


def main() -> None:
    parser = argparse.ArgumentParser(description="vidinpaint throughput benchmark")
    parser.add_argument("--presets", default="default,fast", help="comma-separated presets to time")
    parser.add_argument("--scaled", default="1280x720",
                        help="comma-separated WxH sizes to scale the sample's street to ('' for the sample alone)")
    parser.add_argument("--frames", type=int, default=0, help="only the first N frames of each clip (a dry run)")
    parser.add_argument("--torch-threads", default="0",
                        help="comma-separated torch_threads settings to time (0: the default, half of torch's own thread count)")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clips = {"sample vtest 768x576 10fps": ROOT / "samples" / "vtest.mp4"}
        if args.frames:
            write_scaled(ROOT / "samples" / "vtest.mp4", tmp / "vtest.mp4", 768, 576, fps=10, frames=args.frames)
            clips = {f"sample vtest 768x576 10fps, first {args.frames} frames": tmp / "vtest.mp4"}
        for size in filter(None, args.scaled.split(",")):  # the same real street (synthetic walkers are no people to NanoDet)
            width, height = map(int, size.split("x"))
            gen = tmp / f"vtest{size}.mp4"
            write_scaled(ROOT / "samples" / "vtest.mp4", gen, width, height, frames=args.frames or None)
            clips[f"sample scaled to {size} 25fps"] = gen
        for name, path in clips.items():
            # the bare transcode takes about a second, so one run swings with the machine: the median of three
            n, bare_s = sorted(bare_transcode(path, tmp / "bare.mp4") for _ in range(3))[1]
            for preset, threads in itertools.product(args.presets.split(","), map(int, args.torch_threads.split(","))):
                m, clean_s, timings, notes = pipeline(path, tmp / "clean.mp4", preset, threads)
                how = f"preset {preset}" + (f", torch_threads {threads}" if threads else "")
                print(f"\n{name}, {how}: {m} frames; bare transcode {n / bare_s:.1f} fps, "
                      f"clean {m / clean_s:.2f} fps, clean/bare {(m / clean_s) / (n / bare_s):.3f}{notes}")
                print("\n".join(format_times(timings)))


if __name__ == "__main__":
    main()
