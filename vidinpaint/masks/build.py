"""Turn detections into the removal mask of each frame."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import cv2
import numpy as np

from ..config import MaskConfig
from ..detect.boxes import boxes_to_mask, expand_boxes
from ..frames import Frame
from .shadow import cast_shadow


def dilate(mask: np.ndarray, pixels: int) -> np.ndarray:
    """Grow a ``HxW bool`` mask by ``pixels`` with a disc, so fills start outside soft edges."""
    if pixels <= 0 or not mask.any():
        return mask
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * pixels + 1, 2 * pixels + 1))
    # bool <-> uint8 as views: 0 and 1 either way, no copies of the frame
    return cv2.dilate(np.ascontiguousarray(mask).view(np.uint8), kernel).view(bool)


class MaskBuilder:
    """Stage: ``frame.mask`` = union of the object masks (or the boxes + margin when no segmenter
    ran) and any mask already set, with attached cast shadows added and then dilated."""

    name = "mask"

    def __init__(self, config: MaskConfig, margin: int = 0, source: str = "object masks") -> None:
        self.config, self.margin, self.source = config, margin, source

    @property
    def backend(self) -> str:
        shadow = f", cast shadows up to {self.config.shadow:g} x height" if self.config.shadow else ""
        return f"{self.source}, dilate {self.config.dilate}px{shadow}"

    def __call__(self, frames: Iterable[Frame]) -> Iterator[Frame]:
        for frame in frames:
            h, w = frame.rgb.shape[:2]
            if frame.object_masks is not None:
                objects = frame.object_masks
            else:
                objects = [boxes_to_mask(b[None], w, h) for b in expand_boxes(frame.boxes, self.margin, w, h)]
            mask = np.zeros((h, w), bool) if frame.mask is None else frame.mask.copy()
            taken = np.logical_or.reduce(objects) if len(objects) else None
            if taken is not None:
                mask |= taken
            if self.config.shadow:
                for box, obj in zip(frame.boxes, objects):
                    cast_shadow(frame.rgb, obj, box, self.config.shadow, taken, out=mask)
            frame.mask = dilate(mask, self.config.dilate)
            frame.object_masks = None  # merged; N full-frame masks per frame in every window after this add up
            yield frame
