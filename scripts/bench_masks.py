#!/usr/bin/env python3
"""Mask quality against exact ground truth, detector cost, and masks per second, for every refiner.

Scenes: real pedestrians cut out of ``samples/vtest.mp4`` pasted onto its mirrored clean plate
(:mod:`vidinpaint.composite`) at known heights — per scene two 20-40 px, two 40-60 px, one
60-80 px and two 80-200 px tall, and with ``--edge K`` K more across the frame's left or right
edge, scored apart (people entering or leaving) — so each person's true silhouette is exact. NanoDet finds the
people (on the whole frame, and with ``--tiles`` also on overlapping tiles,
:mod:`vidinpaint.detect.tiles`; with ``--mirror`` on the frame mirrored beyond its sides,
:mod:`vidinpaint.detect.tiles` too); each refiner turns the boxes into masks. Reported per detector
and refiner: mean IoU of each true person with its best object mask, person recall (share of a
true person's pixels inside the final mask after ``mask.dilate``, averaged over people, so a far
person counts as much as a near one), the same recall per height bin, the detector's CPU time
per frame (``time.process_time``: all threads, so a machine shared with others changes it less
than wall time) and refined frames per second.

``--clip N``: keyframes instead (``segment.every``, ``detect.every``), on the first N frames of
the real clip ``samples/vtest.mp4``: the truth of each frame is its walkers' real silhouettes
against the clip's clean plate (static camera; person-like blobs away from the edges, see
:func:`vidinpaint.composite.person_blobs`). For each ``--detect-every`` the default pipeline's
shots and detection stages run (the detector answers each image once, and each setting is
charged the CPU time of the calls it makes); for each ``--every`` the segmentation stage runs on
those boxes, and the script prints the detector's calls and CPU ms per frame, the distinct track
ids, the mean IoU of each silhouette with the object masks around it (its box grown by 2x
``detect.margin``), the person-pixel recall of the grown mask, and the segmentation stage's CPU
seconds. ``--phases K`` repeats each setting with frame indices shifted by 0..K-1, so that other
frames are keyframes, and pools the results (one run's keyframes can fall on lucky frames).

Usage: python scripts/bench_masks.py [--scenes 12] [--device cpu] [--tiles off,auto] [--grabcut 3x256,1x256x0.3]
       python scripts/bench_masks.py --clip 100 --every 1,3,5
       python scripts/bench_masks.py --clip 150 --every 3 --detect-every 1,2,3,4,5 --phases 3
       python scripts/bench_masks.py --clip 150 --every 3 --detect-every 3 --tile-every 1,2,3 --phases 3
       python scripts/bench_masks.py --clip 150 --every 3 --detect-every 3 --phases 3 --precision fp32,bf16
       python scripts/bench_masks.py --tiles auto --refiners grabcut --tile-side 0,1024
       python scripts/bench_masks.py --tiles auto --refiners box,grabcut --edge 2 --mirror 0,0.04
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import time
from dataclasses import replace
from fractions import Fraction

import numpy as np
import torch

from vidinpaint.devices import cpu_line
from vidinpaint.backends import build_detector, build_segmenter, whole_nanodet
from vidinpaint.composite import extract_people, paste, person_blobs, place
from vidinpaint.config import Config, load_config
from vidinpaint.detect.motion import clean_plate
from vidinpaint.detect.nanodet import NanoDet
from vidinpaint.frames import Frame
from vidinpaint.masks import dilate
from vidinpaint.segment import BoxSegmenter, GrabCutSegmenter
from vidinpaint.shots import ShotDetector
from vidinpaint.video import VideoReader
from vidinpaint.weights import available, locate

BINS = ((20, 40), (40, 60), (60, 80), (80, 200))
MIX = ((20, 40), (20, 40), (40, 60), (40, 60), (60, 80), (80, 200), (80, 200))  # heights per scene
EDGE = (40, 200)  # heights of the people across the frame's edge (--edge), scored in a bin of their own


def scenes(count: int, seed: int = 0, edge: int = 0):
    """``(image, true masks, heights, cut)`` for ``count`` composited scenes; ``edge`` more people
    (40-200 px tall) per scene stand across the frame's left or right edge (``cut`` says which),
    drawn from a random stream of their own and pasted last: the people inside are those of the
    scenes without them, less what the edge people hide."""
    frames = [f.rgb for f in VideoReader("samples/vtest.mp4")]
    plate, people = extract_people(frames)
    rng, edge_rng = np.random.default_rng(seed), np.random.default_rng([seed, 1])
    background = np.ascontiguousarray(plate[:, ::-1])
    for _ in range(count):
        heights = [int(rng.integers(lo, hi)) for lo, hi in MIX]
        placed = place(background.shape, people, heights, rng)
        if edge:
            at_edge = [int(edge_rng.integers(*EDGE)) for _ in range(edge)]
            placed += place(background.shape, people, at_edge, edge_rng, cut=[True] * edge)
            heights += at_edge
        image, truths = paste(background, placed)
        yield image, truths, heights, [False] * len(MIX) + [True] * edge


def score(masks: list[np.ndarray], truths: list[np.ndarray], heights: list[int], cut: list[bool], grow: int
          ) -> tuple[list, list, dict]:
    """IoU and recall per visible true person inside the frame, and the recalls grouped by height
    bin, with those of the people across the frame's edge (IoU and recall) in bin ``"edge"``."""
    union = np.zeros(truths[0].shape, bool)
    for m in masks:
        union |= m
    union = dilate(union, grow)
    ious, recall, binned = [], [], {b: [] for b in (*BINS, "edge")}
    for truth, height, at_edge in zip(truths, heights, cut):
        if not truth.any():
            continue  # fully hidden by a later person
        iou = max([(m & truth).sum() / (m | truth).sum() for m in masks], default=0.0)
        hit = (union & truth).sum() / truth.sum()
        if at_edge:
            binned["edge"].append((iou, hit))
            continue
        ious.append(iou)
        recall.append(hit)
        binned[next(b for b in BINS if b[0] <= height < b[1])].append(hit)
    return ious, recall, binned


