"""Masks the user drew: one image for every frame, a folder of per-frame images, or a video.

White (> 127 in grey) = remove. Masks of another size than the video are resized (nearest).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError
from ..frames import Frame
from ..images import is_image
from ..video import VideoReader


def mask_files(folder: Path) -> list[Path]:
    """Image files of ``folder`` in natural order (``2.png`` before ``10.png``)."""
    def key(p: Path) -> list:
        return [int(t) if t.isdigit() else t for t in _split_digits(p.stem)]
    return sorted((p for p in folder.iterdir() if is_image(p)), key=key)


def _split_digits(text: str) -> list[str]:
    return ["".join(g) for _, g in itertools.groupby(text, str.isdigit)]


def read_mask(path: Path) -> np.ndarray:
    """``HxW bool`` mask from an image file (grey > 127 = remove)."""
    grey = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if grey is None:
        raise InputError(f"{path}: not a readable mask image")
    return grey > 127


def _fit(mask: np.ndarray, width: int, height: int) -> np.ndarray:
    if mask.shape == (height, width):
        return mask
    return cv2.resize(mask.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST).astype(bool)


class UserMasks:
    """Stage: sets ``frame.mask`` from user-supplied masks, bypassing detection.

    Args:
        path: an image (used for every frame), a folder of images (one per frame, natural
            order), or a video (frame ``i`` masks frame ``i``).
    """

    name = "detect"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise InputError(f"--mask {self.path}: no such file or folder")
        if self.path.is_dir():
            self.kind = "folder"
            self.files = mask_files(self.path)
            if not self.files:
                raise InputError(f"--mask {self.path}: folder holds no mask images")
        elif is_image(self.path):
            self.kind = "image"
            self.still = read_mask(self.path)
        else:
            self.kind = "video"

    @property
    def backend(self) -> str:
        return f"skipped: user masks from {self.kind} {self.path}"

    def _masks(self) -> Iterator[np.ndarray]:
        if self.kind == "image":
            return itertools.repeat(self.still)
        if self.kind == "folder":
            return (read_mask(p) for p in self.files)
        return ((f.rgb.max(axis=2) > 127) for f in VideoReader(self.path))

    def __call__(self, frames: Iterable[Frame]) -> Iterator[Frame]:
        masks = self._masks()
        for frame in frames:
            mask = next(masks, None)
            if mask is None:
                raise InputError(f"--mask {self.path}: has fewer masks than the video has frames "
                                 f"(ran out at frame {frame.index})")
            h, w = frame.rgb.shape[:2]
            frame.mask = _fit(mask, w, h)
            yield frame
