#!/usr/bin/env python3
"""Spatial inpainting methods on the holes that temporal fill cannot close, with ground truth.

Clips: the quality benchmark's (``scripts/make_benchmark.py``: real street plate, virtual
camera, real pedestrian silhouettes), regenerated in memory. Two hole sets per clip:

* ``leftover``: masks = truth + 6 px, flow-guided fill (DIS) first, then each method fills what
  is left, exactly as in the pipeline; scored on the leftover pixels only.
* ``still``: the people as if they never moved (no frame shows what is behind them): each
  method fills the whole person mask on its own, on evenly spaced frames.

Methods, all in the same run: OpenCV Telea (the baseline) and Navier-Stokes; OpenCV contrib's
FSR (``xphoto.inpaint`` FSR_FAST, needs opencv-contrib-python-headless) and PatchMatch
(``pypatchmatch``), each skipped with a note when not installed; and any number of gated-conv
checkpoints (``--gated NAME=PATH``; registry names work too). ``--adapt STEPS`` also fine-tunes
the first gated checkpoint on each clip's own frames with its people excluded (what
``vidinpaint adapt`` does) and scores that as ``NAME+adapt``. For the leftover set each frame
excludes its own people, as the tool does (the network may learn background that other frames
show: that is the point of adapting to the clip). For the still set that would leak the answer,
so there every training frame excludes the union of all frames' people, and only the static
clips are scored (with a moving camera a frame-space union does not cover the scene points).

Reported inside the hole: PSNR (dB), SSIM, and seconds per frame on this machine; a contact
sheet of one clip's ``still`` set is written too.

Usage: python scripts/bench_inpaint.py --gated own=weights.pth [--adapt 150] [--only 480p_static]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from vidinpaint.backends import weights_path
from vidinpaint.config import Config, InpaintConfig
from vidinpaint.images import write_image
from vidinpaint.inpaint import inpaint_frame
from vidinpaint.inpaint.checkpoint import load_generator
from vidinpaint.inpaint.neural import GatedInpainter
from vidinpaint.inpaint.train import Samples, TrainConfig, Trainer
from vidinpaint.metrics import psnr_in, ssim_in

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from bench_models import machine  # noqa: E402
from bench_quality import benchmark_clips, flow_only  # noqa: E402


def _fsr():
    if not hasattr(cv2, "xphoto"):
        return None

    def fill(rgb, mask):
        ys, xs = np.nonzero(mask)
        pad = 32  # FSR is slow on whole frames; a crop with context gives the same fill
        y1, y2 = max(ys.min() - pad, 0), ys.max() + pad + 1
        x1, x2 = max(xs.min() - pad, 0), xs.max() + pad + 1
        crop = np.ascontiguousarray(rgb[y1:y2, x1:x2, ::-1])
        out = crop.copy()
        cv2.xphoto.inpaint(crop, (~mask[y1:y2, x1:x2]).astype(np.uint8) * 255, out, cv2.xphoto.INPAINT_FSR_FAST)
        result = rgb.copy()
        result[y1:y2, x1:x2][mask[y1:y2, x1:x2]] = out[..., ::-1][mask[y1:y2, x1:x2]]
        return result
    return fill


def _patchmatch():
    try:
        from patchmatch import patch_match
    except ImportError:
        return None
    if not patch_match.patchmatch_available:
        return None
    patch_match.set_random_seed(0)
    return lambda rgb, mask: patch_match.inpaint(rgb, mask.astype(np.uint8) * 255, patch_size=3)


def classical_methods(cfg: Config) -> tuple[dict, list[str]]:
    methods = {"telea": lambda rgb, m: inpaint_frame(rgb, m, "telea", cfg.inpaint.radius, cfg.inpaint.max_hole_pixels),
               "ns": lambda rgb, m: inpaint_frame(rgb, m, "ns", cfg.inpaint.radius, cfg.inpaint.max_hole_pixels)}
    notes = []
    for name, make, need in (("fsr", _fsr, "opencv-contrib-python-headless"), ("patchmatch", _patchmatch, "pypatchmatch")):
        fill = make()
        if fill is None:
            notes.append(f"{name} skipped: pip install {need}")
        else:
            methods[name] = fill
    return methods, notes


def adapted(base: Path, frames: list[np.ndarray], masks: list[np.ndarray], steps: int, size: int,
            crop: int) -> GatedInpainter:
    """The base checkpoint fine-tuned on this clip's frames, its people excluded (as `vidinpaint adapt`)."""
    config = TrainConfig(size=size, batch=4, lr=5e-5)
    trainer = Trainer.resume(base, config, optimisers=False)
    samples, rng = Samples(frames, masks), np.random.default_rng(0)
    for _ in range(steps):
        trainer.step(*samples.draw(config.batch, config.size, rng))
    return GatedInpainter(trainer.generator.eval(), InpaintConfig(backend="gated", size=crop), "cpu", "adapted",
                          trained_size=size)