class Memo:
    """A detector that answers each image once: every ``detect.every`` setting gets the same
    detections, and is charged the CPU seconds (``time.process_time``, measured on the first
    call) of the calls it makes."""

    def __init__(self, detector) -> None:
        self.detector, self.backend, self.seconds, self.calls = detector, detector.backend, 0.0, 0
        self.seen: dict[bytes, tuple[object, float]] = {}

    def detect_batch(self, images: list[np.ndarray]) -> list:
        return self._answers(images, self.detector.detect_batch)

    def detect_native_batch(self, images: list[np.ndarray]) -> list:
        return self._answers(images, self.detector.detect_native_batch)

    def _answers(self, images: list[np.ndarray], detect) -> list:
        out = []
        for rgb in images:
            key = hashlib.blake2b(np.ascontiguousarray(rgb).tobytes() + str(rgb.shape).encode() + detect.__name__.encode(),
                                  digest_size=16).digest()
            if key not in self.seen:
                start = time.process_time()
                found = detect([rgb])[0]
                self.seen[key] = (found, time.process_time() - start)
            found, seconds = self.seen[key]
            self.seconds, self.calls = self.seconds + seconds, self.calls + 1
            out.append(found)
        return out


def _detected(cfg: Config, device: str, frames: list[np.ndarray], memo: Memo | None, phase: int = 0
              ) -> tuple[list[Frame], Memo]:
    """``frames`` through the default pipeline's detection stage (shots reset it), detector memoised,
    frame indices from ``phase`` (which frames are keyframes); one keyframe at a time
    (``detect.workers`` 1), since each call is charged the process's CPU time while it runs."""
    stage = build_detector(replace(cfg, detect=replace(cfg.detect, workers=1)), device)
    outer = stage  # the wrapper (tiles, mirrored edges) right around the network, which the memo replaces
    while hasattr(outer.detector, "detector"):
        outer = outer.detector
    if memo is None:  # one call outside the timing: the first at each input size sets up its convolutions
        stage.detector.detect_batch([frames[0]])
        memo = Memo(outer.detector)
    memo.seconds, memo.calls = 0.0, 0
    outer.detector = memo
    shots = ShotDetector(cfg.shots) if cfg.shots.backend != "off" else (lambda stream: stream)
    return list(stage(shots(Frame(i, i, Fraction(1, 10), rgb) for i, rgb in enumerate(frames, phase)))), memo


