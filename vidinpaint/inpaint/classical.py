"""Classical per-frame inpainting: OpenCV's diffusion methods and PatchMatch.

Telea (2004, "An image inpainting technique based on the fast marching method") and
Bertalmio et al. (2001, "Navier-Stokes, fluid dynamics, and image and video inpainting") both
look only at pixels within ``radius`` of the hole, so we run them on the hole's bounding box
plus a margin: identical result, a fraction of the cost on large frames. PatchMatch (Barnes et
al. 2009, via the optional ``pypatchmatch`` package) copies texture from around the hole instead
of diffusing colour, so it gets a wider margin (half the hole's size) to copy from.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import cv2
import numpy as np

from ..config import InpaintConfig
from ..frames import Frame

_FLAGS = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}
METHODS = (*_FLAGS, "patchmatch")
PATCHMATCH = "pip install 'vidinpaint[patchmatch]'"


def _patchmatch(crop: np.ndarray, hole: np.ndarray, _radius: int) -> np.ndarray:
    from patchmatch import patch_match

    patch_match.set_random_seed(0)  # the same input gives the same output
    return patch_match.inpaint(crop, hole, patch_size=3)


def _method(name: str):
    """``fill(crop, hole_uint8, radius) -> crop`` for a method name."""
    if name == "patchmatch":
        return _patchmatch
    return lambda crop, hole, radius: cv2.inpaint(crop, hole, radius, _FLAGS[name])


def _fill_crop(crop: np.ndarray, hole: np.ndarray, method: str, radius: int, max_hole_pixels: int) -> np.ndarray:
    """Inpaint one crop; holes above ``max_hole_pixels`` are filled at a reduced scale.

    Both methods cost about (hole pixels x radius^2) and produce smooth fills, so a large hole is
    filled at a reduced scale and upsampled: the fill has little detail to lose, and 720p/1080p
    stay usable on a CPU.
    """
    fill = _method(method)
    area = int(hole.sum())
    scale = min(1.0, (max_hole_pixels / area) ** 0.5) if max_hole_pixels > 0 else 1.0
    if scale >= 1.0:
        return fill(crop, hole.astype(np.uint8), radius)
    h, w = hole.shape
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    small_hole = cv2.resize(hole.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
    small_hole = cv2.dilate(small_hole, np.ones((3, 3), np.uint8))  # no hole pixel left as "known"
    filled = fill(small, small_hole, max(1, round(radius * scale)))
    return cv2.resize(filled, (w, h), interpolation=cv2.INTER_LINEAR)


def inpaint_frame(rgb: np.ndarray, mask: np.ndarray, method: str = "telea", radius: int = 5,
                  max_hole_pixels: int = 0) -> np.ndarray:
    """Fill ``mask`` (``HxW bool``, True = fill) in ``rgb`` (``HxWx3 uint8``).

    Args:
        max_hole_pixels: holes larger than this are filled at reduced resolution (0 = never).

    Pixels outside the mask are returned unchanged (bit-identical).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if mask.shape != rgb.shape[:2]:
        raise ValueError(f"mask shape {mask.shape} does not match frame {rgb.shape[:2]}")
    if not mask.any() or mask.all():
        return rgb  # nothing to fill, or nothing known to fill from
    ys, xs = np.nonzero(mask)
    pad = 2 * radius + 2
    if method == "patchmatch":
        pad = max(pad, 16, (max(np.ptp(ys), np.ptp(xs)) + 1) // 2)
    h, w = mask.shape
    y1, y2 = max(ys.min() - pad, 0), min(ys.max() + pad + 1, h)
    x1, x2 = max(xs.min() - pad, 0), min(xs.max() + pad + 1, w)
    hole = mask[y1:y2, x1:x2]
    filled = _fill_crop(np.ascontiguousarray(rgb[y1:y2, x1:x2]), hole, method, radius, max_hole_pixels)
    out = rgb.copy()
    out[y1:y2, x1:x2][hole] = filled[hole]
    return out


class ClassicalInpainter:
    """Stage: replaces ``frame.rgb`` with the frame inpainted inside ``frame.mask``."""

    name = "inpaint"

    def __init__(self, config: InpaintConfig, note: str = "") -> None:
        self.config, self.note = config, note
        self.method = config.backend if config.backend in METHODS else "telea"

    @property
    def backend(self) -> str:
        limit = self.config.max_hole_pixels
        scaled = f", holes over {limit} px filled at reduced scale" if limit else ""
        note = f" ({self.note})" if self.note else ""
        if self.method == "patchmatch":
            return f"PatchMatch (pypatchmatch, 3x3 patches) per frame{scaled}{note}"
        label = {"telea": "OpenCV Telea", "ns": "OpenCV Navier-Stokes"}[self.method]
        return f"{label} per frame, radius {self.config.radius}px{scaled}{note}"

    def inpaint(self, rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """``rgb`` filled inside ``mask``, as this stage fills a frame (the fill calls it too)."""
        return inpaint_frame(rgb, mask, self.method, self.config.radius, self.config.max_hole_pixels)

    def __call__(self, frames: Iterable[Frame]) -> Iterator[Frame]:
        for frame in frames:
            if frame.mask is not None:
                frame.rgb = self.inpaint(frame.rgb, frame.mask)
            yield frame
