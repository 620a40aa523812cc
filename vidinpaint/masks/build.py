"""Turn detections into the removal mask of each frame."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import cv2
import numpy as np

from ..config import MaskConfig
from ..detect.boxes import boxes_to_mask, expand_boxes
from ..frames import Frame


def dilate(mask: np.ndarray, pixels: int) -> np.ndarray:
    """Grow a ``HxW bool`` mask by ``pixels`` with a disc, so fills start outside soft edges."""
    if pixels <= 0 or not mask.any():
        return mask
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * pixels + 1, 2 * pixels + 1))
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)


def extend_shadow(mask: np.ndarray, box: np.ndarray, fraction: float) -> np.ndarray:
    """Add a flat half-ellipse under the feet (bottom of ``box``), ``fraction`` x box height deep,
    for the cast shadow that segmenters leave out."""
    if fraction <= 0:
        return mask
    x1, y1, x2, y2 = (int(v) for v in box)
    depth = max(1, int(round(fraction * (y2 - y1))))
    out = mask.astype(np.uint8)
    cv2.ellipse(out, ((x1 + x2) // 2, y2), (max(1, (x2 - x1) // 2 + depth // 2), depth), 0, 0, 180, 1, -1)
    return out.astype(bool)


class MaskBuilder:
    """Stage: ``frame.mask`` = union of the object masks (or the boxes + margin when no segmenter
    ran) and any mask already set, with shadows extended and then dilated."""

    name = "mask"

    def __init__(self, config: MaskConfig, margin: int = 0, source: str = "object masks") -> None:
        self.config, self.margin, self.source = config, margin, source

    @property
    def backend(self) -> str:
        shadow = f", shadow {self.config.shadow:.2f} x height" if self.config.shadow else ""
        return f"{self.source}, dilate {self.config.dilate}px{shadow}"

    def __call__(self, frames: Iterable[Frame]) -> Iterator[Frame]:
        for frame in frames:
            h, w = frame.rgb.shape[:2]
            if frame.object_masks is not None:
                objects = frame.object_masks
            else:
                objects = [boxes_to_mask(b[None], w, h) for b in expand_boxes(frame.boxes, self.margin, w, h)]
            mask = np.zeros((h, w), bool) if frame.mask is None else frame.mask.copy()
            for box, obj in zip(frame.boxes, objects):
                mask |= extend_shadow(obj, box, self.config.shadow)
            frame.mask = dilate(mask, self.config.dilate)
            frame.object_masks = None  # merged; N full-frame masks per frame in every window after this add up
            yield frame
