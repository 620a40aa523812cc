"""Re-identify an object that comes back after a short occlusion, so it keeps its id.

Trackers drop a track they miss for a few frames (the IoU tracker after ``detect.max_gap``,
ByteTrack after its buffer), and the same person walking out from behind a pillar gets a new id:
`--tracks 3` would then remove them only until the pillar. Here a track that disappears is
remembered for ``window`` frames with its colour histogram (hue-saturation of the middle of its
box, where the person is rather than the background), its last box and velocity. A new id whose
box is where the remembered one should be by now (a gate that widens with the gap), of a similar
height, and whose histogram is close (Bhattacharyya distance) takes the old id. Pairs are taken
best first, so two newcomers never take the same id. Memory: one small histogram per track seen
in the last ``window`` frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

MAX_DISTANCE = 0.35  # Bhattacharyya distance between histograms that still counts as the same object
BINS = (16, 8)  # hue, saturation


def appearance(rgb: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Normalised hue-saturation histogram of the box's middle (inner 60% of its width, 10-90% of
    its height), which holds more of the object and less of the background than the whole box."""
    x0, y0, x1, y1 = (int(v) for v in box)
    w, h = x1 - x0, y1 - y0
    crop = rgb[y0 + h // 10:y1 - h // 10, x0 + w // 5:x1 - w // 5]
    if crop.size == 0:
        crop = rgb[y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)]
    hsv = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1], None, list(BINS), [0, 180, 0, 256]).astype(np.float32)
    return hist / max(float(hist.sum()), 1.0)


@dataclass
class _Known:
    hist: np.ndarray
    box: np.ndarray
    velocity: np.ndarray  # px per frame, of the box centre
    last: int  # frame index it was last seen on

    @property
    def centre(self) -> np.ndarray:
        return (self.box[:2] + self.box[2:]) / 2

    @property
    def height(self) -> float:
        return max(float(self.box[3] - self.box[1]), 1.0)


class Reidentifier:
    """Maps the tracker's ids to stable ids, giving a returning object its old id back."""

    def __init__(self, window: int) -> None:
        self.window = window
        self.known: dict[int, _Known] = {}  # stable id -> what it looked like, where it went
        self.alias: dict[int, int] = {}  # tracker id -> stable id

    def reset(self) -> None:
        """A new shot: nobody is re-identified across a boundary."""
        self.known.clear()
        self.alias.clear()

    def _cost(self, known: _Known, box: np.ndarray, hist: np.ndarray, index: int) -> float | None:
        """How unlike the remembered object a new box is, or None if it cannot be the same."""
        gap = index - known.last
        predicted = known.centre + known.velocity * gap
        centre = (box[:2] + box[2:]) / 2
        distance = float(np.linalg.norm(centre - predicted)) / known.height
        ratio = (box[3] - box[1]) / known.height
        if distance > min(0.5 + 0.1 * gap, 3.0) or not 0.67 <= ratio <= 1.5:
            return None
        colour = cv2.compareHist(known.hist, hist, cv2.HISTCMP_BHATTACHARYYA)
        return colour + 0.1 * distance if colour <= MAX_DISTANCE else None

    def update(self, rgb: np.ndarray, boxes: np.ndarray, ids: np.ndarray, index: int) -> np.ndarray:
        """Stable ids (``N int64``) for the tracker's ``ids`` of the ``Nx4`` ``boxes`` on frame ``index``."""
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        out = np.asarray(ids, np.int64).reshape(-1).copy()
        hists = [appearance(rgb, b) for b in boxes]
        new = [n for n, raw in enumerate(out.tolist()) if raw not in self.alias]
        present = {self.alias[raw] for raw in out.tolist() if raw in self.alias}
        lost = {i: k for i, k in self.known.items() if i not in present and 0 < index - k.last <= self.window}
        pairs = sorted((cost, n, i) for n in new for i, k in lost.items()
                       if (cost := self._cost(k, boxes[n], hists[n], index)) is not None)
        taken: set[int] = set()
        for _, n, i in pairs:
            if out[n] not in self.alias and i not in taken:
                self.alias[int(out[n])] = i
                taken.add(i)
        for n in new:
            self.alias.setdefault(int(out[n]), int(out[n]))
        out = np.array([self.alias[raw] for raw in out.tolist()], np.int64)
        for i, box, hist in zip(out.tolist(), boxes, hists):
            self._seen(i, box, hist, index)
        self.known = {i: k for i, k in self.known.items() if index - k.last <= self.window}
        return out

    def _seen(self, i: int, box: np.ndarray, hist: np.ndarray, index: int) -> None:
        known = self.known.get(i)
        if known is None:
            self.known[i] = _Known(hist, box, np.zeros(2), index)
            return
        step = ((box[:2] + box[2:]) / 2 - known.centre) / max(index - known.last, 1)
        known.velocity = step if index - known.last > 1 else 0.5 * known.velocity + 0.5 * step
        known.hist = 0.8 * known.hist + 0.2 * hist
        known.box, known.last = box, index
