#!/usr/bin/env python3
"""Inpainting quality with ground truth: every method on the same benchmark clips, one run.

Clips: ``scripts/make_benchmark.py`` (real street plate, virtual camera static/pan/zoom/shake,
real pedestrian silhouettes), regenerated in memory. Masks: the true silhouettes grown by
``mask.dilate`` px, as the pipeline would use them. Methods:

* ``telea``: per-frame OpenCV Telea (the baseline);
* ``flow+telea``: flow-guided propagation (DIS flow), then Telea on what is left;
* ``+boxes`` (with ``--boxes``): the same with each person's box on the frames, as the detector
  gives them in the pipeline (``vidinpaint.temporal.fill``: inside them the fill keeps the
  background it remembers and removes parts of the person left out of the mask); a line per clip
  says how much of the background inside the boxes, outside the holes, it changed.

Reported inside the hole: PSNR (dB), SSIM, temporal warping error (mean |frame - previous frame
warped along the true background flow|, 0-255, lower = less flicker), the share of hole pixels
left to Telea, and seconds per frame on this machine. Also a contact sheet PNG of one clip.

Usage: python scripts/bench_quality.py [--frames 60] [--window 20] [--only 480p_pan] [--boxes] [--real]
       [--set KEY=VALUE ...]
(``--real``: the real-clip check on ``samples/vtest.mp4`` against its clean plate instead).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from vidinpaint.devices import cpu_line
from vidinpaint.backends import build_fill
from vidinpaint.config import load_config
from vidinpaint.detect.boxes import boxes_to_mask
from vidinpaint.detect.track import IouTracker
from vidinpaint.frames import Frame
from vidinpaint.images import write_image
from vidinpaint.inpaint import inpaint_frame
from vidinpaint.masks import dilate
from vidinpaint.metrics import psnr_in, ssim_in, warping_error

ROOT = Path(__file__).resolve().parents[1]


def run_telea(data, holes, cfg):
    return [inpaint_frame(d[0], h, "telea", cfg.inpaint.radius, cfg.inpaint.max_hole_pixels)
            for d, h in zip(data, holes)]


def benchmark_clips(only: str, frames: int, grow: int):
    """(name, data, holes) for each benchmark clip named in ``only`` (all when empty); holes = truth + ``grow`` px."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from make_benchmark import CLIPS, clip, scene

    source, people = scene(ROOT)
    for size, motion in CLIPS:
        name = f"{size}_{motion}"
        if only and name not in only.split(","):
            continue
        data = clip(source, people, size, motion, frames)
        yield name, data, [dilate(d[1], grow) for d in data]


def person_boxes(mask: np.ndarray) -> np.ndarray:
    """``Nx4`` XYXY boxes of the connected pieces of a true mask: the people's boxes, tight, as a
    detector gives them (people who touch share one)."""
    _, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8))
    x, y, w, h = (stats[1:, k] for k in range(4))
    return np.stack([x, y, x + w, y + h], axis=1).astype(np.int32)


def flow_only(data, holes, cfg, window, boxes: bool = False):
    """Flow-guided fill alone: the filled frames and what is left of each hole; with ``boxes`` the
    frames carry the people's boxes and track ids, as in the pipeline."""
    tracker = IouTracker()  # ids as the detect stage gives them
    frames = []
    for i, (d, h) in enumerate(zip(data, holes)):
        frame = Frame(i, i, Fraction(1, 25), d[0].copy(), mask=h.copy())
        if boxes:
            frame.boxes = person_boxes(d[1])
            frame.ids = tracker.update(frame.boxes)
        frames.append(frame)
    fill = build_fill(replace(cfg, fill=replace(cfg.fill, backend="dis", window=window)), "cpu")  # as `clean` builds it
    filled = list(fill(frames))
    return [f.rgb for f in filled], [f.mask for f in filled]