def grabcut_setting(text: str, margin: int) -> GrabCutSegmenter:
    """The GrabCut of a ``--grabcut`` setting: ITERATIONSxMAX_SIDE, optionally xCONTEXT (the
    share of the box's size added around it as background context; default the class's)."""
    iterations, side, *context = text.split("x")
    return GrabCutSegmenter(margin, iterations=int(iterations), max_side=int(side),
                            **({"context": float(context[0])} if context else {}))


def _segmented(cfg: Config, device: str, detected: list[Frame], truths: list,
               grabcut: str = "") -> tuple[list[float], int, int, float]:
    """IoU per silhouette, true pixels inside the grown mask, true pixels, and the segmentation
    stage's CPU seconds, for ``detected`` frames through ``cfg``'s segmentation stage (with GrabCut
    as the ``--grabcut`` setting ``grabcut`` says instead of the stage's own when given)."""
    stage = build_segmenter(cfg, device)
    if grabcut and isinstance(stage.segmenter, GrabCutSegmenter):
        stage.segmenter = grabcut_setting(grabcut, cfg.detect.margin)
    margin = 2 * cfg.detect.margin
    copies = [Frame(f.index, f.pts, f.time_base, f.rgb, boxes=f.boxes, ids=f.ids, shot=f.shot) for f in detected]
    ious, hit, total, seconds = [], 0, 0, 0.0
    start = time.process_time()
    for frame, blobs in zip(stage(copies), truths):
        seconds += time.process_time() - start
        union = np.logical_or.reduce(frame.object_masks) if frame.object_masks else np.zeros(frame.rgb.shape[:2], bool)
        grown = dilate(union, cfg.mask.dilate)
        for x, y, alpha in blobs:
            h, w = alpha.shape
            truth = np.zeros_like(union)
            truth[y:y + h, x:x + w] = alpha
            near = np.zeros_like(union)
            near[max(0, y - margin):y + h + margin, max(0, x - margin):x + w + margin] = True
            ious.append((union & truth).sum() / ((union & near) | truth).sum())
            hit += int((grown & truth).sum())
            total += int(truth.sum())
        start = time.process_time()
    return ious, hit, total, seconds


