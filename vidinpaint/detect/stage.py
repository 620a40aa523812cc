"""The detection stage: a per-frame detector, batched, or on keyframes with boxes interpolated
between (:mod:`.keyframes`), plus track ids and gap bridging."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import NamedTuple, Protocol

import numpy as np

from ..frames import Frame
from .boxes import expand_boxes
from .coco import PERSON
from .keyframes import Interpolator
from .reid import Reidentifier
from .still import StillObjects
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

    def __init__(self, max_gap: int, reid: int = 0, confident: float | None = None,
                 still: StillObjects | None = None) -> None:
        self.max_gap, self.shot, self.confident, self.still = max_gap, 0, confident, still
        self.last = -1  # index of the latest frame tracked
        self.tracker = IouTracker(max_age=max_gap)
        self.bridge = GapBridge(max_gap)
        self.reid = Reidentifier(reid) if reid else None
        self.classes: dict[int, int] = {}  # track id -> COCO class id, as last detected (for `vidinpaint tracks`)

    def weak_dropped(self, frame: Frame, found: Detections) -> Detections:
        """``found`` without its detections below ``confident`` that continue no track (all of
        them kept without ``confident``, or with ids from the detector's own tracker)."""
        self._new_shot(frame)
        if self.confident is None or found.ids is not None or not len(found.scores):
            return found
        keep = self.tracker.continued(found.boxes, np.asarray(found.scores) >= self.confident,
                                      ahead=max(frame.index - self.last, 1))
        return Detections(*(None if v is None else np.asarray(v)[keep] for v in found))

    def _new_shot(self, frame: Frame) -> None:
        """At a new shot nobody is bridged or matched across the boundary."""
        if frame.shot != self.shot:
            self.tracker.tracks.clear()
            self.bridge.seen.clear()
            if self.reid:
                self.reid.reset()
            self.shot = frame.shot

    def apply(self, frame: Frame, found: Detections, detected: bool = True) -> None:
        """Set ``frame.boxes``/``frame.ids`` from this frame's detections (frames in order);
        ``detected``: they are the detector's own, not interpolated between keyframes."""
        self._new_shot(frame)
        self.last = frame.index
        ids = found.ids if found.ids is not None else self.tracker.update(found.boxes)
        if self.reid:
            ids = self.reid.update(frame.rgb, found.boxes, ids, frame.index)
        if self.still is not None:
            people = None if found.classes is None else np.asarray(found.classes) == PERSON
            self.still.add(frame.index, ids, found.boxes, found.scores, frame.rgb if detected else None, people)
        if found.classes is not None:
            self.classes.update(zip(np.asarray(ids).tolist(), np.asarray(found.classes).tolist()))
        boxes, ids = self.bridge.update(found.boxes, ids)
        h, w = frame.rgb.shape[:2]
        frame.boxes = expand_boxes(boxes, 0, w, h)  # rounded outwards, clamped to the frame
        frame.ids = ids
        keep = (frame.boxes[:, 2] > frame.boxes[:, 0]) & (frame.boxes[:, 3] > frame.boxes[:, 1])
        frame.boxes, frame.ids = frame.boxes[keep], frame.ids[keep]


class DetectStage:
    """Stage: runs ``detector`` on batches of ``batch`` frames and sets boxes and ids.

    ``every`` > 1: the detector runs on every ``every``-th frame (by index) and on the first and
    last frame of each shot; the frames between wait for the next keyframe (a look-ahead of
    ``every`` frames) and get boxes interpolated between the two, never across a shot boundary.
    ``workers`` keyframes are detected at once, ahead of the tracking (a look-ahead of
    ``workers`` x ``every`` frames more); a tiled detector's tiles run on every ``tile_every``-th
    keyframe (:meth:`_partial`).
    ``confident``: detections scored below it (the detector's own threshold is lower) only keep a
    track going that a confident one started (:meth:`~.track.IouTracker.continued`).
    """

    name = "detect"

    def __init__(self, detector: Detector, batch: int = 1, max_gap: int = 5, note: str = "", reid: int = 0,
                 every: int = 1, confident: float | None = None, still: StillObjects | None = None,
                 workers: int = 1, tile_every: int = 1) -> None:
        self.detector, self.batch, self.note, self.every, self.workers = detector, batch, note, every, workers
        self.tile_every = tile_every  # keyframes: a tiled detector's tiles on every n-th (see _partial)
        self.tracking = Tracking(max_gap, reid, confident, still)
        self.interpolator = Interpolator()

    @property
    def backend(self) -> str:
        when = f", keyframes every {self.every} frames, boxes interpolated between" if self.every > 1 else ""
        if self.every > 1 and self.tile_every > 1:
            when += (f", tiles (where a frame has them) on every {self.tile_every} keyframes and each "
                     "shot's first and last")
        if self.every > 1 and self.workers > 1:
            when += f", {self.workers} keyframes detected at once"
        weak = (f", detections below {self.tracking.confident:g} only continue tracks"
                if self.tracking.confident is not None else "")
        still = f"; {self.tracking.still.describe}" if self.tracking.still is not None else ""
        return self.detector.backend + weak + when + still + (f" [{self.note}]" if self.note else "")

    def __call__(self, frames: Iterable[Frame]) -> Iterator[Frame]:
        tracked = self._every_frame(frames) if self.every == 1 else self._keyframes(frames)
        return tracked if self.tracking.still is None else self._moving(tracked, self.tracking.still)

    @staticmethod
    def _moving(frames: Iterator[Frame], still: StillObjects) -> Iterator[Frame]:
        """The frames ``still.frames`` frames late, without the boxes of still objects."""
        waiting: deque[Frame] = deque()
        for frame in itertools.chain(frames, [None]):
            if frame is not None:
                waiting.append(frame)
            while waiting and (frame is None or len(waiting) > still.frames):
                out = waiting.popleft()
                bodiless = {i for i in out.ids.tolist() if still.bodiless_now(i)}
                still.bodiless |= bodiless
                keep = np.array([i not in bodiless and not still.still(i) for i in out.ids.tolist()], bool)
                for i, box in zip(out.ids[~keep].tolist(), out.boxes[~keep].tolist()):
                    still.left.setdefault(i, [out.index, out.index])[1] = out.index
                    if still.boxes is not None:
                        still.boxes.setdefault(out.index, {})[i] = tuple(box)
                out.boxes, out.ids = out.boxes[keep].reshape(-1, 4), out.ids[keep]
                yield out

    def _every_frame(self, frames: Iterable[Frame]) -> Iterator[Frame]:
        source = iter(frames)
        while chunk := list(itertools.islice(source, self.batch)):
            for frame, found in zip(chunk, self.detector.detect_batch([f.rgb for f in chunk])):
                self.tracking.apply(frame, self.tracking.weak_dropped(frame, found))
                yield frame

    def _keyframes(self, frames: Iterable[Frame]) -> Iterator[Frame]:
        shot: int | None = None  # the shot of the latest keyframe; None before a shot's first
        waiting: list[Frame] = []  # frames after the latest keyframe, until the next one
        self.interpolator.reset()
        for frame, found in self._detected(frames):
            if shot is not None and frame.shot != shot:
                yield from self._close(waiting)
                shot, waiting = None, []
            if shot is None or frame.index % self.every == 0:
                yield from self._interval(waiting, frame, found, edge=shot is None)
                shot, waiting = frame.shot, []
            else:
                waiting.append(frame)
        yield from self._close(waiting)

    def _detected(self, frames: Iterable[Frame]) -> Iterator[tuple[Frame, Future | None]]:
        """Each frame with the detections of it under way when it is a keyframe (the first of a
        shot or every ``every``-th; a shot's last is known only after it and is detected then),
        up to ``workers`` keyframes ahead, each in a thread of its own: the frames waiting for
        the still-object look-ahead at the start keep one core busy and the other idle, and on
        a CPU the stages after this one wait for it (``scripts/bench_threads.py``)."""
        if self.workers <= 1:
            yield from ((frame, None) for frame in frames)
            return
        pending: deque[tuple[Frame, Future | None]] = deque()
        shot: int | None = None
        with ThreadPoolExecutor(self.workers, thread_name_prefix="detect") as pool:
            try:
                for frame in frames:
                    first = frame.shot != shot
                    shot = frame.shot
                    pending.append((frame, pool.submit(self._detect, frame, first)
                                    if first or frame.index % self.every == 0 else None))
                    while sum(found is not None for _, found in pending) > self.workers:
                        yield pending.popleft()
                while pending:
                    yield pending.popleft()
            finally:
                for _, found in pending:
                    if found is not None:
                        found.cancel()

    def _partial(self, frame: Frame, edge: bool) -> bool:
        """Whether keyframe ``frame`` is detected without the tiles the detector has for it: they
        run on every ``tile_every``-th keyframe of the clip's grid and on each shot's first and
        last (``edge``), so that no more than ``tile_every`` - 1 keyframes in a row go without.
        Far people, whom only the tiles find, move few pixels a frame: the interpolation keeps
        them over the keyframes between (:class:`.keyframes.Interpolator`), where the whole frame
        finds the near ones (``scripts/bench_masks.py --clip``)."""
        if edge or self.tile_every <= 1 or (frame.index // self.every) % self.tile_every == 0:
            return False
        tiles = getattr(self.detector, "tiles", None)
        return bool(tiles and tiles(frame.rgb.shape[1], frame.rgb.shape[0]))

    def _detect(self, frame: Frame, edge: bool) -> tuple[bool, Detections]:
        """Whether keyframe ``frame`` goes without its tiles (:meth:`_partial`), and its detections."""
        if self._partial(frame, edge):
            return True, self.detector.detect_batch([frame.rgb], tiles=False)[0]
        return False, self.detector.detect_batch([frame.rgb])[0]

    def _close(self, waiting: list[Frame]) -> Iterator[Frame]:
        """The end of a shot or of the clip: its last frame is a keyframe (with its tiles), so no
        box is extrapolated past it."""
        if waiting:
            yield from self._interval(waiting[:-1], waiting[-1], edge=True)
        self.interpolator.reset()

    def _interval(self, waiting: list[Frame], frame: Frame, found: Future | None = None,
                  edge: bool = False) -> Iterator[Frame]:
        """Detect keyframe ``frame`` (``edge``: a shot's first or last), or take ``found``, its
        detection under way, then track the ``waiting`` frames before it and ``frame`` itself
        (on a keyframe without its tiles, with the objects the interpolation keeps on it)."""
        partial, found = found.result() if found is not None else self._detect(frame, edge)
        found = self.interpolator.keyframe(frame.index, self.tracking.weak_dropped(frame, found),
                                           frame.rgb.shape[1::-1] if partial else None)
        for between in waiting:
            self.tracking.apply(between, self.interpolator.between(between.index), detected=False)
            yield between
        self.interpolator.advance()
        self.tracking.apply(frame, found)
        yield frame
