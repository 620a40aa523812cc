"""The segmentation stage: refine boxes into tight masks on keyframes, move them in between.

Segmenting every frame is what costs (SAM's image embedding most of all), so ``every`` > 1
segments only keyframes, plus any frame where a new track id appears; in between, each object's
keyframe mask follows its box (shifted and scaled with it). The temporal stage (issue #5) can
replace that motion model with optical flow behind the same interface.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

import cv2
import numpy as np

from ..frames import Frame


class Segmenter(Protocol):
    backend: str

    def segment(self, rgb: np.ndarray, boxes: np.ndarray) -> list[np.ndarray]: ...


def move_mask(mask: np.ndarray, old_box: np.ndarray, new_box: np.ndarray) -> np.ndarray:
    """Map ``mask`` (``HxW bool``) by the scale + shift that takes ``old_box`` onto ``new_box``."""
    ox1, oy1, ox2, oy2 = (float(v) for v in old_box)
    nx1, ny1, nx2, ny2 = (float(v) for v in new_box)
    sx = (nx2 - nx1) / max(ox2 - ox1, 1.0)
    sy = (ny2 - ny1) / max(oy2 - oy1, 1.0)
    # Boxes are pixel edges, warpAffine works on pixel centres: shift by half a pixel each way.
    tx, ty = nx1 - sx * ox1 + 0.5 * (sx - 1), ny1 - sy * oy1 + 0.5 * (sy - 1)
    matrix = np.array([[sx, 0, tx], [0, sy, ty]], np.float32)
    h, w = mask.shape
    return cv2.warpAffine(mask.astype(np.uint8), matrix, (w, h), flags=cv2.INTER_NEAREST) > 0


class SegmentStage:
    """Stage: sets ``frame.object_masks`` (one ``HxW bool`` per box) from ``segmenter``."""

    name = "segment"

    def __init__(self, segmenter: Segmenter, every: int = 1, note: str = "") -> None:
        self.segmenter, self.every, self.note = segmenter, every, note

    @property
    def backend(self) -> str:
        when = "every frame" if self.every == 1 else f"every {self.every}th frame + new tracks, boxes move masks between"
        return f"{self.segmenter.backend}, {when}" + (f" [{self.note}]" if self.note else "")

    def __call__(self, frames: Iterable[Frame]) -> Iterator[Frame]:
        keyed: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # id -> (box, mask) at its keyframe
        for frame in frames:
            ids = frame.ids.tolist()
            if frame.index % self.every == 0 or any(i not in keyed for i in ids) or len(ids) != len(frame.boxes):
                frame.object_masks = self.segmenter.segment(frame.rgb, frame.boxes)
                keyed = {i: (b, m) for i, b, m in zip(ids, frame.boxes, frame.object_masks)}
            else:
                frame.object_masks = [move_mask(keyed[i][1], keyed[i][0], b) for i, b in zip(ids, frame.boxes)]
            yield frame
