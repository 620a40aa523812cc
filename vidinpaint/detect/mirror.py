"""People across the frame's left or right edge: a detector sees half a person and most often
finds nothing (on the mask benchmark's scenes NanoDet's boxes held 0.78 of such people's pixels,
against 0.96 inside the frame). Mirrored beyond the edge, the half becomes a whole, if odd,
figure, which the detector finds; the box is then cut back at the edge. A mirror image of
someone wholly inside the frame lies wholly outside it and is dropped.
"""

from __future__ import annotations

import cv2
import numpy as np

from .stage import Detections, Detector

NARROWEST = 2.0  # px: a box cut back to less than this at the edge was a mirror image, not a person


def cut_back(found: Detections, pad: int, width: int) -> Detections:
    """``found`` on a frame extended by ``pad`` px each side, in the ``width`` px frame's
    coordinates: boxes cut at its edges, those left narrower than ``NARROWEST`` dropped."""
    boxes = np.asarray(found.boxes, np.float32).reshape(-1, 4).copy()
    boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]] - pad, 0, width)
    keep = boxes[:, 2] - boxes[:, 0] >= NARROWEST

    def kept(values: np.ndarray | None) -> np.ndarray | None:
        return None if values is None else np.asarray(values)[keep]

    return Detections(boxes[keep], np.asarray(found.scores)[keep], kept(found.ids), kept(found.classes))


class MirroredEdges:
    """Wraps any :class:`Detector`: each frame is extended by its mirror image, ``share`` of its
    width, beyond its left and right edges, before the wrapped detector sees it."""

    def __init__(self, detector: Detector, share: float) -> None:
        self.detector, self.share = detector, share

    @property
    def backend(self) -> str:
        return f"{self.detector.backend}, frames mirrored {self.share:g} of their width beyond the left and right edges"

    def detect_batch(self, images: list[np.ndarray]) -> list[Detections]:
        pads = [int(round(self.share * rgb.shape[1])) for rgb in images]
        wide = [cv2.copyMakeBorder(rgb, 0, 0, pad, pad, cv2.BORDER_REFLECT_101) for rgb, pad in zip(images, pads)]
        return [cut_back(found, pad, rgb.shape[1])
                for found, pad, rgb in zip(self.detector.detect_batch(wide), pads, images)]