def evaluate(fill, batched: bool, inputs, truths, holes):
    start = time.perf_counter()
    if batched:
        results = fill(list(zip(inputs, holes)))
    else:
        results = [fill(rgb, hole) if hole.any() else rgb for rgb, hole in zip(inputs, holes)]
    seconds = (time.perf_counter() - start) / len(inputs)
    psnr = psnr_in(np.stack(results), np.stack(truths), np.stack(holes))
    ssim = float(np.mean([ssim_in(r, t, h) for r, t, h in zip(results, truths, holes) if h.any()]))
    return psnr, ssim, seconds, results


def sheet(rows: list[list[np.ndarray]], labels: list[str], path: Path) -> None:
    w = 256
    lines = []
    for cells in rows:
        h = int(round(cells[0].shape[0] * w / cells[0].shape[1]))
        lines.append(np.concatenate([cv2.resize(c, (w, h), interpolation=cv2.INTER_AREA) for c in cells], axis=1))
    header = np.full((24, w * len(labels), 3), 255, np.uint8)
    for i, text in enumerate(labels):
        cv2.putText(header, text, (i * w + 6, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_image(path, np.concatenate([header, *lines], axis=0))


def zoom(rgb: np.ndarray, hole: np.ndarray, side: int = 160) -> np.ndarray:
    """A square crop around the largest hole, for the contact sheet."""
    count, labels, stats, centres = cv2.connectedComponentsWithStats(hole.astype(np.uint8))
    k = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA])) if count > 1 else 0
    cx, cy = (int(v) for v in centres[k]) if count > 1 else (rgb.shape[1] // 2, rgb.shape[0] // 2)
    y1 = min(max(cy - side // 2, 0), rgb.shape[0] - side)
    x1 = min(max(cx - side // 2, 0), rgb.shape[1] - side)
    return rgb[y1:y1 + side, x1:x1 + side]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gated", action="append", default=[], metavar="NAME=PATH",
                        help="a gated-conv checkpoint to score (repeatable)")
    parser.add_argument("--classical", default="telea,ns,fsr,patchmatch", help="classical methods to run")
    parser.add_argument("--adapt", type=int, default=0, help="fine-tune the first --gated on each clip for STEPS")
    parser.add_argument("--adapt-size", type=int, default=128)
    parser.add_argument("--size", type=int, default=InpaintConfig.size, help="inpaint.size for the gated runs (0 = each checkpoint's training size)")
    parser.add_argument("--frames", type=int, default=40, help="clip length for the flow fill")
    parser.add_argument("--still", type=int, default=6, help="frames per clip in the still set")
    parser.add_argument("--only", default="", help="comma-separated clip names, e.g. 480p_static")
    parser.add_argument("--sheet", type=Path, default=ROOT / "docs" / "figures" / "inpaint_still_480p_static.png")
    args = parser.parse_args()
    cfg = Config()
    methods, notes = classical_methods(cfg)
    methods = {m: fill for m, fill in methods.items() if m in args.classical.split(",")}
    gated = {}
    for item in args.gated:
        name, _, where = item.partition("=")
        path = weights_path(where, None)
        model, meta = load_generator(path)
        gated[name] = (path, GatedInpainter(model, InpaintConfig(backend="gated", size=args.size), "cpu",
                                            meta.get("source", path.name), int(meta.get("size", 256))))
    print(f"machine: {machine('cpu')}; gated crops {f'{args.size}px' if args.size else 'at training size'}; "
          f"masks = truth + {cfg.mask.dilate}px; leftover after DIS flow fill over {args.frames} frames; "
          f"still = {args.still} frames")
    for note in notes:
        print(note)
    for name, (path, stage) in gated.items():
        print(f"{name}: {path} (cnum {stage.model.cnum}, {stage.source})")
    print(f"{'clip':<12} {'holes':<9} {'method':<16} {'PSNR dB':>8} {'SSIM':>6} {'s/frame':>8}")
    totals: dict[tuple[str, str], list[float]] = {}
    for name, data, holes in benchmark_clips(args.only, args.frames, cfg.mask.dilate):
        filled, left = flow_only(data, holes, cfg, Config().fill.window)
        keep = [i for i, m in enumerate(left) if m.any()]
        picks = np.linspace(0, len(data) - 1, args.still).round().astype(int)
        sets = {"leftover": ([filled[i] for i in keep], [data[i][2] for i in keep], [left[i] for i in keep]),
                "still": ([data[i][0] for i in picks], [data[i][2] for i in picks], [holes[i] for i in picks])}
        runs = [(m, fill, False) for m, fill in methods.items()]
        runs += [(g, stage.fill, True) for g, (_, stage) in gated.items()]
        extra: dict[str, list] = {"leftover": [], "still": []}
        if args.adapt and gated:
            first, (path, _) = next(iter(gated.items()))
            frames = [d[0] for d in data]
            union = np.logical_or.reduce(holes)
            for set_name, excluded in (("leftover", holes), ("still", [union] * len(holes) if "static" in name else None)):
                if excluded is None:
                    continue
                start = time.perf_counter()
                stage = adapted(path, frames, excluded, args.adapt, args.adapt_size, args.size)
                print(f"{name:<12} {set_name:<9} adapted {first} in {time.perf_counter() - start:.0f} s "
                      f"({args.adapt} steps, {np.mean([e.mean() for e in excluded]) * 100:.1f}% of pixels excluded)")
                extra[set_name].append((f"{first}+adapt", stage.fill, True))
        for set_name, (inputs, truths, masks) in sets.items():
            if not inputs:
                print(f"{name:<12} {set_name:<9} (no leftover holes)")
                continue
            cells = {}
            for method, fill, batched in runs + extra[set_name]:
                p, s, sec, results = evaluate(fill, batched, inputs, truths, masks)
                totals.setdefault((set_name, method), []).append(p)
                print(f"{name:<12} {set_name:<9} {method:<16} {p:>8.2f} {s:>6.3f} {sec:>8.3f}", flush=True)
                cells[method] = results
            if set_name == "still" and args.sheet and name == "480p_static":
                rows = [[zoom(img, masks[t]) for img in (inputs[t], truths[t], *(cells[m][t] for m in cells))]
                        for t in range(0, len(inputs), max(1, len(inputs) // 3))][:3]
                sheet(rows, ["input", "truth", *cells], args.sheet)
                print(f"contact sheet: {args.sheet}")
    print("\nmean PSNR over clips (dB):")
    for (set_name, method), values in totals.items():
        print(f"  {set_name:<9} {method:<16} {np.mean(values):6.2f}  ({len(values)} clips)")


if __name__ == "__main__":
    main()
