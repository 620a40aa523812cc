"""Crops around holes for a network that works at a fixed scale, and pasting its output back.

A 1080p or 4K frame is never resized as a whole: each hole (holes closer than ``merge`` px
share one) gets a square crop with context around it, at least ``size`` px where the frame
allows, so small holes are filled at their native resolution and large ones are shrunk only as
much as they must be. The network's output is pasted back into the hole only; pixels outside the
hole stay bit-identical.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class Crop:
    """One hole's crop: its box in the frame and which of the crop's pixels it fills."""

    y1: int
    y2: int
    x1: int
    x2: int
    region: np.ndarray  # bool, crop-sized: the hole pixels this crop owns

    @property
    def box(self) -> tuple[slice, slice]:
        return slice(self.y1, self.y2), slice(self.x1, self.x2)


def _span(center: float, side: int, limit: int) -> tuple[int, int]:
    """``side`` pixels centred on ``center``, shifted to lie inside ``[0, limit)``."""
    side = min(side, limit)
    start = int(round(center - side / 2))
    start = min(max(start, 0), limit - side)
    return start, start + side


def plan_crops(mask: np.ndarray, size: int, context: float = 0.5, merge: int = 16) -> list[Crop]:
    """Crops covering every hole pixel of ``mask`` (HxW bool, True = hole).

    Args:
        size: the smallest crop side (the network's working size), where the frame is large enough.
        context: margin on each side of a hole, as a fraction of its longer side.
        merge: holes closer than this (px) share a crop.
    """
    hole = mask.astype(np.uint8)
    if not hole.any():
        return []
    joined = cv2.dilate(hole, np.ones((merge, merge), np.uint8)) if merge > 1 else hole
    count, labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    h, w = mask.shape
    crops = []
    for k in range(1, count):
        mine = (labels == k) & mask
        ys, xs = np.nonzero(mine)
        if ys.size == 0:
            continue
        longer = max(np.ptp(ys), np.ptp(xs)) + 1
        side = max(size, int(np.ceil(longer * (1 + 2 * context))))
        y1, y2 = _span((ys.min() + ys.max() + 1) / 2, side, h)
        x1, x2 = _span((xs.min() + xs.max() + 1) / 2, side, w)
        crops.append(Crop(y1, y2, x1, x2, mine[y1:y2, x1:x2]))
    return crops


def to_network(rgb: np.ndarray, mask: np.ndarray, crop: Crop, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The crop resized to ``size`` x ``size``: RGB uint8 and hole mask (any hole coverage counts)."""
    patch = rgb[crop.box]
    hole = mask[crop.box].astype(np.float32)
    shrink = patch.shape[0] > size or patch.shape[1] > size
    interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    small = cv2.resize(patch, (size, size), interpolation=interp)
    small_hole = cv2.resize(hole, (size, size), interpolation=interp) > 0
    return small, small_hole


def paste(rgb: np.ndarray, mask: np.ndarray, crop: Crop, filled: np.ndarray, feather: int) -> None:
    """Write ``filled`` (the network's ``size``-square output) into ``rgb``'s hole pixels in place.

    ``filled`` is the network's raw output over the whole crop, known pixels included: a network
    (more so one working at reduced scale) is slightly off in colour, which shows as a seam at the
    hole's border. With ``feather`` > 0 its error measured on the known pixels around the hole
    (truth minus its own output there) is carried into the hole and fades with depth (a
    Gaussian-weighted extrapolation, decaying over ``feather`` px), so the fill meets its
    surroundings without a visible edge.
    """
    patch = rgb[crop.box]
    h, w = patch.shape[:2]
    up = cv2.resize(filled, (w, h), interpolation=cv2.INTER_CUBIC if h > filled.shape[0] else cv2.INTER_AREA)
    result = up.astype(np.float32)
    if feather > 0:
        near = cv2.dilate(crop.region.astype(np.uint8), np.ones((2 * feather + 1,) * 2, np.uint8)) > 0
        ring = (near & ~mask[crop.box]).astype(np.float32)
        if ring.any():
            error = (patch.astype(np.float32) - result) * ring[..., None]
            sigma = feather / 2
            num = cv2.GaussianBlur(error, (0, 0), sigma)
            den = cv2.GaussianBlur(ring, (0, 0), sigma)[..., None]
            depth = cv2.distanceTransform(crop.region.astype(np.uint8), cv2.DIST_L2, 3)
            fade = np.exp(-depth / feather)[..., None]
            result += num / np.maximum(den, 1e-3) * (den > 1e-3) * fade
    patch[crop.region] = np.clip(np.rint(result[crop.region]), 0, 255).astype(np.uint8)
