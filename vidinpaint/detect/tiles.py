"""Tiled detection: far people are a few pixels tall once a large frame is shrunk to a
detector's input (a 30 px person in 768x576 is 16x8 px at NanoDet's 416 px), below what the
detector finds. Running it also on overlapping tiles of the input's size shows them at full
resolution. The whole frame still runs too, for people larger than a tile.

A box touching a tile's inner edge is a person cut by the tile and is dropped: the overlap
makes any person shorter than it whole in a neighbouring tile, and the whole-frame pass finds
the taller ones. What remains is merged by non-maximum suppression.

Mirrored edges: a person across the frame's left or right edge is half a person to a detector,
which most often finds nothing (on the mask benchmark's scenes NanoDet's boxes held 0.78 of such
people's pixels, against 0.96 inside the frame). With ``mirror``, the frame is extended by its
mirror image beyond both edges, where the half becomes a whole, if odd, figure, and the boxes
are cut back at the edges. The tiles are laid on the frame itself, those at its edges widened
over the mirror bands, so the bands add no tiles. A box mostly in a band is the mirror image of
someone inside the frame and is dropped.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np

from .boxes import nms
from .stage import Detections, Detector

MODES = ("off", "auto", "on")
AUTO_RATIO = 1.5  # auto: tiles once the frame's longer side is this many input sizes
MIRRORED = 0.25  # a box with less than this share of its width inside the frame is a mirror image


def _starts(length: int, size: int, overlap: int) -> list[int]:
    """Where tiles of ``size`` start along ``length``, spread evenly, overlapping by ``overlap``."""
    if length <= size:
        return [0]
    count = max(math.ceil((length - overlap) / max(size - overlap, 1)), 2)
    return [int(round(i * (length - size) / (count - 1))) for i in range(count)]


def tile_grid(width: int, height: int, size: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """XYXY tiles of ``size`` px (smaller where the frame is) covering the frame, neighbours
    overlapping by at least ``overlap`` px, spread evenly."""
    return [(x, y, min(x + size, width), min(y + size, height))
            for y in _starts(height, size, overlap) for x in _starts(width, size, overlap)]


def fitted_grid(width: int, height: int, side: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """XYXY tiles of at most ``side`` px, as few as cover the frame with neighbours overlapping
    by at least ``overlap`` px, all of one size (a frame no larger than ``side`` is one tile)."""

    def fit(length: int) -> int:
        count = math.ceil((length - overlap) / max(side - overlap, 1)) if length > side else 1
        return min(length, math.ceil((length + (count - 1) * overlap) / count))

    tw, th = fit(width), fit(height)
    return [(x, y, x + tw, y + th) for y in _starts(height, th, overlap) for x in _starts(width, tw, overlap)]


def _inside(boxes: np.ndarray, tile: tuple[int, int, int, int], width: int, height: int, edge: float) -> np.ndarray:
    """Which boxes (tile coordinates) keep clear of every tile edge that is not a frame edge."""
    x0, y0, x1, y1 = tile
    keep = np.ones(len(boxes), bool)
    if x0 > 0:
        keep &= boxes[:, 0] > edge
    if y0 > 0:
        keep &= boxes[:, 1] > edge
    if x1 < width:
        keep &= boxes[:, 2] < x1 - x0 - edge
    if y1 < height:
        keep &= boxes[:, 3] < y1 - y0 - edge
    return keep


def _classes(found: Detections) -> np.ndarray:
    """Class ids of ``found`` (-1 for a detector that gives none)."""
    n = len(found.scores)
    return np.full(n, -1, np.int64) if found.classes is None else np.asarray(found.classes, np.int64).reshape(n)


class TiledDetector:
    """Wraps any :class:`Detector`: whole frame plus tiles, merged, each with ``mirror`` of the
    frame's width mirrored beyond its left and right edges. Ids are dropped (a tracker running
    on whole frames cannot follow boxes from tiles), so the stage's IoU tracker gives them.

    A detector with ``detect_native_batch`` (one that takes images of any size at their own
    resolution) gets tiles of up to ``native_side`` px, as few as cover the frame (one for a
    768x576 frame); any other gets tiles of its input ``size``."""

    def __init__(self, detector: Detector, size: int, mode: str = "auto", overlap: int = 64, iou: float = 0.5,
                 edge: float = 2.0, native_side: int = 0, mirror: float = 0.0) -> None:
        if mode not in MODES:
            raise ValueError(f"tiles must be one of {', '.join(MODES)}, got {mode!r}")
        if 0 < native_side <= overlap:
            raise ValueError(f"detect.tile_side ({native_side}) must be larger than detect.tile_overlap ({overlap})")
        self.detector, self.size, self.mode, self.overlap, self.iou, self.edge = detector, size, mode, overlap, iou, edge
        self.native_side, self.mirror = native_side, mirror

    @property
    def native(self) -> Callable[[list[np.ndarray]], list[Detections]] | None:
        """The wrapped detector's ``detect_native_batch`` when tiles run at native resolution."""
        return getattr(self.detector, "detect_native_batch", None) if self.native_side else None

    @property
    def backend(self) -> str:
        line = self.detector.backend
        if self.mode != "off":
            when = "always" if self.mode == "on" else f"frames over {AUTO_RATIO:g}x {self.size}px"
            tiles = f"native-resolution tiles up to {self.native_side}px" if self.native else f"{self.size}px tiles"
            line += f" + {tiles} ({when}, overlap {self.overlap}px)"
        if self.mirror:
            line += f", frames mirrored {self.mirror:g} of their width beyond the left and right edges"
        return line

    def tiles(self, width: int, height: int) -> list[tuple[int, int, int, int]]:
        """The tiles a ``width`` x ``height`` frame is split into (none when tiling is off for it)."""
        if self.mode == "off" or (self.mode == "auto" and max(width, height) < AUTO_RATIO * self.size):
            return []
        if self.native:
            return fitted_grid(width, height, self.native_side, self.overlap)
        return tile_grid(width, height, self.size, self.overlap)

    def detect_batch(self, images: list[np.ndarray]) -> list[Detections]:
        if self.mode == "off" and not self.mirror:
            return self.detector.detect_batch(images)
        return [self._detect(rgb) for rgb in images]

    def _detect(self, rgb: np.ndarray) -> Detections:
        height, width = rgb.shape[:2]
        pad = int(round(self.mirror * width))
        wide = cv2.copyMakeBorder(rgb, 0, 0, pad, pad, cv2.BORDER_REFLECT_101) if pad else rgb
        # in the extended frame's pixels: tiles at the frame's edges take in the mirror bands
        tiles = [(x0 + (pad if x0 else 0), y0, x1 + (pad if x1 < width else 2 * pad), y1)
                 for x0, y0, x1, y1 in self.tiles(width, height)]
        crops = [wide[y0:y1, x0:x1] for x0, y0, x1, y1 in tiles]
        on_tiles = self.native or self.detector.detect_batch
        found = self.detector.detect_batch([wide]) + (on_tiles(crops) if crops else [])  # YOLO refuses an empty batch
        boxes, scores = [np.asarray(found[0].boxes, np.float32).reshape(-1, 4)], [np.asarray(found[0].scores, np.float32)]
        classes = [_classes(found[0])]
        for tile, part in zip(tiles, found[1:]):
            b = np.asarray(part.boxes, np.float32).reshape(-1, 4)
            keep = _inside(b, tile, width + 2 * pad, height, self.edge)
            boxes.append(b[keep] + np.array(tile[:2] * 2, np.float32))
            scores.append(np.asarray(part.scores, np.float32)[keep])
            classes.append(_classes(part)[keep])
        all_boxes, all_scores, all_classes = np.concatenate(boxes), np.concatenate(scores), np.concatenate(classes)
        if pad:  # back to the frame's pixels, cut at its edges; mirror images dropped
            span = all_boxes[:, 2] - all_boxes[:, 0]
            all_boxes[:, [0, 2]] = np.clip(all_boxes[:, [0, 2]] - pad, 0, width)
            real = all_boxes[:, 2] - all_boxes[:, 0] >= MIRRORED * np.maximum(span, 1e-6)
            all_boxes, all_scores, all_classes = all_boxes[real], all_scores[real], all_classes[real]
        # per class, so a person and the bag they carry are not merged into one box; after the
        # cut, so that a person's whole mirrored figure and its visible half merge
        kept = nms(all_boxes, all_scores, all_classes, self.iou)
        known = found[0].classes is not None
        return Detections(all_boxes[kept], all_scores[kept], None, all_classes[kept] if known else None)
