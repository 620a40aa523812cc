"""Contact sheet: original, mask and result side by side for a few frames, as one PNG."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np

from .config import PreviewConfig
from .frames import Frame
from .images import write_image

HEADERS = ("original", "mask", "result")


def pick_indices(total: int | None, count: int) -> list[int]:
    """``count`` frame indices spread over ``total`` frames (the first ones if unknown)."""
    if not total:
        return list(range(0, count * 25, 25))
    if total <= count:
        return list(range(total))
    return sorted({round(i * (total - 1) / (count - 1)) for i in range(count)}) if count > 1 else [0]


def overlay(rgb: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """The frame with the mask tinted red and outlined, to see what will be removed."""
    if mask is None or not mask.any():
        return rgb
    out = rgb.copy()
    out[mask] = (0.45 * out[mask] + 0.55 * np.array([255, 0, 0])).astype(np.uint8)
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(out, contours, -1, (255, 255, 0), max(1, rgb.shape[1] // 400))
    return out


def label(img: np.ndarray, text: str, org: tuple[int, int]) -> None:
    """Black text on a white outline, readable on any background (drawn in place)."""
    for colour, thick in (((255, 255, 255), 3), ((0, 0, 0), 1)):
        cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, thick, cv2.LINE_AA)


class ContactSheet:
    """Collects thumbnails at chosen frames through two taps around the inpainting stage.

    ``before`` sees frames with their mask and original pixels, ``after`` the result; only
    the thumbnails of ``indices`` are kept, so memory stays small.
    """

    def __init__(self, config: PreviewConfig, total_frames: int | None) -> None:
        self.config = config
        self.indices = set(pick_indices(total_frames, config.frames))
        self.rows: dict[int, list[np.ndarray]] = {}

    def _thumb(self, rgb: np.ndarray) -> np.ndarray:
        h, w = rgb.shape[:2]
        width = self.config.width
        return cv2.resize(rgb, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)

    def before(self, frames: Iterable[Frame]) -> Iterator[Frame]:
        for frame in frames:
            if frame.index in self.indices:
                self.rows[frame.index] = [self._thumb(frame.rgb), self._thumb(overlay(frame.rgb, frame.mask))]
            yield frame

    def after(self, frames: Iterable[Frame]) -> Iterator[Frame]:
        for frame in frames:
            if frame.index in self.rows:
                self.rows[frame.index].append(self._thumb(frame.rgb))
            yield frame

    def render(self) -> np.ndarray:
        """``HxWx3 uint8`` sheet: a header row, then one row per kept frame."""
        width = self.config.width
        header = np.full((28, 3 * width, 3), 255, np.uint8)
        for i, text in enumerate(HEADERS):
            label(header, text, (i * width + 8, 20))
        rows = [header]
        for index, cells in sorted(self.rows.items()):
            if len(cells) == 3:
                rows.append(np.concatenate(cells, axis=1))
                label(rows[-1], f"#{index}", (6, 18))
        return np.concatenate(rows, axis=0)

    def save(self, path: Path, replace: bool = True) -> Path:
        write_image(path, self.render(), replace)
        return path
