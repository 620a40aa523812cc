#!/usr/bin/env python3
"""Does `clean --tracks ID` change only that object? On a real clip, through the real CLI.

Runs `vidinpaint tracks` on the clip, takes the longest track, runs `vidinpaint clean --tracks ID`,
and compares output with input per frame: PSNR outside the track's boxes grown by
``detect.margin + mask.dilate + --grow`` px (on its frame and the two before, for mask
hysteresis), and the mean absolute change inside its boxes. Prints the machine line and the figures.

Usage: python scripts/bench_select.py [--clip samples/vtest.mp4] [--grow 4]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_memory import machine  # noqa: E402  (scripts/ is on sys.path when run as a script)

from vidinpaint.config import load_config  # noqa: E402
from vidinpaint.metrics import psnr_in  # noqa: E402
from vidinpaint.video import VideoReader  # noqa: E402


def cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "vidinpaint", *args, "-q"], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", default="samples/vtest.mp4")
    parser.add_argument("--grow", type=int, default=4)
    args = parser.parse_args()
    config = load_config()
    grow = config.detect.margin + config.mask.dilate + args.grow
    with tempfile.TemporaryDirectory() as tmp:
        listed = Path(tmp) / "tracks.json"
        cli("tracks", args.clip, "-o", str(listed))
        tracks = [t for t in json.loads(listed.read_text())["tracks"] if not t.get("still")]  # removed by default
        chosen = max(tracks, key=lambda t: len(t["boxes"]))
        out = Path(tmp) / "out.mp4"
        cli("clean", args.clip, "-o", str(out), "--tracks", str(chosen["id"]))
        outside, inside = [], []
        for a, b in zip(VideoReader(args.clip), VideoReader(out)):
            h, w = a.rgb.shape[:2]
            near = np.zeros((h, w), bool)
            boxes = [chosen["boxes"].get(str(a.index - k)) for k in range(3)]
            for box in filter(None, boxes):
                x0, y0, x1, y1 = box
                near[max(y0 - grow, 0):y1 + grow, max(x0 - grow, 0):x1 + grow] = True
            outside.append(psnr_in(b.rgb, a.rgb, ~near))
            if boxes[0]:
                x0, y0, x1, y1 = boxes[0]
                inside.append(np.abs(a.rgb[y0:y1, x0:x1].astype(int) - b.rgb[y0:y1, x0:x1]).mean())
    print(machine())
    print(f"clip {args.clip}: {len(tracks)} tracks; removed track {chosen['id']} ({chosen['class']}, frames "
          f"{chosen['first']}-{chosen['last']}, {len(chosen['boxes'])} boxes)")
    print(f"PSNR outside its boxes grown by {grow}px: min {min(outside):.1f} dB, median {np.median(outside):.1f} dB "
          f"over {len(outside)} frames; mean change inside its boxes {np.mean(inside):.1f} levels "
          f"(min over frames {min(inside):.1f})")


if __name__ == "__main__":
    main()
