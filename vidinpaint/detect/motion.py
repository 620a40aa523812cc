"""Offline detector for static cameras: what differs from a clean plate of the scene.

The clean plate is the per-pixel temporal median of frames sampled every ``stride`` frames in a
window of ``window`` frames before and after the current one (people who walk are in few of the
samples, so the median shows the street behind them). Pixels that differ from it by more than
``threshold`` are foreground; blobs become boxes. No weights, any machine, and honest about its
limits: it finds what moves in front of a fixed camera, not people as such (issue #4 brings
neural detectors). A person standing still for longer than the window becomes background.

Memory: ``window`` frames of look-ahead plus ``2 * window / stride`` downscaled samples,
whatever the clip length.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator

import cv2
import numpy as np

from ..config import DetectConfig
from ..errors import InputError
from ..frames import Frame
from .stage import Detections, Tracking


def clean_plate(samples: list[np.ndarray]) -> np.ndarray:
    """Per-pixel temporal median of ``HxWx3 uint8`` images: the background behind movers."""
    return np.median(np.stack(samples), axis=0).astype(np.uint8)


def foreground(image: np.ndarray, plate: np.ndarray, threshold: float) -> np.ndarray:
    """``HxW bool``: pixels whose largest channel difference from ``plate`` exceeds ``threshold``."""
    diff = cv2.absdiff(cv2.GaussianBlur(image, (5, 5), 0), cv2.GaussianBlur(plate, (5, 5), 0))
    return diff.max(axis=2) > threshold


class MotionDetector:
    """Stage: sets ``frame.boxes`` (``Nx4 int32`` XYXY) and ``frame.ids`` on every frame."""

    name = "detect"

    def __init__(self, config: DetectConfig, note: str = "") -> None:
        self.config, self.note = config, note
        self.tracking = Tracking(config.max_gap, config.reid)

    @property
    def backend(self) -> str:
        c = self.config
        return (f"motion (difference from a temporal-median clean plate, static camera only; "
                f"window +/-{c.window} frames)") + (f" [{self.note}]" if self.note else "")

    def _small(self, rgb: np.ndarray) -> tuple[np.ndarray, float]:
        h, w = rgb.shape[:2]
        scale = min(1.0, self.config.max_side / max(h, w))
        if scale < 1.0:
            rgb = cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        return rgb, scale

    def boxes_from_foreground(self, fg: np.ndarray, scale: float) -> np.ndarray:
        """Boxes (full-resolution XYXY floats) around the blobs of a ``HxW bool`` mask computed
        at ``scale`` times the frame size."""
        binary = cv2.medianBlur(fg.astype(np.uint8), 5)
        side = max(3, int(round(0.015 * max(binary.shape))) | 1)  # join limbs and head to the body
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))
        binary = cv2.morphologyEx(binary, cv2.MORPH_CLOSE, kernel)
        count, _, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
        min_area = self.config.min_area * binary.shape[0] * binary.shape[1]
        keep = [i for i in range(1, count) if stats[i, cv2.CC_STAT_AREA] >= min_area]
        if not keep:
            return np.zeros((0, 4))
        s = stats[keep]
        return np.stack([s[:, 0], s[:, 1], s[:, 0] + s[:, 2], s[:, 1] + s[:, 3]], axis=1) / scale

    def __call__(self, frames: Iterable[Frame]) -> Iterator[Frame]:
        c = self.config
        source = iter(frames)
        ahead: deque[tuple[Frame, np.ndarray, float]] = deque()
        samples: deque[tuple[int, np.ndarray]] = deque()

        def pull() -> None:
            frame = next(source, None)
            if frame is not None:
                small, scale = self._small(frame.rgb)
                ahead.append((frame, small, scale))
                if frame.index % c.stride == 0:
                    samples.append((frame.index, small))

        for _ in range(c.window + 1):
            pull()
        if len(ahead) == 1:
            raise InputError("the motion detector needs a video (it finds what moves); "
                             "for a still image pass --mask")
        plate, plate_at = None, 0
        while ahead:
            frame, small, scale = ahead.popleft()
            while samples and samples[0][0] < frame.index - c.window:
                samples.popleft()
            if plate is None or frame.index - plate_at >= c.stride:
                plate, plate_at = clean_plate([s for _, s in samples] or [small]), frame.index
            boxes = self.boxes_from_foreground(foreground(small, plate, c.threshold), scale)
            self.tracking.apply(frame, Detections(boxes, np.ones(len(boxes))))
            yield frame
            pull()
