"""Tiled detection: far people are a few pixels tall once a large frame is shrunk to a
detector's input (a 30 px person in 768x576 is 16x8 px at NanoDet's 416 px), below what the
detector finds. Running it also on overlapping tiles of the input's size shows them at full
resolution. The whole frame still runs too, for people larger than a tile.

A box touching a tile's inner edge is a person cut by the tile and is dropped: the overlap
makes any person shorter than it whole in a neighbouring tile, and the whole-frame pass finds
the taller ones. What remains is merged by non-maximum suppression.

Mirrored edges: a person across the frame's left or right edge is half a person to a detector,
which often finds nothing. With ``mirror``, the picture the detector sees is extended by its
mirror image beyond both edges, where the half becomes a whole, if odd, figure, and the boxes
are cut back at the edges; a box mostly in a band is the mirror image of someone inside the
frame and is dropped. The whole frame is shrunk to the detector's input size first and then
mirrored (mirrored first, it would be shrunk more, and small people were lost); the tiles are
laid on the frame itself, those at its edges widened over the bands, so the bands add no tiles.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np

from ..images import fit_side
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
    """Wraps any :class:`Detector`: whole frame plus tiles, merged. With ``mirror``, for a
    detector that takes any size (``detect_native_batch``), each picture is extended by its
    mirror image beyond the frame's left and right edges: the whole frame by ``mirror`` of its
    picture's width, edge tiles by ``mirror`` of the frame's width, in whole ``stride`` px
    (at least one), so edge tiles are that much wider than ``native_side``. Ids are dropped (a
    tracker running on whole frames cannot follow boxes from tiles), so the stage's IoU
    tracker gives them.

    A detector with ``detect_native_batch`` (one that takes images of any size at their own
    resolution) gets tiles of up to ``native_side`` px, as few as cover the frame (one for a
    768x576 frame); any other gets tiles of its input ``size``."""

    def __init__(self, detector: Detector, size: int, mode: str = "auto", overlap: int = 64, iou: float = 0.5,
                 edge: float = 2.0, native_side: int = 0, mirror: float = 0.0, stride: int = 32) -> None:
        if mode not in MODES:
            raise ValueError(f"tiles must be one of {', '.join(MODES)}, got {mode!r}")
        if 0 < native_side <= overlap:
            raise ValueError(f"detect.tile_side ({native_side}) must be larger than detect.tile_overlap ({overlap})")
        self.detector, self.size, self.mode, self.overlap, self.iou, self.edge = detector, size, mode, overlap, iou, edge
        # mirrored only for a detector that takes any size: the bands must not be shrunk away
        self.mirror = mirror if hasattr(detector, "detect_native_batch") else 0.0
        self.native_side, self.stride = native_side, stride

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
            tiles = (f", edge tiles by {self.mirror:g} of the width in {self.stride}px steps"
                     if self.mode != "off" and self.native else "")
            line += (f", frames mirrored beyond the left and right edges (the whole frame by {self._band(self.size)}px "
                     f"of its {self.size}px picture{tiles})")
        return line

    def tiles(self, width: int, height: int) -> list[tuple[int, int, int, int]]:
        """The tiles a ``width`` x ``height`` frame is split into (none when tiling is off for it)."""
        if self.mode == "off" or (self.mode == "auto" and max(width, height) < AUTO_RATIO * self.size):
            return []
        if self.native:
            return fitted_grid(width, height, self.native_side, self.overlap)
        return tile_grid(width, height, self.size, self.overlap)

    def detect_batch(self, images: list[np.ndarray], tiles: bool = True) -> list[Detections]:
        """Detections in each image; ``tiles`` False: the whole frame alone (as ``mode`` off)."""
        if (self.mode == "off" or not tiles) and not self.mirror:
            return self.detector.detect_batch(images)
        return [self._detect(rgb, tiles) for rgb in images]

    def _band(self, side: int) -> int:
        """Px mirrored beyond each side of a picture ``side`` px wide: ``mirror`` of it, in whole
        strides of the detector (at least one). Shifted by other amounts, the picture meets the
        detector's stride grid elsewhere, and NanoDet's scores of the people it is least sure of
        moved enough to lose some of them inside the frame (docs/ARCHITECTURE.md)."""
        return self.stride * max(1, round(self.mirror * side / self.stride))

    def _detect(self, rgb: np.ndarray, tiles: bool = True) -> Detections:
        height, width = rgb.shape[:2]
        grid = self.tiles(width, height) if tiles else []
        pad = self._band(width) if self.mirror and self.native else 0
        wide = _mirrored(rgb, pad)
        # in the extended frame's pixels: tiles at the frame's edges take in the mirror bands
        tiles = [(x0 + (pad if x0 else 0), y0, x1 + (pad if x1 < width else 2 * pad), y1) for x0, y0, x1, y1 in grid]
        crops = [wide[y0:y1, x0:x1] for x0, y0, x1, y1 in tiles]
        if self.mirror:  # the whole frame at the detector's input size, then mirrored: not shrunk by the bands
            small = fit_side(rgb, self.size)
            band = self._band(small.shape[1])
            first = self.detector.detect_native_batch([_mirrored(small, band)])[0]
            boxes, keep = _cut_back(first.boxes, band, small.shape[1], np.ones(len(first.scores), bool))
            boxes *= np.array([width / small.shape[1], height / small.shape[0]] * 2, np.float32)
        else:
            first = self.detector.detect_batch([rgb])[0]
            boxes, keep = _cut_back(first.boxes, 0, width, np.ones(len(first.scores), bool))
        on_tiles = self.native or self.detector.detect_batch
        found = [first] + (on_tiles(crops) if crops else [])  # YOLO refuses an empty batch
        parts = [(boxes, keep)]
        for tile, part in zip(tiles, found[1:]):
            b = np.asarray(part.boxes, np.float32).reshape(-1, 4)
            parts.append(_cut_back(b + np.array(tile[:2] * 2, np.float32), pad, width,
                                   _inside(b, tile, width + 2 * pad, height, self.edge)))
        kept = np.concatenate([k for _, k in parts])
        all_boxes = np.concatenate([b for b, _ in parts])[kept]
        all_scores = np.concatenate([np.asarray(f.scores, np.float32) for f in found])[kept]
        all_classes = np.concatenate([_classes(f) for f in found])[kept]
        # per class, so a person and the bag they carry are not merged into one box; after the
        # cut, so that a person's whole mirrored figure and its visible half merge
        kept = nms(all_boxes, all_scores, all_classes, self.iou)
        known = first.classes is not None
        return Detections(all_boxes[kept], all_scores[kept], None, all_classes[kept] if known else None)


def _mirrored(rgb: np.ndarray, pad: int) -> np.ndarray:
    """``rgb`` extended by its mirror image ``pad`` px beyond its left and right edges."""
    return cv2.copyMakeBorder(rgb, 0, 0, pad, pad, cv2.BORDER_REFLECT_101) if pad else rgb


def _cut_back(boxes: np.ndarray, pad: int, width: int, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``boxes`` of an image extended by ``pad`` px each side, in the ``width`` px image's pixels
    (cut at its edges), and ``keep`` without the mirror images: boxes with less than ``MIRRORED``
    of their width inside it."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4).copy()
    if not pad:
        return boxes, keep
    span = boxes[:, 2] - boxes[:, 0]
    boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]] - pad, 0, width)
    return boxes, keep & (boxes[:, 2] - boxes[:, 0] >= MIRRORED * np.maximum(span, 1e-6))
