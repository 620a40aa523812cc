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
    people = []
    for rgb in frames:
        fg = foreground(rgb, plate, threshold).astype(np.uint8)
        fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
        fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7)))
        count, labels, stats, _ = cv2.connectedComponentsWithStats(fg)
        for i in range(1, count):
            x, y, w, h, area = stats[i]
            touches = x == 0 or y == 0 or x + w >= rgb.shape[1] or y + h >= rgb.shape[0]
            if h >= min_height and 1.6 * w <= h <= 4.5 * w and area >= 0.35 * w * h and not touches:
                alpha = labels[y:y + h, x:x + w] == i
                people.append(Cutout(rgb[y:y + h, x:x + w].copy(), alpha))
    return plate, people


def compose(background: np.ndarray, people: list[Cutout], heights: list[int],
            rng: np.random.Generator) -> tuple[np.ndarray, list[np.ndarray]]:
    """Paste one random cut-out per entry of ``heights`` (pixels tall) at a random spot.

    Returns the image and the true visible mask of each pasted person (later ones occlude
    earlier ones, and the masks say so).
    """
    out = background.copy()
    h, w = out.shape[:2]
    masks: list[np.ndarray] = []
    for height in heights:
        person = people[int(rng.integers(len(people)))]
        scale = height / person.alpha.shape[0]
        pw = max(2, int(round(person.alpha.shape[1] * scale)))
        rgb = cv2.resize(person.rgb, (pw, height), interpolation=cv2.INTER_AREA)
        alpha = cv2.resize(person.alpha.astype(np.uint8), (pw, height), interpolation=cv2.INTER_NEAREST) > 0
        x = int(rng.integers(0, w - pw))
        y = int(rng.integers(int(0.15 * h), h - height))
        mask = np.zeros((h, w), bool)
        mask[y:y + height, x:x + pw] = alpha
        out[mask] = rgb[alpha]
        masks = [m & ~mask for m in masks] + [mask]
    return out, masks
