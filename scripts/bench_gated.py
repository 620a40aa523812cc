#!/usr/bin/env python3
"""Speed of the gated-conv inpainter: network crops/s by crop size, batch and precision, and
the whole ``clean`` pipeline on the sample's street scaled to 1080p with the gated backend.

Speed does not depend on weight values, so a randomly initialised DeepFillv2 generator of the
published width (cnum 48, 4.05M parameters) is written to a temporary checkpoint and used
everywhere (nothing to download). Crops/s times ``GatedInpainter.infer`` on ready crops (host to
device copy, network, copy back), after a warm-up, synchronised. The pipeline run uses the
default configuration otherwise, so the line for each stage says what ran.

Usage: python scripts/bench_gated.py [--device cuda] [--sizes 256,512] [--batches 1,4,16,64]
       [--precisions fp32,fp16,bf16] [--seconds 3] [--pipeline-frames 100]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from vidinpaint.config import InpaintConfig
from vidinpaint.devices import resolve_device
from vidinpaint.inpaint import checkpoint
from vidinpaint.inpaint.gated import Generator
from vidinpaint.inpaint.neural import GatedInpainter
from vidinpaint.synthetic import write_scaled

from bench_models import machine  # noqa: E402  (scripts/ is on sys.path when run as a script)

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "vtest.mp4"


def crops_per_second(stage: GatedInpainter, size: int, batch: int, seconds: float) -> float:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (batch, size, size, 3), dtype=np.uint8)
    holes = np.zeros((batch, size, size), bool)
    holes[:, size // 4: 3 * size // 4, size // 3: 2 * size // 3] = True  # a person-sized hole, 1/6 of the crop
    stage.infer(images, holes)  # warm-up (cuDNN autotune, allocator)
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or done == 0:
        stage.infer(images, holes)
        done += batch
    if stage.device == "cuda":
        torch.cuda.synchronize()
    return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--sizes", default="256,512")
    parser.add_argument("--batches", default="1,2,4,8,16,32,64")
    parser.add_argument("--precisions", default="fp32,fp16,bf16")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--pipeline-frames", type=int, default=100, help="0 skips the 1080p pipeline run")
    args = parser.parse_args()
    device = resolve_device(args.device)
    if device == "cuda":
        torch.backends.cudnn.benchmark = True
    print(machine(device))
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "random48.pth"
        torch.manual_seed(0)
        checkpoint.save(weights, Generator(48), meta={"source": "random init, cnum 48"})
        model, _ = checkpoint.load_generator(weights)
        model = model.to(device)
        if device == "cuda":
            model = model.to(memory_format=torch.channels_last)
        print(f"{'size':>5} {'precision':>9} {'batch':>5} {'crops/s':>9}")
        for precision in args.precisions.split(","):
            if device == "cpu" and precision != "fp32":
                continue  # autocast to fp16/bf16 is a GPU feature here
            for size in map(int, args.sizes.split(",")):
                for batch in map(int, args.batches.split(",")):
                    stage = GatedInpainter(model, InpaintConfig(backend="gated", size=size, batch=batch,
                                                                precision=precision), device, "random")
                    rate = crops_per_second(stage, size, batch, args.seconds)
                    halved = f"  (OOM: batch halved to {stage.batch})" if stage.batch != batch else ""
                    print(f"{size:>5} {precision:>9} {batch:>5} {rate:>9.1f}{halved}", flush=True)
        if args.pipeline_frames:
            import vidinpaint

            clip = Path(tmp) / "g1080.mp4"
            write_scaled(SAMPLE, clip, 1920, 1080, frames=args.pipeline_frames)
            settings = {"inpaint": {"backend": "gated", "weights": str(weights)}, "detect": {"backend": "nanodet"}}
            for fill in ("dis", "off"):
                settings["fill"] = {"backend": fill}
                result = vidinpaint.clean(clip, Path(tmp) / "out.mp4", overwrite=True, settings=settings)
                stages = dict(result.backends)
                print(f"pipeline 1920x1080, {result.frames} frames, fill={fill}: {result.fps:.1f} fps; "
                      f"inpaint: {stages['inpaint']}", flush=True)


if __name__ == "__main__":
    main()
