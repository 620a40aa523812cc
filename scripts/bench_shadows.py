#!/usr/bin/env python3
"""Attached cast shadows against exact truth: shadow recall and false area, with and without
``mask.shadow``.

Scenes: real pedestrians cut out of ``samples/vtest.mp4`` (:mod:`vidinpaint.composite`), 80-200 px
tall, pasted on real backgrounds (vtest's clean plate mirrored, and the first frame of
``bikes.mp4``, ``tree.avi`` and ``box.mp4`` from the registry footage of ``bench_real.py``, all
768 px wide). Half the scenes give every person a hard cast shadow attached at the feet
(:func:`vidinpaint.composite.compose_shadows`: the silhouette projected on the ground, the
ground's light times 0.45-0.7 in every channel, 1 px soft edge); the other half have none.

Masks: ``true`` uses the true person masks as object masks (the shadow step alone); ``pipeline``
NanoDet (as the pipeline runs it: tiles, mirrored edges) + GrabCut, as ``clean`` runs offline.
Reported: shadow recall (share of true shadow pixels inside the final mask, after ``mask.dilate``;
'off' is what the dilation alone covers), and false area (pixels the shadow step adds outside the
true shadows and people, before the dilation, as a share of the true person pixels) on the scenes
with shadows and on those without.

Usage: python scripts/bench_shadows.py [--scenes 6] [--reach 1.0] [--masks true,pipeline] [--seed 0] [--cache DIR]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import cv2
import numpy as np
import torch

from bench_real import fetch
from vidinpaint.devices import cpu_line
from vidinpaint.backends import whole_nanodet
from vidinpaint.composite import compose, compose_shadows, extract_people
from vidinpaint.config import Config, MaskConfig
from vidinpaint.detect.nanodet import NanoDet
from vidinpaint.frames import Frame
from vidinpaint.masks import MaskBuilder
from vidinpaint.segment import GrabCutSegmenter
from vidinpaint.video import VideoReader
from vidinpaint.weights import locate

WIDTH = 768


def backgrounds(cache: Path) -> dict[str, np.ndarray]:
    """Real backgrounds, ``WIDTH`` px wide."""
    plate, _ = extract_people([f.rgb for f in VideoReader("samples/vtest.mp4")][::3])
    out = {"vtest plate": np.ascontiguousarray(plate[:, ::-1])}
    for name in ("bikes.mp4", "tree.avi", "box.mp4"):
        rgb = next(iter(VideoReader(cache / name))).rgb
        out[name] = cv2.resize(rgb, (WIDTH, round(rgb.shape[0] * WIDTH / rgb.shape[1])), interpolation=cv2.INTER_AREA)
    return out


def final_mask(image: np.ndarray, objects: list[np.ndarray], boxes: np.ndarray, config: MaskConfig) -> np.ndarray:
    """The mask stage's output for these object masks."""
    frame = Frame(0, 0, 1, image)
    frame.boxes, frame.object_masks = boxes.astype(np.int32).reshape(-1, 4), objects
    return next(MaskBuilder(config)([frame])).mask


def boxes_of(masks: list[np.ndarray]) -> np.ndarray:
    rows = []
    for m in masks:
        ys, xs = np.nonzero(m)
        rows.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
    return np.array(rows).reshape(-1, 4)


def main() -> None:
    parser = argparse.ArgumentParser(description="cast shadow benchmark")
    parser.add_argument("--scenes", type=int, default=6, help="scenes with shadows (and as many without) per background")
    parser.add_argument("--reach", type=float, default=1.0, help="mask.shadow for the 'on' rows")
    home = Path(os.environ.get("VIDINPAINT_HOME", Path.home() / ".cache" / "vidinpaint"))
    parser.add_argument("--cache", type=Path, default=home / "footage")
    parser.add_argument("--masks", default="true,pipeline", help="object masks to test: true, pipeline")
    parser.add_argument("--seed", type=int, default=0, help="scenes (tune on another seed than the one reported)")
    parser.add_argument("--grabcut-context", type=float, default=None,
                        help="GrabCut's background ring for the pipeline masks, in box sizes (default: the class's)")
    args = parser.parse_args()
    kinds = args.masks.split(",")
    cfg = Config()
    print(f"machine: {cpu_line()}, {torch.get_num_threads()} torch threads, no GPU used")
    _, people = extract_people([f.rgb for f in VideoReader("samples/vtest.mp4")][::3])
    detector = whole_nanodet(NanoDet(locate("nanodet"), [0], cfg.detect.score, cfg.detect.iou, "cpu",
                                     cfg.detect.precision), cfg.detect)
    grabcut = GrabCutSegmenter(cfg.detect.margin, **({} if args.grabcut_context is None else
                                                       {"context": args.grabcut_context}))
    off, on = MaskConfig(dilate=cfg.mask.dilate, shadow=0.0), MaskConfig(dilate=cfg.mask.dilate, shadow=args.reach)
    bare, bare_on = MaskConfig(dilate=0, shadow=0.0), MaskConfig(dilate=0, shadow=args.reach)  # what the step adds
    rng = np.random.default_rng(args.seed)
    print(f"{args.scenes} scenes with shadows and {args.scenes} without per background, 3 people 80-200 px each, "
          f"mask.dilate {cfg.mask.dilate}px, mask.shadow {args.reach:g} for 'on', GrabCut context {grabcut.context:g}")
    print(f"{'background':<12} {'masks':<9} {'shadow recall off':>17} {'on':>6} {'false area':>10} "
          f"{'false, no shadow':>16}")
    totals: dict[str, np.ndarray] = {}
    for name, background in backgrounds(fetch(args.cache)).items():
        sums = {kind: np.zeros(7) for kind in kinds}  # hit off, hit on, truth, false, area; without: false, area
        for _ in range(args.scenes):
            heights = [int(v) for v in rng.integers(80, 201, 3)]
            shadowed = compose_shadows(background, people, heights, rng)
            plain = (*compose(background, people, heights, rng), None)
            for image, truths, shadow in (shadowed, plain):
                person = np.logical_or.reduce(truths)
                visible = [t for t in truths if t.any()]
                for kind in kinds:
                    if kind == "true":
                        objects, b = visible, boxes_of(visible)
                    else:
                        b = detector.detect_batch([image])[0].boxes
                        objects = grabcut.segment(image, b)
                    without, with_ = final_mask(image, objects, b, off), final_mask(image, objects, b, on)
                    added = final_mask(image, objects, b, bare_on) & ~final_mask(image, objects, b, bare)
                    s = sums[kind]
                    if shadow is None:
                        s[5:] += [(added & ~person).sum(), person.sum()]
                        continue
                    s[:5] += [(without & shadow).sum(), (with_ & shadow).sum(), shadow.sum(),
                              (added & ~shadow & ~person).sum(), person.sum()]
        for kind, s in sums.items():
            totals[kind] = totals.get(kind, 0) + s
            print(f"{name:<12} {kind:<9} {s[0] / s[2]:>17.3f} {s[1] / s[2]:>6.3f} {s[3] / s[4]:>10.3f} {s[5] / s[6]:>16.3f}")
    for kind, s in totals.items():
        print(f"{'all':<12} {kind:<9} {s[0] / s[2]:>17.3f} {s[1] / s[2]:>6.3f} {s[3] / s[4]:>10.3f} {s[5] / s[6]:>16.3f}")


if __name__ == "__main__":
    main()
