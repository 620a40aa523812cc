#!/usr/bin/env python3
"""Speed of the detection and segmentation models at a given resolution, on CPU or GPU.

Speed does not depend on weight values, so YOLO and SAM are built from their architecture
definitions with random weights (nothing to download); NanoDet and the selfie model use the
real weights from the npm package when cached. Each model runs ``--frames`` frames after a
warm-up; the time includes preprocessing, inference and postprocessing, as the pipeline uses
them. SAM "every 5th" segments one frame in five and moves the masks with the boxes for the
other four (the pipeline's ``segment.every: 5`` moves them with optical flow instead).

Usage: python scripts/bench_models.py [--device cuda] [--frames 20] [--width 1920 --height 1080]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from vidinpaint.devices import cpu_line
from vidinpaint.segment import move_mask
from vidinpaint.synthetic import walkers
from vidinpaint.weights import available, locate

BOXES = 6  # people per frame for the segmenters


def machine(device: str) -> str:
    gpu = torch.cuda.get_device_name(0) if device.startswith("cuda") else "no GPU used"
    return f"{cpu_line()}, {torch.get_num_threads()} torch threads, {gpu}, torch {torch.__version__}"


def timed(fn, frames: list[np.ndarray], device: str, warmup: int = 3) -> float:
    """Frames per second of ``fn(frame)`` over ``frames`` after ``warmup`` calls."""
    for frame in frames[:warmup]:
        fn(frame)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    for frame in frames:
        fn(frame)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return len(frames) / (time.perf_counter() - start)


def boxes_for(width: int, height: int) -> np.ndarray:
    xs = np.linspace(0.1, 0.8, BOXES) * width
    return np.stack([xs, np.full(BOXES, 0.3 * height), xs + 0.08 * width, np.full(BOXES, 0.9 * height)], axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description="detector/segmenter speed benchmark")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--only", default="", help="comma-separated subset of model names")
    args = parser.parse_args()
    dev, w, h = args.device, args.width, args.height
    print(f"machine: {machine(dev)}")
    print(f"input: {w}x{h}, {args.frames} timed frames, {BOXES} boxes per frame for segmenters")
    frames = [rgb for rgb, _, _ in walkers(w, h, args.frames, people=BOXES, seed=1)]
    boxes = boxes_for(w, h)
    benches = {}

    def nanodet():
        from vidinpaint.detect.nanodet import NanoDet

        if not available("nanodet"):
            raise RuntimeError("NanoDet weights not cached")
        det = NanoDet(locate("nanodet"), [0], device=dev)
        return lambda f: det.detect(f)
    benches["nanodet"] = nanodet

    def yolo(track: bool):
        def build():
            from vidinpaint.detect.yolo import YoloDetector

            det = YoloDetector("yolo11n.yaml", [0], imgsz=640, device=dev, track=track)
            return lambda f: det.detect_batch([f])
        return build
    benches["yolo11n (random init, predict)"] = yolo(False)
    benches["yolo11n (random init, ByteTrack)"] = yolo(True)

    def sam(model_type: str, every: int):
        def build():
            from segment_anything import sam_model_registry

            from vidinpaint.segment.sam import SamSegmenter

            torch.manual_seed(0)
            seg = SamSegmenter(None, model_type, dev, model=sam_model_registry[model_type](checkpoint=None))
            state = {"i": 0, "masks": None}

            def run(f):
                if state["i"] % every == 0 or state["masks"] is None:
                    state["masks"] = seg.segment(f, boxes)
                else:
                    state["masks"] = [move_mask(m, b, b + 2) for m, b in zip(state["masks"], boxes)]
                state["i"] += 1
            return run
        return build
    for model_type in ("vit_b", "vit_h"):
        benches[f"SAM {model_type} (random init, every frame)"] = sam(model_type, 1)
        benches[f"SAM {model_type} (random init, every 5th)"] = sam(model_type, 5)

    def grabcut():
        from vidinpaint.segment import GrabCutSegmenter

        seg = GrabCutSegmenter()
        return lambda f: seg.segment(f, boxes)
    benches["GrabCut (CPU)"] = grabcut

    def selfie():
        from vidinpaint.segment.selfie import SelfieSegmenter

        if not available("selfie"):
            raise RuntimeError("selfie weights not cached")
        seg = SelfieSegmenter(locate("selfie"), device=dev)
        return lambda f: seg.segment(f, boxes)
    benches["selfie on crops"] = selfie

    only = [s.strip() for s in args.only.split(",") if s.strip()]
    print(f"{'model':<40} {'frames/s':>9}")
    for name, build in benches.items():
        if only and not any(o in name for o in only):
            continue
        try:
            fps = timed(build(), frames, dev)
            print(f"{name:<40} {fps:>9.2f}", flush=True)
        except Exception as err:  # noqa: BLE001 - one model failing must not hide the others
            print(f"{name:<40} {'failed':>9}  ({type(err).__name__}: {str(err).splitlines()[0][:100]})", flush=True)
        if dev.startswith("cuda"):
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
