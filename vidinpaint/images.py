"""Still images: read, write atomically, recognise by extension, resize to a side."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from .atomic import atomic_path
from .errors import InputError, OutputError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def is_image(path: Path) -> bool:
    """True for files whose extension is a still-image format."""
    return path.suffix.lower() in IMAGE_EXTENSIONS


def read_image(path: Path) -> np.ndarray:
    """``HxWx3 uint8`` RGB, EXIF orientation applied (as viewers show it)."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise InputError(f"{path}: not a readable image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def write_image(path: Path, rgb: np.ndarray, replace: bool = True) -> None:
    """Write ``HxWx3 uint8`` RGB to ``path`` atomically (JPEG quality 95); ``replace`` False keeps
    a file that appeared at ``path`` meanwhile (see :func:`vidinpaint.atomic.publish`)."""
    if not is_image(path):  # OpenCV raises for an extension it does not know
        raise OutputError(f"cannot write image {path}: unsupported format {path.suffix!r}")
    with atomic_path(path, replace, sweep=False) as tmp:
        params = [cv2.IMWRITE_JPEG_QUALITY, 95] if path.suffix.lower() in (".jpg", ".jpeg") else []
        if not cv2.imwrite(str(tmp), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params):
            raise OutputError(f"cannot write image {path}: unsupported format {path.suffix!r}")


def fit_side(rgb: np.ndarray, side: int) -> np.ndarray:
    """``rgb`` resized so that its longer side is ``side`` px, keeping its shape (averaging
    areas when it shrinks)."""
    h, w = rgb.shape[:2]
    scale = side / max(h, w)
    return cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))),
                      interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
