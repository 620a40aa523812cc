"""Tiled detection: far people are a few pixels tall once a large frame is shrunk to a
detector's input (a 30 px person in 768x576 is 22x8 px at NanoDet's 416x416), below what the
detector finds. Running it also on overlapping tiles of the input's size shows them at full
resolution. The whole frame still runs too, for people larger than a tile.

A box touching a tile's inner edge is a person cut by the tile and is dropped: the overlap
makes any person shorter than it whole in a neighbouring tile, and the whole-frame pass finds
the taller ones. What remains is merged by non-maximum suppression.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .boxes import nms
from .stage import Detections, Detector

MODES = ("off", "auto", "on")
AUTO_RATIO = 1.5  # auto: tiles once the frame's longer side is this many input sizes


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
    """Wraps any :class:`Detector`: whole frame plus tiles, merged. Ids are dropped (a tracker
    running on whole frames cannot follow boxes from tiles), so the stage's IoU tracker gives them.

    A detector with ``detect_native_batch`` (one that takes images of any size at their own
    resolution) gets tiles of up to ``native_side`` px, as few as cover the frame (one for a
    768x576 frame); any other gets tiles of its input ``size``."""

    def __init__(self, detector: Detector, size: int, mode: str = "auto", overlap: int = 64, iou: float = 0.5,
                 edge: float = 2.0, native_side: int = 0) -> None:
        if mode not in MODES:
            raise ValueError(f"tiles must be one of {', '.join(MODES)}, got {mode!r}")
        if 0 < native_side <= overlap:
            raise ValueError(f"detect.tile_side ({native_side}) must be larger than detect.tile_overlap ({overlap})")
        self.detector, self.size, self.mode, self.overlap, self.iou, self.edge = detector, size, mode, overlap, iou, edge
        self.native_side = native_side

    @property
    def native(self) -> Callable[[list[np.ndarray]], list[Detections]] | None:
        """The wrapped detector's ``detect_native_batch`` when tiles run at native resolution."""
        return getattr(self.detector, "detect_native_batch", None) if self.native_side else None

    @property
    def backend(self) -> str:
        if self.mode == "off":
            return self.detector.backend
        when = "always" if self.mode == "on" else f"frames over {AUTO_RATIO:g}x {self.size}px"
        tiles = f"native-resolution tiles up to {self.native_side}px" if self.native else f"{self.size}px tiles"
        return f"{self.detector.backend} + {tiles} ({when}, overlap {self.overlap}px)"

    def tiles(self, width: int, height: int) -> list[tuple[int, int, int, int]]:
        """The tiles a ``width`` x ``height`` frame is split into (none when tiling is off for it)."""
        if self.mode == "off" or (self.mode == "auto" and max(width, height) < AUTO_RATIO * self.size):
            return []
        if self.native:
            return fitted_grid(width, height, self.native_side, self.overlap)
        return tile_grid(width, height, self.size, self.overlap)

    def detect_batch(self, images: list[np.ndarray]) -> list[Detections]:
        if self.mode == "off":
            return self.detector.detect_batch(images)
        return [self._detect(rgb) for rgb in images]

    def _detect(self, rgb: np.ndarray) -> Detections:
        height, width = rgb.shape[:2]
        tiles = self.tiles(width, height)
        crops = [rgb[y0:y1, x0:x1] for x0, y0, x1, y1 in tiles]
        on_tiles = self.native or self.detector.detect_batch
        found = self.detector.detect_batch([rgb]) + (on_tiles(crops) if crops else [])  # YOLO refuses an empty batch
        boxes, scores = [np.asarray(found[0].boxes, np.float32).reshape(-1, 4)], [np.asarray(found[0].scores, np.float32)]
        classes = [_classes(found[0])]
        for tile, part in zip(tiles, found[1:]):
            b = np.asarray(part.boxes, np.float32).reshape(-1, 4)
            keep = _inside(b, tile, width, height, self.edge)
            boxes.append(b[keep] + np.array(tile[:2] * 2, np.float32))
            scores.append(np.asarray(part.scores, np.float32)[keep])
            classes.append(_classes(part)[keep])
        all_boxes, all_scores, all_classes = np.concatenate(boxes), np.concatenate(scores), np.concatenate(classes)
        # per class, so a person and the bag they carry are not merged into one box
        kept = nms(all_boxes, all_scores, all_classes, self.iou)
        known = found[0].classes is not None
        return Detections(all_boxes[kept], all_scores[kept], None, all_classes[kept] if known else None)
