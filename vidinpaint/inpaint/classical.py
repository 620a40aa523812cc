"""Classical per-frame inpainting with OpenCV.

Telea (2004, "An image inpainting technique based on the fast marching method") and
Bertalmio et al. (2001, "Navier-Stokes, fluid dynamics, and image and video inpainting") both
look only at pixels within ``radius`` of the hole, so we run them on the hole's bounding box
plus a margin: identical result, a fraction of the cost on large frames.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import cv2
import numpy as np

from ..config import InpaintConfig
from ..frames import Frame

_FLAGS = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}


def inpaint_frame(rgb: np.ndarray, mask: np.ndarray, method: str = "telea", radius: int = 5) -> np.ndarray:
    """Fill ``mask`` (``HxW bool``, True = fill) in ``rgb`` (``HxWx3 uint8``).

    Pixels outside the mask are returned unchanged (bit-identical).
    """
    if method not in _FLAGS:
        raise ValueError(f"method must be one of {sorted(_FLAGS)}, got {method!r}")
    if mask.shape != rgb.shape[:2]:
        raise ValueError(f"mask shape {mask.shape} does not match frame {rgb.shape[:2]}")
    if not mask.any():
        return rgb
    if mask.all():
        return rgb  # nothing known to fill from
    ys, xs = np.nonzero(mask)
    pad = 2 * radius + 2
    h, w = mask.shape
    y1, y2 = max(ys.min() - pad, 0), min(ys.max() + pad + 1, h)
    x1, x2 = max(xs.min() - pad, 0), min(xs.max() + pad + 1, w)
    crop_mask = mask[y1:y2, x1:x2]
    filled = cv2.inpaint(np.ascontiguousarray(rgb[y1:y2, x1:x2]), crop_mask.astype(np.uint8),
                         radius, _FLAGS[method])
    out = rgb.copy()
    region = out[y1:y2, x1:x2]
    region[crop_mask] = filled[crop_mask]
    return out


class ClassicalInpainter:
    """Stage: replaces ``frame.rgb`` with the frame inpainted inside ``frame.mask``."""

    name = "inpaint"

    def __init__(self, config: InpaintConfig) -> None:
        self.config = config

    @property
    def backend(self) -> str:
        label = {"telea": "OpenCV Telea", "ns": "OpenCV Navier-Stokes"}[self.config.backend]
        return f"{label} per frame, radius {self.config.radius}px"

    def __call__(self, frames: Iterable[Frame]) -> Iterator[Frame]:
        for frame in frames:
            if frame.mask is not None:
                frame.rgb = inpaint_frame(frame.rgb, frame.mask, self.config.backend, self.config.radius)
            yield frame