def clip_benchmark(cfg: Config, count: int, everies: list[int], detect_everies: list[int], device: str,
                   phases: int = 1, tiles: str = "auto", grabcuts: list[str] | None = None,
                   precisions: list[str] | None = None, sides: list[int] | None = None,
                   tile_everies: list[int] | None = None) -> None:
    """Detecting and segmenting keyframes only against every frame, on the real walkers of samples/vtest.mp4."""
    cfg = replace(cfg, detect=replace(cfg.detect, tiles=tiles))
    frames = [f.rgb for f in VideoReader("samples/vtest.mp4")]
    plate = clean_plate(frames[:: max(1, len(frames) // 30)])
    frames = frames[:count]
    truths = [person_blobs(rgb, plate) for rgb in frames]
    print(f"samples/vtest.mp4, {len(frames)} frames, {sum(len(t) for t in truths)} walker silhouettes, "
          f"mask.dilate {cfg.mask.dilate}px, detect.tiles {cfg.detect.tiles}, {phases} keyframe phase(s) pooled")
    print(f"{'precision':<9} {'tile side':>9} {'tile every':>10} {'detect.every':<12} {'det calls/f':>11} "
          f"{'det CPU ms/f':>12} {'ids':>5} "
          f"{'segment.every':>13} {'grabcut':>10} {'mean IoU':>9} {'recall':>7} {'seg CPU s':>9}")
    for precision, side, tile_every in itertools.product(precisions or [cfg.detect.precision],
                                                         sides or [cfg.detect.tile_side],
                                                         tile_everies or [cfg.detect.tile_every]):
        memo = None  # a new detector: its own answers and times
        for detect_every in detect_everies:
            detect_cfg = replace(cfg, detect=replace(cfg.detect, every=detect_every, precision=precision,
                                                     tile_side=side, tile_every=tile_every))
            runs, calls, det_seconds, ids = [], 0, 0.0, 0
            for phase in range(phases):
                detected, memo = _detected(detect_cfg, device, frames, memo, phase)
                runs.append(detected)
                calls, det_seconds = calls + memo.calls, det_seconds + memo.seconds
                ids += len({i for f in detected for i in f.ids.tolist()})
            n = phases * len(frames)
            cost = f"{calls / n:>11.2f} {1000 * det_seconds / n:>12.0f} {ids / phases:>5.1f}"
            for every, grabcut in itertools.product(everies, grabcuts or [""]):
                ious, hit, total, seconds = [], 0, 0, 0.0
                for detected in runs:
                    i, h, t, s = _segmented(replace(cfg, segment=replace(cfg.segment, every=every)), device, detected,
                                            truths, grabcut)
                    ious, hit, total, seconds = ious + i, hit + h, total + t, seconds + s
                label = grabcut or "stage"
                print(f"{precision:<9} {side:>9} {tile_every:>10} {detect_every:<12} {cost} {every:>13} {label:>10} "
                      f"{np.mean(ious):>9.3f} {hit / total:>7.3f} {seconds / phases:>9.1f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="mask quality and speed benchmark")
    parser.add_argument("--scenes", type=int, default=12)
    parser.add_argument("--edge", type=int, default=0, help="people per scene across the frame's left or right edge "
                                                            "(people entering or leaving), scored apart")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--tiles", default="", help="detect.tiles settings to compare, comma separated "
                                                     "(default off,auto; with --clip one setting, default auto)")
    parser.add_argument("--refiners", default="box,grabcut,selfie,sam", help="refiners to run, comma separated")
    parser.add_argument("--grabcut", default="", help="GrabCut settings ITERATIONSxMAX_SIDE[xCONTEXT] to compare, "
                                                      "comma separated (default: the stage's own)")
    parser.add_argument("--clip", type=int, default=0, help="keyframe segmentation on this many frames of vtest")
    parser.add_argument("--every", default="1,3,5", help="with --clip: segment.every values to compare")
    parser.add_argument("--detect-every", default="1", help="with --clip: detect.every values to compare")
    parser.add_argument("--phases", type=int, default=1,
                        help="with --clip: run each setting with frame indices shifted by 0..N-1 (keyframes on "
                             "other frames) and pool the results")
    parser.add_argument("--precision", default="", help="NanoDet precisions (detect.precision) to compare, comma "
                                                        "separated (default: the configured one)")
    parser.add_argument("--tile-every", default="", help="with --clip: detect.tile_every values to compare, comma "
                        "separated (default: the configuration's)")
    parser.add_argument("--tile-side", default="", help="detect.tile_side values to compare, comma separated "
                                                        "(default: the configured one)")
    parser.add_argument("--mirror", default="", help="scenes: detect.mirror values to compare, comma separated "
                                                     "(default: the configured one)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="a configuration override, as for `vidinpaint clean --set` (repeatable; "
                             "detect.tiles comes from --tiles, and with --clip detect.every and segment.every "
                             "from --detect-every and --every)")
    args = parser.parse_args()
    cfg = load_config(None, args.overrides)
    precisions = args.precision.split(",") if args.precision else [cfg.detect.precision]
    sides = [int(v) for v in args.tile_side.split(",")] if args.tile_side else [cfg.detect.tile_side]
    mirrors = [float(v) for v in args.mirror.split(",")] if args.mirror else [cfg.detect.mirror]
    gpu = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "no GPU used"
    print(f"machine: {cpu_line()}, {torch.get_num_threads()} torch threads, {gpu}"
          + (f"; overrides: {args.overrides}" if args.overrides else ""))
    if args.clip and args.edge:
        parser.error("--edge adds people to the scenes; the clip (--clip) has its own")
    if args.clip:
        args.tiles = args.tiles or cfg.detect.tiles
        grabcuts = args.grabcut.split(",") if args.grabcut else None
        clip_benchmark(cfg, args.clip, [int(v) for v in args.every.split(",")],
                       [int(v) for v in args.detect_every.split(",")], args.device, args.phases, args.tiles, grabcuts,
                       precisions, sides, [int(v) for v in args.tile_every.split(",")] if args.tile_every else None)
        return
    wanted = args.refiners.split(",")
    refiners = {}
    if "box" in wanted:
        refiners["box (+margin)"] = BoxSegmenter(cfg.detect.margin)
    if "grabcut" in wanted:
        stage = GrabCutSegmenter(cfg.detect.margin, iterations=cfg.segment.grabcut_iterations)
        for setting in (args.grabcut or f"{stage.iterations}x{stage.max_side}").split(","):
            refiner = grabcut_setting(setting, cfg.detect.margin)
            same = (refiner.iterations, refiner.max_side, refiner.context) == \
                (stage.iterations, stage.max_side, stage.context)
            refiners["grabcut" if same else f"grabcut {setting}"] = refiner
    if "selfie" in wanted and available("selfie"):
        from vidinpaint.segment.selfie import SelfieSegmenter

        refiners["selfie"] = SelfieSegmenter(locate("selfie"), cfg.detect.margin, device=args.device)
    if "sam" in wanted and available("sam_vit_b"):
        from vidinpaint.segment.sam import SamSegmenter

        refiners["SAM vit_b"] = SamSegmenter(locate("sam_vit_b"), "vit_b", args.device)
    truth = list(scenes(args.scenes, edge=args.edge))
    people = sum(len(h) for _, _, h, _ in truth)
    edge = f" + {args.edge} across the left or right edge ({EDGE[0]}-{EDGE[1]} px tall, 25-75 % inside)" \
        if args.edge else ""
    print(f"{args.scenes} scenes {truth[0][0].shape[1]}x{truth[0][0].shape[0]}, {people} people "
          f"(per scene, px tall: {', '.join(f'{lo}-{hi}' for lo, hi in MIX)}{edge}), NanoDet score >= "
          f"{cfg.detect.score}, mask.dilate {cfg.mask.dilate}px, margin {cfg.detect.margin}px")
    bins = " ".join(f"{f'{lo}-{hi}px':>8}" for lo, hi in BINS) + (f" {'edge IoU':>8} {'recall':>7}" if args.edge else "")
    print(f"{'precision':<9} {'tile side':>9} {'detect.tiles':<12} {'mirror':>6} {'det ms/f':>8} {'refiner':<14} "
          f"{'mean IoU':>8} {'recall':>7} {bins} {'frames/s':>9}")
    for precision, side, tiles, mirror in itertools.product(precisions, sides, (args.tiles or "off,auto").split(","),
                                                            mirrors):
        nanodet = NanoDet(locate("nanodet"), [0], cfg.detect.score, cfg.detect.iou, args.device, precision)
        detector = whole_nanodet(nanodet, replace(cfg.detect, tiles=tiles, tile_side=side, mirror=mirror))
        detector.detect_batch([truth[0][0]])  # outside the timing: the first call at a size sets it up
        start = time.process_time()
        found = [detector.detect_batch([img])[0].boxes for img, _, _, _ in truth]
        cost = 1000 * (time.process_time() - start) / len(truth)
        for name, refiner in refiners.items():
            ious, recall, binned, seconds = [], [], {b: [] for b in (*BINS, "edge")}, 0.0
            for (img, truths, heights, cut), boxes in zip(truth, found):
                start = time.perf_counter()
                masks = refiner.segment(img, boxes)
                seconds += time.perf_counter() - start
                i, r, b = score(masks, truths, heights, cut, cfg.mask.dilate)
                ious += i
                recall += r
                for key in binned:
                    binned[key] += b[key]
            per_bin = " ".join(f"{np.mean(binned[b]):>8.3f}" for b in BINS)
            if args.edge:
                per_bin += " {:>8.3f} {:>7.3f}".format(*np.mean(binned["edge"] or [(np.nan, np.nan)], axis=0))
            print(f"{precision:<9} {side:>9} {tiles:<12} {mirror:>6g} {cost:>8.0f} {name:<14} {np.mean(ious):>8.3f} "
                  f"{np.mean(recall):>7.3f} {per_bin} {len(truth) / seconds:>9.1f}")


if __name__ == "__main__":
    main()
