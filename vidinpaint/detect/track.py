"""Track identities across frames, and bridge short gaps so nobody reappears for a frame.

``IouTracker`` gives ids to detectors that have none (NanoDet, motion): greedy matching by box
IoU, best pairs first. ``GapBridge`` works for any ids (also ultralytics' ByteTrack): when a
track is missed for up to ``max_gap`` frames, its last box, moved by its last velocity, is
emitted instead, because one missed detection would otherwise uncover a person for a frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of ``Nx4`` and ``Mx4`` XYXY boxes -> ``NxM``."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def median_rows(rows: ArrayLike) -> np.ndarray:
    """``np.median(rows, axis=0)`` of a few equal-length rows (or numbers) of floats, by one sort:
    for the handful of a track's steps numpy's median costs ~8x more, on every box of every frame."""
    ordered = np.sort(np.asarray(rows), axis=0)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _best_first(iou: np.ndarray, min_iou: float) -> list[tuple[int, int]]:
    """``(track, box)`` index pairs of ``iou`` (tracks x boxes) with IoU >= ``min_iou``, best first:
    the order of greedy matching."""
    order = np.argsort(-iou, axis=None)
    order = order[iou.reshape(-1)[order] >= min_iou]
    return [(int(t), int(d)) for t, d in zip(*np.unravel_index(order, iou.shape))]


STEPS = 3  # a track's velocity is the median of its centre's last this many steps


@dataclass
class _Seen:
    box: np.ndarray
    velocity: np.ndarray
    missed: int = 0
    steps: tuple[np.ndarray, ...] = ()

    @staticmethod
    def seen_again(previous: _Seen | None, box: np.ndarray) -> _Seen:
        """The track at ``box`` now. Its velocity: the median of its centre's last ``STEPS``
        steps (a step over frames it was missed averaged over them), the same for all four sides,
        so a predicted box keeps its size and one jump does not send it off. With each side's own
        last step, a track whose box jumped to a taller one nearby (a keyframe linked it to
        someone else's detection) was bridged as a box growing 23 px a frame to the frame's top."""
        if previous is None:
            return _Seen(box, np.zeros(4))
        step = (box - previous.box) / (previous.missed + 1)
        steps = (*previous.steps, np.array([(step[0] + step[2]) / 2, (step[1] + step[3]) / 2]))[-STEPS:]
        return _Seen(box, np.tile(median_rows(steps), 2), steps=steps)


class IouTracker:
    """Assign persistent ids by greedy IoU matching against where each track should be now
    (last box moved by its last velocity), so a short miss does not cost the id."""

    def __init__(self, min_iou: float = 0.3, max_age: int = 5) -> None:
        self.min_iou, self.max_age = min_iou, max_age
        self.tracks: dict[int, _Seen] = {}
        self.next_id = 1

    def continued(self, boxes: np.ndarray, confident: np.ndarray, ahead: int = 1) -> np.ndarray:
        """``N bool``: which of this frame's ``boxes`` to keep: the ``confident`` ones, and of the
        others, for each track no confident box is matched to (best pairs first, as :meth:`update`
        matches, confident boxes first; a confident box that overlaps two crossing people takes one
        track, not both), the one that overlaps where the track should be ``ahead`` frames after it
        was last seen (IoU >= ``min_iou``) best. A weak box thus never starts a track, but keeps
        one going (ByteTrack's second association, Zhang et al. 2022, "ByteTrack: multi-object
        tracking by associating every detection box"): a person a confident box found is not lost
        for a few frames where the detector doubts."""
        keep = np.asarray(confident, bool).copy()
        if not self.tracks or keep.all():
            return keep
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        predicted = np.stack([t.box + t.velocity * (t.missed + ahead) for t in self.tracks.values()])
        pairs = _best_first(box_iou(predicted, boxes), self.min_iou)
        free, taken = np.ones(len(predicted), bool), np.zeros(len(boxes), bool)
        for weak in (False, True):  # confident boxes take their tracks first, then weak ones the tracks left
            for t, d in pairs:
                if free[t] and not taken[d] and keep[d] != weak:
                    free[t], taken[d] = False, True
        return keep | taken

    def update(self, boxes: np.ndarray) -> np.ndarray:
        """Ids (``N int64``) for this frame's ``Nx4`` boxes."""
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        ids = np.zeros(len(boxes), np.int64)
        known = list(self.tracks)
        if known and len(boxes):
            predicted = np.stack([t.box + t.velocity * (t.missed + 1) for t in self.tracks.values()])
            for t, d in _best_first(box_iou(predicted, boxes), self.min_iou):
                if ids[d] or known[t] in ids:
                    continue
                ids[d] = known[t]
        for d in np.nonzero(ids == 0)[0]:
            ids[d] = self.next_id
            self.next_id += 1
        for i, box in zip(ids.tolist(), boxes):
            self.tracks[i] = _Seen.seen_again(self.tracks.get(i), box)
        for i in [k for k in self.tracks if k not in ids]:
            self.tracks[i].missed += 1
            if self.tracks[i].missed > self.max_age:
                del self.tracks[i]
        return ids


class GapBridge:
    """Re-emit tracks missed for at most ``max_gap`` frames at their predicted position."""

    def __init__(self, max_gap: int = 5) -> None:
        self.max_gap = max_gap
        self.seen: dict[int, _Seen] = {}

    def update(self, boxes: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """This frame's boxes and ids plus predicted boxes of briefly missing tracks."""
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        ids = np.asarray(ids, np.int64).reshape(-1)
        for box, i in zip(boxes, ids.tolist()):
            self.seen[i] = _Seen.seen_again(self.seen.get(i), box)
        extra_boxes, extra_ids = [], []
        for i, s in list(self.seen.items()):
            if i in ids:
                continue
            s.missed += 1
            if s.missed > self.max_gap:
                del self.seen[i]
                continue
            extra_boxes.append(s.box + s.velocity * s.missed)
            extra_ids.append(i)
        if extra_boxes:
            boxes = np.concatenate([boxes, np.stack(extra_boxes)])
            ids = np.concatenate([ids, np.array(extra_ids, np.int64)])
        return boxes, ids
