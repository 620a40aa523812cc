"""Turn detections into the removal mask of each frame."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import cv2
import numpy as np

from ..config import MaskConfig
from ..detect.boxes import boxes_to_mask
from ..frames import Frame


def dilate(mask: np.ndarray, pixels: int) -> np.ndarray:
    """Grow a ``HxW bool`` mask by ``pixels`` with a disc, so fills start outside soft edges."""
    if pixels <= 0 or not mask.any():
        return mask
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * pixels + 1, 2 * pixels + 1))
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)


class MaskBuilder:
    """Stage: ``frame.mask`` = union of ``frame.boxes`` and any mask already set, then dilated."""

    name = "mask"

    def __init__(self, config: MaskConfig, source: str = "detector boxes") -> None:
        self.config = config
        self.source = source

    @property
    def backend(self) -> str:
        return f"{self.source}, dilate {self.config.dilate}px"

    def __call__(self, frames: Iterable[Frame]) -> Iterator[Frame]:
        for frame in frames:
            h, w = frame.rgb.shape[:2]
            mask = boxes_to_mask(frame.boxes, w, h)
            if frame.mask is not None:
                mask |= frame.mask
            frame.mask = dilate(mask, self.config.dilate)
            yield frame
