#!/usr/bin/env python3
"""How fragmented the track ids of a clip are, with and without re-identification.

One decode and one detector pass (the config's detector, as `vidinpaint tracks` runs it); the
detections of each frame go through two trackers that differ only in ``detect.reid``. Prints the
machine line, then per setting: tracks, tracks lasting at least 10 frames, mean frames per track,
and how many tracker ids were given an earlier id back. No ground truth of identities: fewer,
longer tracks is what re-identification should give, not proof that every merge is right.

Usage: python scripts/bench_tracks.py [--clip samples/vtest.mp4] [--reid 50]
"""

from __future__ import annotations

import argparse
import copy
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_models import machine  # noqa: E402  (scripts/ is on sys.path when run as a script)

from vidinpaint.backends import build_detector  # noqa: E402
from vidinpaint.config import load_config  # noqa: E402
from vidinpaint.detect.stage import Detections, Tracking  # noqa: E402
from vidinpaint.devices import resolve_device  # noqa: E402
from vidinpaint.shots import ShotDetector  # noqa: E402
from vidinpaint.video import VideoReader  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", default="samples/vtest.mp4")
    parser.add_argument("--reid", type=int, default=load_config().detect.reid)
    args = parser.parse_args()
    config = load_config()
    config = replace(config, detect=replace(config.detect, every=1))  # the trackers see every frame's detections
    device = resolve_device(config.device)
    stage = build_detector(config, device)
    detector = getattr(stage, "detector", None)
    if detector is None:
        sys.exit(f"needs a per-frame detector (NanoDet or YOLO); got: {stage.backend}")
    confident = stage.tracking.confident  # weak detections only continue tracks, as in the stage
    settings = {"reid off": Tracking(config.detect.max_gap, 0, confident),
                f"reid {args.reid}": Tracking(config.detect.max_gap, args.reid, confident)}
    spans: dict[str, dict[int, list[int]]] = {name: {} for name in settings}
    frames = ShotDetector(config.shots)(VideoReader(args.clip))
    for frame in frames:
        found: Detections = detector.detect_batch([frame.rgb])[0]
        for name, tracking in settings.items():
            copy_ = copy.copy(frame)
            tracking.apply(copy_, tracking.weak_dropped(copy_, found))
            for i in copy_.ids.tolist():
                spans[name].setdefault(i, []).append(frame.index)
    print(machine(device))
    print(f"clip {args.clip}, detector: {stage.backend}")
    for name, tracking in settings.items():
        lengths = np.array([len(v) for v in spans[name].values()])
        merged = sum(k != v for k, v in tracking.reid.alias.items()) if tracking.reid else 0
        print(f"{name:>9}: {len(lengths)} tracks, {(lengths >= 10).sum()} lasting >= 10 frames, "
              f"mean {lengths.mean():.1f} frames per track, {merged} tracker ids given an earlier id back")


if __name__ == "__main__":
    main()
