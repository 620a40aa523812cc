"""Give an excerpt's detections the track ids the whole clip gave them.

The review page previews one frame by running the pipeline on a few frames around it; the
tracker starts afresh there, so its ids are not those of `vidinpaint tracks` that the selection
names. This stage, placed right after detection, renames each excerpt track to the whole-clip
track whose box on the same frame overlaps it most; the selection then works unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import numpy as np

from .detect.track import box_iou
from .frames import Frame
from .prompts import PROMPT_BASE

BoxesByFrame = Mapping[int, Mapping[int, tuple[int, int, int, int]]]  # frame -> track id -> box


class Relabel:
    """Stage: excerpt track ids -> whole-clip track ids, matched by box IoU on each frame.

    An excerpt track keeps the id of its first match; until it matches (or if it never does: the
    whole-clip run missed it) it has an id above every whole-clip id, never mistaken for another.
    ``left``: the boxes the whole-clip run left alone as still objects (``detect.still``), frame by
    frame. The excerpt is too short to judge that, so a box that overlaps one of them more than any
    whole-clip track's is dropped here, as the run drops it.
    """

    name = "relabel"

    def __init__(self, boxes: BoxesByFrame, min_iou: float = 0.3, left: BoxesByFrame | None = None) -> None:
        self.boxes, self.left = boxes, left or {}
        self.min_iou = min_iou
        self.fresh = 1 + max((i for frame in boxes.values() for i in frame), default=0)
        self.mapping: dict[int, int] = {}

    @property
    def backend(self) -> str:
        return f"excerpt ids -> the whole clip's track ids (box IoU >= {self.min_iou})"

    def __call__(self, frames: Iterable[Frame]) -> Iterator[Frame]:
        for frame in frames:
            keep = np.array([i >= PROMPT_BASE or not self._left_alone(frame.index, box)  # given by hand: kept
                             for i, box in zip(frame.ids.tolist(), frame.boxes)], bool)
            frame.boxes, frame.ids = frame.boxes[keep].reshape(-1, 4), frame.ids[keep]
            frame.ids = np.array([self._id(frame, int(i), box) for i, box in zip(frame.ids, frame.boxes)],
                                 np.int64)
            yield frame

    def _overlap(self, known: Mapping[int, tuple[int, int, int, int]], box: np.ndarray) -> float:
        return float(box_iou(box, np.array(list(known.values()))).max()) if known else 0.0

    def _left_alone(self, index: int, box: np.ndarray) -> bool:
        left = self._overlap(self.left.get(index, {}), box)
        return left >= self.min_iou and left > self._overlap(self.boxes.get(index, {}), box)

    def _id(self, frame: Frame, local: int, box: np.ndarray) -> int:
        if local >= PROMPT_BASE:  # an object given by hand: its id is the same in every run
            return local
        if local not in self.mapping:
            known = self.boxes.get(frame.index, {})
            ids = [i for i in known if i not in self.mapping.values()]
            if ids:
                overlap = box_iou(box, np.array([known[i] for i in ids]))[0]
                if overlap.max() >= self.min_iou:
                    self.mapping[local] = ids[int(overlap.argmax())]
        return self.mapping.get(local, self.fresh + local)  # unmatched yet: tried again on the next frame
