#!/usr/bin/env python3
"""What the still-object rule (``detect.still``) leaves alone on a clip, and a sheet to check it by eye.

The clip's tracks as `vidinpaint tracks` lists them with the rule off (``detect.still 0``), then
with the configured rule: the ids are the same in both runs (the rule acts after tracking), so
every object the rule left alone on some frame is one of the first run's tracks. Prints the machine line, both counts and, per object left alone, the frames it was left
alone on out of the frames it was tracked; writes their thumbnails (as `tracks --sheet` draws
them) to ``--sheet``. No ground truth: the sheet shows whether any of them is a person.

Usage: python scripts/bench_still.py [--clip samples/vtest.mp4] [--sheet docs/figures/still_left_alone.png] [--set KEY=VALUE]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_models import machine  # noqa: E402  (scripts/ is on sys.path when run as a script)

from vidinpaint.config import load_config  # noqa: E402
from vidinpaint.detect.still import StillObjects  # noqa: E402
from vidinpaint.devices import start_device  # noqa: E402
from vidinpaint.images import write_image  # noqa: E402
from vidinpaint.tracks import list_tracks, tracks_sheet  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, default=ROOT / "samples" / "vtest.mp4")
    parser.add_argument("--sheet", type=Path, default=ROOT / "docs" / "figures" / "still_left_alone.png")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="a configuration override, as for `vidinpaint clean --set` (repeatable)")
    args = parser.parse_args()
    config = load_config(None, args.overrides)
    device, _ = start_device(config.device, config.torch_threads)
    print(machine(device))
    every = list_tracks(args.clip, load_config(None, [*args.overrides, "detect.still=0"])).tracks
    if not config.detect.still:
        raise SystemExit("detect.still is 0: the rule is off")
    listing = list_tracks(args.clip, config)
    frames: dict[int, list[int]] = {}
    for index, boxes in sorted(listing.left.items()):
        for i in boxes:
            frames.setdefault(i, []).append(index)
    left = {i: (seen[0], seen[-1]) for i, seen in frames.items()}
    rule = StillObjects(config.detect.still_frames, config.detect.still, config.detect.still_score).describe
    print(f"clip {args.clip.name}: {len(every)} tracks with detect.still 0; with {rule}: "
          f"{sum(not t.still for t in listing.tracks)} tracks removed on some frame, {len(left)} objects left alone "
          f"on some frame ({sum(t.still for t in listing.tracks)} of them on every frame)")
    tracked = {t.id: t for t in every}
    for i, (first, last) in sorted(left.items()):
        t = tracked[i]
        tallest = max(y1 - y0 for _, y0, _, y1 in t.boxes.values())
        print(f"  id {i:>3}: left alone on frames {first}-{last} of {t.first}-{t.last}, up to {tallest}px tall")
    write_image(args.sheet, tracks_sheet([tracked[i] for i in sorted(left)]), replace=True)
    print(f"sheet of the objects left alone: {args.sheet.relative_to(ROOT) if args.sheet.is_relative_to(ROOT) else args.sheet}")


if __name__ == "__main__":
    main()
