"""Ground truth from real footage: real pedestrians cut out of a static-camera clip and pasted
onto a real clean plate, so the true silhouette of every person is known exactly.

Silhouettes come from ``vtest`` (OpenCV's pedestrian clip): pixels that differ from the clip's
temporal-median clean plate, one connected blob per cut-out. The blobs are real walking
shapes with their real colours; compositing them at chosen sizes and places on a different
background (the plate mirrored) gives scenes whose masks are exact by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .detect.motion import clean_plate, foreground


@dataclass
class Cutout:
    """A real person: ``rgb`` crop and its ``alpha`` (``HxW bool``) silhouette."""

    rgb: np.ndarray
    alpha: np.ndarray


def extract_people(frames: list[np.ndarray], min_height: int = 40, threshold: float = 30.0) -> tuple[np.ndarray, list[Cutout]]:
    """Clean plate of ``frames`` and the person-like blobs (taller than wide) found in them."""
    plate = clean_plate(frames[:: max(1, len(frames) // 30)])
    people = [Cutout(rgb[y:y + alpha.shape[0], x:x + alpha.shape[1]].copy(), alpha)
              for rgb in frames for x, y, alpha in person_blobs(rgb, plate, min_height, threshold)]
    return plate, people


def person_blobs(rgb: np.ndarray, plate: np.ndarray, min_height: int = 40, threshold: float = 30.0
                 ) -> list[tuple[int, int, np.ndarray]]:
    """``(x, y, alpha)`` of each person-like blob of ``rgb`` against its clean ``plate``: a
    walker's real silhouette in this very frame (a static camera), away from the frame's edges."""
    fg = foreground(rgb, plate, threshold).astype(np.uint8)
    fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7)))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(fg)
    blobs = []
    for i in range(1, count):
        x, y, w, h, area = stats[i]
        touches = x == 0 or y == 0 or x + w >= rgb.shape[1] or y + h >= rgb.shape[0]
        if h >= min_height and 1.6 * w <= h <= 4.5 * w and area >= 0.35 * w * h and not touches:
            blobs.append((int(x), int(y), labels[y:y + h, x:x + w] == i))
    return blobs


def place(shape: tuple[int, ...], people: list[Cutout], heights: list[int], rng: np.random.Generator,
          cut: list[bool] | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """One random cut-out per entry of ``heights`` (pixels tall) at a random spot of a frame of
    ``shape``: its visible ``HxW bool`` silhouette and the colours of its pixels. Where ``cut``
    says so, the person stands across the frame's left or right edge (25-75 % of the width
    inside), as people entering or leaving a shot do."""
    h, w = shape[:2]
    placed = []
    for height, at_edge in zip(heights, cut or [False] * len(heights), strict=True):
        person = people[int(rng.integers(len(people)))]
        scale = height / person.alpha.shape[0]
        pw = max(2, int(round(person.alpha.shape[1] * scale)))
        rgb = cv2.resize(person.rgb, (pw, height), interpolation=cv2.INTER_AREA)
        alpha = cv2.resize(person.alpha.astype(np.uint8), (pw, height), interpolation=cv2.INTER_NEAREST) > 0
        if at_edge:
            inside = max(1, int(round(pw * rng.uniform(0.25, 0.75))))
            x = w - inside if rng.integers(2) else inside - pw
        else:
            x = int(rng.integers(0, w - pw))
        y = int(rng.integers(int(0.15 * h), h - height))
        left, right = max(x, 0), min(x + pw, w)
        alpha, rgb = alpha[:, left - x:right - x], rgb[:, left - x:right - x]
        mask = np.zeros((h, w), bool)
        mask[y:y + height, left:right] = alpha
        placed.append((mask, rgb[alpha]))
    return placed


def paste(background: np.ndarray, placed: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, list[np.ndarray]]:
    """The people of :func:`place` pasted in order, and the visible mask of each (later ones
    occlude earlier ones, and the masks say so)."""
    out = background.copy()
    masks: list[np.ndarray] = []
    for mask, colours in placed:
        out[mask] = colours
        masks = [m & ~mask for m in masks] + [mask]
    return out, masks


def compose(background: np.ndarray, people: list[Cutout], heights: list[int],
            rng: np.random.Generator) -> tuple[np.ndarray, list[np.ndarray]]:
    """Paste one random cut-out per entry of ``heights`` at a random spot: the image and the true
    visible mask of each pasted person."""
    return paste(background, place(background.shape, people, heights, rng))


def shadow_of(silhouette: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``HxW float32`` 0-1: a hard cast shadow of ``silhouette`` on flat ground, attached at its
    feet (the lowest row): a point ``z`` px above the feet falls ``b*z`` px below them and
    ``a*z`` px aside (sun behind the camera, to one side), with a 1 px soft edge."""
    ys = np.nonzero(silhouette.any(axis=1))[0]
    if not len(ys):
        return np.zeros(silhouette.shape, np.float32)
    foot = float(ys[-1])
    a, b = rng.uniform(-0.6, 0.6), rng.uniform(0.15, 0.5)
    to_source = np.array([[1, -a / b, a / b * foot], [0, -1 / b, (1 + 1 / b) * foot]], np.float32)  # ground -> body
    shade = cv2.warpAffine(silhouette.astype(np.float32), to_source, silhouette.shape[::-1],
                           flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
    return cv2.GaussianBlur(shade, (3, 3), 0)


def compose_shadows(background: np.ndarray, people: list[Cutout], heights: list[int], rng: np.random.Generator,
                    darkness: tuple[float, float] = (0.45, 0.7)) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """:func:`compose` with each person's cast shadow on the ground first: the background's
    light times a factor drawn from ``darkness`` (every channel alike, so the ground keeps its
    chromaticity). Returns the image, the visible person masks and the visible shadow mask."""
    placed = place(background.shape, people, heights, rng)
    shade = np.zeros(background.shape[:2], np.float32)
    for mask, _ in placed:
        shade = np.maximum(shade, shadow_of(mask, rng))
    light = 1.0 - (1.0 - rng.uniform(*darkness)) * shade
    image, masks = paste(np.clip(background * light[..., None], 0, 255).astype(np.uint8), placed)
    return image, masks, (shade > 0.5) & ~np.logical_or.reduce(masks)


MOTIONS = ("static", "pan", "zoom", "shake")


def _camera(motion: str, t: int, frames: int, rng_offsets: np.ndarray) -> tuple[float, float, float]:
    """Scale and offset (output pixel -> source pixel) of the virtual camera at frame ``t``."""
    if motion == "static":
        return 1.0, 0.0, 0.0
    if motion == "pan":
        return 1.0, 3.0 * t, 0.6 * t
    if motion == "zoom":
        return 1.0 - 0.15 * t / max(frames - 1, 1), 0.0, 0.0  # zooming in: smaller source window
    if motion == "shake":
        return 1.0, float(rng_offsets[t, 0]), float(rng_offsets[t, 1])
    raise ValueError(f"motion must be one of {MOTIONS}, got {motion!r}")


def camera_clip(source: np.ndarray, people: list[Cutout], motion: str, frames: int, width: int, height: int,
                seed: int = 0, walkers: int = 3):
    """Yield ``(rgb, mask, background, flow_to_previous)`` per frame of a virtual camera moving over
    the real image ``source``, with real silhouettes walking across the view.

    ``flow_to_previous`` is the exact flow of the background from this frame to the previous
    one (None for the first frame): the ground truth for the temporal warping error.
    """
    rng = np.random.default_rng(seed)
    shake = np.cumsum(rng.normal(0, 1.5, (frames, 2)), axis=0)
    shake = np.clip(shake - shake.mean(axis=0), -8, 8)
    sh, sw = source.shape[:2]
    base = min(sw / (width + 3.0 * frames + 40), sh / (height + 0.6 * frames + 40))  # room to pan
    x0, y0 = (sw - base * width) / 2 - 1.5 * frames * base, (sh - base * height) / 2 - 0.3 * frames * base
    tracks = []
    for _ in range(walkers):
        person = people[int(rng.integers(len(people)))]
        tall = int(rng.uniform(0.25, 0.5) * height)
        tracks.append((person, tall, rng.uniform(0, width), rng.uniform(0.55, 0.95) * height,
                       rng.choice([-1, 1]) * rng.uniform(2.0, 6.0)))
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    previous = None
    for t in range(frames):
        zoom, dx, dy = _camera(motion, t, frames, shake)
        scale = base * zoom
        ox = x0 + dx * base + (1 - zoom) * base * width / 2
        oy = y0 + dy * base + (1 - zoom) * base * height / 2
        matrix = np.array([[scale, 0, ox], [0, scale, oy]], np.float32)
        bg = cv2.warpAffine(source, matrix, (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                            borderMode=cv2.BORDER_REFLECT)
        flow = None
        if previous is not None:
            ps, pox, poy = previous
            flow = np.stack([(scale * xs + ox - pox) / ps - xs, (scale * ys + oy - poy) / ps - ys], axis=-1)
        previous = (scale, ox, oy)
        rgb, mask = bg.copy(), np.zeros((height, width), bool)
        for person, tall, start_x, foot, speed in tracks:
            ph = tall
            pw = max(2, int(round(person.alpha.shape[1] * ph / person.alpha.shape[0])))
            x = int(round((start_x + speed * t) % (width + pw))) - pw
            y = int(round(foot)) - ph
            crop_rgb = cv2.resize(person.rgb, (pw, ph), interpolation=cv2.INTER_AREA)
            crop_a = cv2.resize(person.alpha.astype(np.uint8), (pw, ph), interpolation=cv2.INTER_NEAREST) > 0
            x1, y1, x2, y2 = max(x, 0), max(y, 0), min(x + pw, width), min(y + ph, height)
            if x2 <= x1 or y2 <= y1:
                continue
            a = crop_a[y1 - y:y2 - y, x1 - x:x2 - x]
            rgb[y1:y2, x1:x2][a] = crop_rgb[y1 - y:y2 - y, x1 - x:x2 - x][a]
            mask[y1:y2, x1:x2] |= a
        yield rgb, mask, bg, flow
