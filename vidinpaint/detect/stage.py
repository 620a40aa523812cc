"""The detection stage: a per-frame detector, batched, plus track ids and gap bridging."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import NamedTuple, Protocol

import numpy as np

from ..frames import Frame
from .boxes import expand_boxes
from .reid import Reidentifier
from .track import GapBridge, IouTracker


class Detections(NamedTuple):
    """One frame's detections: ``Nx4`` XYXY boxes (frame pixels), ``N`` scores, ``N`` ids or None,
    ``N`` COCO class ids or None (detectors of one kind of thing: the motion detector)."""

    boxes: np.ndarray
    scores: np.ndarray
    ids: np.ndarray | None = None
    classes: np.ndarray | None = None


class Detector(Protocol):
    """A neural detector: boxes for a batch of ``HxWx3 uint8`` RGB frames."""

    backend: str

    def detect_batch(self, images: list[np.ndarray]) -> list[Detections]: ...


class Tracking:
    """Ids for detectors without them, re-identification after occlusions (``reid`` frames), then
    gap bridging; writes ``frame.boxes``/``frame.ids``."""

    def __init__(self, max_gap: int, reid: int = 0) -> None:
        self.max_gap, self.shot = max_gap, 0
        self.tracker = IouTracker(max_age=max_gap)
        self.bridge = GapBridge(max_gap)
        self.reid = Reidentifier(reid) if reid else None
        self.classes: dict[int, int] = {}  # track id -> COCO class id, as last detected (for `vidinpaint tracks`)

    def apply(self, frame: Frame, found: Detections) -> None:
        if frame.shot != self.shot:  # a new shot: nobody is bridged or matched across a boundary
            self.tracker.tracks.clear()
            self.bridge.seen.clear()
            if self.reid:
                self.reid.reset()
            self.shot = frame.shot
        ids = found.ids if found.ids is not None else self.tracker.update(found.boxes)
        if self.reid:
            ids = self.reid.update(frame.rgb, found.boxes, ids, frame.index)
        if found.classes is not None:
            self.classes.update(zip(np.asarray(ids).tolist(), np.asarray(found.classes).tolist()))
        boxes, ids = self.bridge.update(found.boxes, ids)
        h, w = frame.rgb.shape[:2]
        frame.boxes = expand_boxes(boxes, 0, w, h)  # rounded outwards, clamped to the frame
        frame.ids = ids
        keep = (frame.boxes[:, 2] > frame.boxes[:, 0]) & (frame.boxes[:, 3] > frame.boxes[:, 1])
        frame.boxes, frame.ids = frame.boxes[keep], frame.ids[keep]


class DetectStage:
    """Stage: runs ``detector`` on batches of ``batch`` frames and sets boxes and ids."""

    name = "detect"

    def __init__(self, detector: Detector, batch: int = 1, max_gap: int = 5, note: str = "", reid: int = 0) -> None:
        self.detector, self.batch, self.note = detector, batch, note
        self.tracking = Tracking(max_gap, reid)

    @property
    def backend(self) -> str:
        return self.detector.backend + (f" [{self.note}]" if self.note else "")

    def __call__(self, frames: Iterable[Frame]) -> Iterator[Frame]:
        source = iter(frames)
        while chunk := list(itertools.islice(source, self.batch)):
            for frame, found in zip(chunk, self.detector.detect_batch([f.rgb for f in chunk])):
                self.tracking.apply(frame, found)
                yield frame
