#!/usr/bin/env python3
"""Write the inpainting benchmark clips with their ground truth (deterministic).

Real material: the clean plate of ``samples/vtest.mp4`` (its temporal median: a real street)
as the scene, enlarged so a virtual camera can move over it (static, pan, zoom, handheld shake),
and real pedestrian silhouettes cut out of the same clip walking across the view
(:mod:`vidinpaint.composite`). Each clip is written as ``NAME.mp4`` (x264 CRF 10) plus
``NAME.truth.npz`` (the masks, the true background frames, and the true flow to the previous
frame). ``scripts/bench_quality.py`` regenerates the same clips in memory, so that the scores
measure the methods and not a codec.

Usage: python scripts/make_benchmark.py [--out bench/] [--frames 60]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from vidinpaint.composite import MOTIONS, camera_clip, extract_people
from vidinpaint.synthetic import write_clip
from vidinpaint.video import VideoReader

SIZES = {"480p": (854, 480), "720p": (1280, 720)}
CLIPS = [(size, motion) for size in ("480p",) for motion in MOTIONS] + [("720p", "static"), ("720p", "pan")]


def scene(root: Path = Path(".")) -> tuple[np.ndarray, list]:
    """The enlarged clean plate and the pedestrian cut-outs, from the shipped sample."""
    frames = [f.rgb for f in VideoReader(root / "samples" / "vtest.mp4")]
    plate, people = extract_people(frames)
    return cv2.resize(plate, None, fx=2.4, fy=2.4, interpolation=cv2.INTER_CUBIC), people


def clip(source: np.ndarray, people: list, size: str, motion: str, frames: int):
    width, height = SIZES[size]
    seed = sum(map(ord, size + motion))
    return list(camera_clip(source, people, motion, frames, width, height, seed=seed))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench"))
    parser.add_argument("--frames", type=int, default=60)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    source, people = scene()
    for size, motion in CLIPS:
        data = clip(source, people, size, motion, args.frames)
        name = f"{size}_{motion}"
        write_clip(args.out / f"{name}.mp4", (d[0] for d in data), fps=25, options={"movflags": "faststart"})
        flows = np.stack([np.zeros_like(data[1][3]) if d[3] is None else d[3] for d in data]).astype(np.float16)
        np.savez_compressed(args.out / f"{name}.truth.npz", masks=np.stack([d[1] for d in data]),
                            background=np.stack([d[2] for d in data]), flow_to_previous=flows)
        print(f"wrote {args.out / name}.mp4 + .truth.npz ({len(data)} frames, hole "
              f"{np.mean([d[1].mean() for d in data]) * 100:.1f}% of the frame)")


if __name__ == "__main__":
    main()
