#!/usr/bin/env python3
"""Removal end to end on real edited footage: the default mask pipeline (shots, detector,
segmenter, mask stage) finds the people itself, then the fill and Telea remove them; scored
against the truth where the people really are.

The clips are ``scripts/bench_real.py``'s (real footage, hard cuts, a dissolve, real pedestrians
cut out of the sample pasted with a soft edge, truth known). ``bench_real.py`` hands the fill the
exact masks; here the masks come from the pipeline as ``vidinpaint clean`` makes them, so what the
detector and the segmenter miss (a hand, a shoe, legs the colour of the road, a person entering
at the frame's edge) shows. Scored per shot inside the true person region grown by 2 px (the soft
edge): PSNR against the truth, and ``left``, the share of that region whose output differs from
the truth by more than 40 levels in some channel (the person, or a part of it, still there, or a
poor fill). ``recall``: share of the true person pixels inside the pipeline's masks.

Methods on the same masks, same run: ``telea`` (per-frame Telea on the pipeline's masks), ``no
limb`` (the fill with ``fill.limb 255``: parts left out of a mask stay), ``fill`` (the default).

Usage: python scripts/bench_removal.py [--only edit_street,...] [--set KEY=VALUE] [--per-frame]
"""

from __future__ import annotations

import argparse
import os
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import numpy as np

from vidinpaint.devices import cpu_line
from vidinpaint.backends import build_fill
from vidinpaint.composite import extract_people
from vidinpaint.config import Config, load_config
from vidinpaint.frames import Frame
from vidinpaint.inpaint import ClassicalInpainter
from vidinpaint.masks import dilate
from vidinpaint.metrics import psnr_in
from vidinpaint.pipeline import build_stages
from vidinpaint.video import VideoReader

from bench_real import CLIPS, ROOT, W, H, Clip, build, fetch  # noqa: E402  (scripts/ is on sys.path)


def masked(clip: Clip, config: Config) -> list[Frame]:
    """The clip's frames through the default mask stages: masks, boxes and shots as the pipeline sets them."""
    stream = (Frame(i, i, Fraction(1, 25), rgb.copy()) for i, rgb in enumerate(clip.frames))
    for stage in build_stages(config, None, "cpu"):
        stream = stage(stream)
    return list(stream)


def removed(frames: list[Frame], config: Config, **fill: object) -> list[np.ndarray]:
    """Copies of ``frames`` through the fill (with the ``fill`` settings changed) and Telea."""
    telea = ClassicalInpainter(replace(config.inpaint, backend="telea"))
    copies = [replace(f, rgb=f.rgb.copy(), mask=f.mask.copy()) for f in frames]
    filled = build_fill(replace(config, fill=replace(config.fill, **fill)), "cpu", spatial=telea.inpaint)(copies)
    return [telea.inpaint(f.rgb, f.mask) for f in filled]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated clip names")
    home = Path(os.environ.get("VIDINPAINT_HOME", Path.home() / ".cache" / "vidinpaint"))
    parser.add_argument("--cache", type=Path, default=home / "footage")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="a configuration override, as for `vidinpaint clean --set` (repeatable)")
    parser.add_argument("--per-frame", action="store_true",
                        help="also each frame's recall, boxes and masked pixels (where a setting loses people)")
    args = parser.parse_args()
    cache = fetch(args.cache)
    config = load_config(None, args.overrides)
    people = [p for p in extract_people([f.rgb for f in VideoReader(ROOT / "samples" / "vtest.mp4")])[1]
              if p.alpha.shape[0] >= 80]
    print(f"machine: {cpu_line()}; {W}x{H}, default mask pipeline "
          f"(overrides: {args.overrides or 'none'}), scored in the true person region + 2px")
    print(f"{'clip':<12} {'shot':<16} {'frames':>7} {'recall':>6} {'method':<8} {'PSNR dB':>8} {'left':>6}")
    totals: dict[str, list[float]] = {}
    for name, spec in CLIPS.items():
        if args.only and name not in args.only.split(","):
            continue
        clip = build(name, people=people, cache=cache, **spec)
        frames = masked(clip, config)
        if args.per_frame:
            for t, (frame, truth) in enumerate(zip(frames, clip.masks)):
                recall = f"{frame.mask[truth].mean():.3f}" if truth.any() else "-"
                print(f"{name:<12} frame {t:>4} recall {recall:>5} boxes {len(frame.boxes):>3} "
                      f"masked {int(frame.mask.sum()):>7} px", flush=True)
        region = [dilate(m, 2) for m in clip.masks]
        methods = {"telea": [ClassicalInpainter(replace(config.inpaint, backend="telea")).inpaint(f.rgb, f.mask)
                             for f in frames],
                   "no limb": removed(frames, config, limb=255.0), "fill": removed(frames, config)}
        for label, first, last in clip.shots:
            idx = [t for t in range(first, last + 1) if region[t].any()]
            truth, where = np.stack([clip.truth[t] for t in idx]), np.stack([region[t] for t in idx])
            recall = np.mean([frames[t].mask[clip.masks[t]].mean() for t in idx if clip.masks[t].any()])
            for method, result in methods.items():
                out = np.stack([result[t] for t in idx])
                left = float((np.abs(out.astype(np.int16) - truth).max(axis=-1) > 40)[where].mean())
                p = psnr_in(out, truth, where)
                totals.setdefault(method, []).append(left)
                print(f"{name:<12} {label:<16} {f'{first}-{last}':>7} {recall:>6.3f} {method:<8} {p:>8.2f} "
                      f"{left:>6.3f}", flush=True)
    print("mean left over all shots: " + ", ".join(f"{m} {np.mean(v):.3f}" for m, v in totals.items()))


if __name__ == "__main__":
    main()