def run_flow(data, holes, cfg, window, boxes: bool = False):
    rgbs, left = flow_only(data, holes, cfg, window, boxes)
    out = [inpaint_frame(rgb, mask, "telea", cfg.inpaint.radius, cfg.inpaint.max_hole_pixels)
           for rgb, mask in zip(rgbs, left)]
    return out, float(np.mean([m.sum() / max(h.sum(), 1) for m, h in zip(left, holes)]))


def outside_changed(results, data, holes) -> float:
    """Share of the pixels inside the people's boxes but outside the holes (background there, in
    these clips) that differ from the truth by more than 10 levels in some channel."""
    changed = total = 0
    for result, d, hole in zip(results, data, holes):
        where = boxes_to_mask(person_boxes(d[1]), *hole.shape[::-1]) & ~hole
        changed += int((np.abs(result.astype(np.int16) - d[2]).max(axis=2) > 10)[where].sum())
        total += int(where.sum())
    return changed / max(total, 1)


def scores(results, data, holes):
    truth = np.stack([d[2] for d in data])
    stack, hole = np.stack(results), np.stack(holes)
    ssim = np.mean([ssim_in(r, d[2], h) for r, d, h in zip(results, data, holes)])
    warp = np.mean([warping_error(results[t], results[t - 1], data[t][3], holes[t]) for t in range(1, len(data))])
    return psnr_in(stack, truth, hole), ssim, warp


