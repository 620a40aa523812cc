#!/usr/bin/env python3
"""People still found in the output: the detector run again on what `clean` wrote.

A real clip has no truth to score the removal against, but a person left in the output (a
segmenter's collapsed cut, a ghost the fill copied back from frames where the mask missed
someone) is often found again by a person detector. Each preset cleans the clip through the
real CLI; NanoDet as the default runs it (tiles, mirrored edges) then looks at every frame of
the input and of the output, at each ``--score``. Printed per preset and score: detections in the input, in the
output, and the frames that still have one, with their boxes. It sees only what NanoDet can
find: a leg left behind, or a person it missed in the input, goes uncounted, so the zoomed
contact sheets of ``make demo`` and ``bench_real.py`` remain the other half of the check.

Usage: python scripts/bench_remnants.py [--clip samples/vtest.mp4] [--presets default,fast] [--score 0.3,0.2] [--list 8]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_memory import machine  # noqa: E402  (scripts/ is on sys.path when run as a script)

from vidinpaint.backends import whole_nanodet  # noqa: E402
from vidinpaint.config import Config  # noqa: E402
from vidinpaint.detect.nanodet import NanoDet  # noqa: E402
from vidinpaint.video import VideoReader  # noqa: E402
from vidinpaint.weights import locate  # noqa: E402


def detections(clip: Path, detector) -> list[list[tuple[tuple[int, ...], float]]]:
    """Per frame of ``clip``: the boxes (XYXY) and scores ``detector`` finds."""
    found = []
    for frame in VideoReader(clip):
        result = detector.detect_batch([frame.rgb])[0]
        found.append([(tuple(int(v) for v in box), float(score)) for box, score in zip(result.boxes, result.scores)])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, default=Path("samples/vtest.mp4"))
    parser.add_argument("--presets", default="default,fast")
    parser.add_argument("--score", default="0.3,0.2", help="detector score thresholds, comma separated")
    parser.add_argument("--list", type=int, default=8, help="frames with a detection listed per preset and score")
    args = parser.parse_args()
    cfg = Config().detect
    print(f"machine: {machine()}")
    print(f"clip {args.clip}; NanoDet ({cfg.precision}), tiles {cfg.tiles} (side {cfg.tile_side}), mirror {cfg.mirror:g}, "
          f"NMS {cfg.iou}")
    with tempfile.TemporaryDirectory() as tmp:
        outputs = {}
        for preset in args.presets.split(","):
            outputs[preset] = Path(tmp) / f"{preset}.mp4"
            done = subprocess.run([sys.executable, "-m", "vidinpaint", "clean", str(args.clip), "-o",
                                   str(outputs[preset]), "-c", preset, "-q"], capture_output=True, text=True)
            if done.returncode:
                sys.exit(f"clean -c {preset} failed: {done.stderr.strip()}")
        for score in (float(v) for v in args.score.split(",")):
            detector = whole_nanodet(NanoDet(locate("nanodet"), [0], score, cfg.iou, "cpu", cfg.precision), cfg)
            before = detections(args.clip, detector)
            print(f"score >= {score:g}: input {sum(map(len, before))} detections, in "
                  f"{sum(1 for found in before if found)} of its {len(before)} frames")
            for preset, out in outputs.items():
                after = detections(out, detector)
                left = [(i, found) for i, found in enumerate(after) if found]
                print(f"  {preset:<8} output {sum(map(len, after))} detections, in {len(left)} frames")
                for i, found in left[:args.list]:
                    print(f"    frame {i}: " + ", ".join(f"{box} {s:.2f}" for box, s in found))
                if len(left) > args.list:
                    print(f"    ... {len(left) - args.list} more frames")


if __name__ == "__main__":
    main()