def sheet(data, holes, telea, flow, path: Path, rows=(10, 30, 50)) -> None:
    """Rows of: input, mask, truth, telea, flow+telea."""
    def thumb(img):
        return cv2.resize(img, (320, 180), interpolation=cv2.INTER_AREA)
    lines = []
    for t in rows:
        mask = np.repeat((holes[t] * 255).astype(np.uint8)[..., None], 3, axis=2)
        cells = [data[t][0], mask, data[t][2], telea[t], flow[t]]
        lines.append(np.concatenate([thumb(c) for c in cells], axis=1))
    header = np.full((24, 320 * 5, 3), 255, np.uint8)
    for i, text in enumerate(("input", "mask", "truth", "telea", "flow+telea")):
        cv2.putText(header, text, (i * 320 + 6, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_image(path, np.concatenate([header, *lines], axis=0))


def real_check(everies: list[int], overrides: list[str]) -> None:
    """The real clip: clean ``samples/vtest.mp4`` with and without the fill stage (same masks,
    exported once) and compare inside the removed regions with the clip's clean plate (temporal
    median of the whole clip; people who linger leave faint ghosts in it, so this is a check,
    not an exact truth). ``everies``: also clean with the masks of these ``segment.every``
    settings, scored on their own masks and on the pixels all of them mask (the masks move
    with the setting, and so would the region scored)."""
    import tempfile

    import vidinpaint
    from vidinpaint.detect.motion import clean_plate
    from vidinpaint.pipeline import export_masks
    from vidinpaint.video import VideoReader

    sample = ROOT / "samples" / "vtest.mp4"
    frames = [f.rgb for f in VideoReader(sample)]
    plate = clean_plate(frames[::3])
    with tempfile.TemporaryDirectory() as tmp:
        def masks_of(extra: list[str], name: str) -> tuple[Path, np.ndarray]:
            path = Path(tmp) / f"{name}.mp4"
            export_masks(sample, path, load_config(None, [*overrides, *extra]))
            return path, np.stack([f.rgb[..., 0] > 127 for f in VideoReader(path)])

        def cleaned(masks_path: Path, fill: str, name: str) -> tuple[np.ndarray, float]:
            out = Path(tmp) / f"{name}.mp4"
            start = time.perf_counter()
            vidinpaint.clean(sample, out, mask=masks_path, overrides=[*overrides, f"fill.backend={fill}"])
            seconds = (time.perf_counter() - start) / len(frames)
            return np.stack([f.rgb for f in VideoReader(out)]), seconds

        truth = np.broadcast_to(plate, (len(frames), *plate.shape))
        masks_path, masks = masks_of([], "default")
        print(f"\nreal clip samples/vtest.mp4 ({len(frames)} frames), masks from the default detector "
              f"({masks.mean() * 100:.1f}% of pixels), truth = clean plate")
        for label, fill in (("telea", "off"), ("flow+telea", "dis")):
            result, seconds = cleaned(masks_path, fill, fill)
            print(f"{'vtest':<12} {label:<11} {psnr_in(result, truth, masks):>8.2f} "
                  f"{'':>6} {'':>9} {'':>6} {seconds:>8.3f}", flush=True)
        if not everies:
            return
        runs = {every: masks_of([f"segment.every={every}"], f"every{every}") for every in everies}
        common = np.logical_and.reduce([m for _, m in runs.values()])
        print(f"segment.every  flow+telea PSNR on its own masks (% of pixels) / on the {common.mean() * 100:.1f}% "
              "all of them mask")
        for every, (path, own) in runs.items():
            result, _ = cleaned(path, "dis", f"clean{every}")
            print(f"{every:>13}  {psnr_in(result, truth, own):>8.2f} ({own.mean() * 100:.1f}%) / "
                  f"{psnr_in(result, truth, common):.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="inpainting quality benchmark")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--window", type=int, default=0, help="fill.window (default: the configuration's)")
    parser.add_argument("--only", default="", help="comma-separated clip names, e.g. 480p_pan")
    parser.add_argument("--sheet", type=Path, default=ROOT / "docs" / "figures" / "quality_480p_pan.png")
    parser.add_argument("--real", action="store_true", help="only the real-clip check on samples/vtest.mp4")
    parser.add_argument("--boxes", action="store_true", help="also the fill with the people's boxes and track ids "
                                                             "on the frames, as the pipeline gives them")
    parser.add_argument("--segment-every", default="", help="with --real: also compare these segment.every "
                                                            "settings' masks, comma separated, e.g. 1,2,3")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="a configuration override, as for `vidinpaint clean --set` (repeatable)")
    args = parser.parse_args()
    if args.real:
        real_check([int(v) for v in args.segment_every.split(",")] if args.segment_every else [], args.overrides)
        return
    cfg = load_config(None, args.overrides)
    args.window = args.window or cfg.fill.window
    print(f"machine: {cpu_line()}; {args.frames} frames per clip, masks = truth + {cfg.mask.dilate}px, "
          f"fill window {args.window}, flow DIS at <= {cfg.fill.flow_max_side}px, "
          f"{cfg.fill.flow_refine} refinement iterations"
          + (f"; overrides: {args.overrides}" if args.overrides else ""))
    print(f"{'clip':<12} {'method':<11} {'PSNR dB':>8} {'SSIM':>6} {'warp err':>9} {'left':>6} {'s/frame':>8}")
    for name, data, holes in benchmark_clips(args.only, args.frames, cfg.mask.dilate):
        start = time.perf_counter()
        telea = run_telea(data, holes, cfg)
        t_telea = (time.perf_counter() - start) / len(data)
        start = time.perf_counter()
        flow, left = run_flow(data, holes, cfg, args.window)
        t_flow = (time.perf_counter() - start) / len(data)
        rows = [("telea", telea, 1.0, t_telea), ("flow+telea", flow, left, t_flow)]
        if args.boxes:
            start = time.perf_counter()
            boxed, boxed_left = run_flow(data, holes, cfg, args.window, boxes=True)
            rows.append(("+boxes", boxed, boxed_left, (time.perf_counter() - start) / len(data)))
        for method, result, left_share, seconds in rows:
            p, s, w = scores(result, data, holes)
            print(f"{name:<12} {method:<11} {p:>8.2f} {s:>6.3f} {w:>9.2f} {left_share:>6.3f} {seconds:>8.3f}", flush=True)
        if args.boxes:  # what the fill's rule for parts left out of a mask changed outside the holes
            print(f"{name:<12} +boxes: {outside_changed(boxed, data, holes):.4f} of the pixels in the boxes outside "
                  "the holes differ from the truth by more than 10 levels", flush=True)
        if name == "480p_pan" and args.sheet and args.sheet.suffix:
            sheet(data, holes, telea, flow, args.sheet)
            print(f"contact sheet: {args.sheet}")


if __name__ == "__main__":
    main()
