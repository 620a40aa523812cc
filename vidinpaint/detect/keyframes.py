"""Boxes between keyframes: the detector runs on every k-th frame only, and the frames between
get boxes interpolated from the keyframes on either side.

The tiled detector is most of a default run (five calls a frame at 768x576), while people move
a few pixels a frame: a straight line between two detections is where they were in between.
Each keyframe's detections are linked to the previous keyframe's, best pairs first: a pair
links when the later box's centre is within ``reach`` box heights of where the earlier box's
last known velocity puts it, its height is within a factor 1.5 and its class is the same (IoU
would lose a walker who moves more than its own width between keyframes). A linked object is
placed on the line between its two boxes; an object first found on the later keyframe is held
at that box back to the earlier one (it was missed there, or came in since: a few frames of a
box too many cost less than a person uncovered); an object the later keyframe lost gets no box
here, the gap bridge carries it as it would a missed detection, unless the later keyframe was
detected without the tiles (``partial``): then the object stays on it where its velocity puts
it, for the keyframe after to link to. The frames then go through the same tracking as detected
ones, so ids, re-identification and bridging work as on every frame.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from .stage import Detections

MAX_RATIO = 1.5  # a linked pair's heights differ by at most this factor


class _Key(NamedTuple):
    index: int
    found: Detections
    boxes: np.ndarray  # Nx4 float64
    velocity: np.ndarray  # Nx4, px per frame (zero for an object new on this keyframe)
    links: np.ndarray  # N ints: the same number on two keyframes = the same object


def _heights(boxes: np.ndarray) -> np.ndarray:
    return np.maximum(boxes[:, 3] - boxes[:, 1], 1.0)


def link_cost(predicted: np.ndarray, boxes: np.ndarray, reach: float) -> np.ndarray:
    """``NxM`` distance between the centres of ``predicted`` and ``boxes`` in box heights (their
    mean), ``inf`` where it exceeds ``reach`` or the heights differ by more than ``MAX_RATIO``."""
    centres_a = (predicted[:, :2] + predicted[:, 2:]) / 2
    centres_b = (boxes[:, :2] + boxes[:, 2:]) / 2
    ha, hb = _heights(predicted)[:, None], _heights(boxes)[None, :]
    cost = np.linalg.norm(centres_a[:, None] - centres_b[None], axis=2) / ((ha + hb) / 2)
    ratio = np.maximum(ha / hb, hb / ha)
    return np.where((cost <= reach) & (ratio <= MAX_RATIO), cost, np.inf)


def _joined(mine: np.ndarray | None, theirs: np.ndarray | None, kept: np.ndarray) -> np.ndarray | None:
    """``mine`` followed by the ``kept`` entries of ``theirs`` (None if either is None)."""
    if mine is None or theirs is None:
        return None
    return np.concatenate([np.asarray(mine).reshape(-1), np.asarray(theirs).reshape(-1)[kept]])


class Interpolator:
    """Links each keyframe's detections to the previous keyframe's and gives the boxes between."""

    def __init__(self, reach: float = 0.5) -> None:
        self.reach = reach
        self.next_link = 0
        self.reset()

    def reset(self) -> None:
        """A new shot: nothing is linked across a boundary."""
        self.before: _Key | None = None
        self.after: _Key | None = None

    def keyframe(self, index: int, found: Detections, partial: tuple[int, int] | None = None) -> Detections:
        """Record the detections of keyframe ``index`` (keyframes come in frame order) and link
        them to the previous keyframe's. ``partial``: the frame's (width, height) when the
        detector looked with less than its full means (the whole frame without its tiles): an
        object of the previous keyframe it did not find stays where its velocity puts it, cut to
        the frame, for the next keyframe to link to (a far person, whom only the tiles find,
        keeps one line and so one track across it). Returns the keyframe's detections, with the
        objects kept."""
        boxes = np.asarray(found.boxes, np.float64).reshape(-1, 4)
        links = np.arange(self.next_link, self.next_link + len(boxes))
        self.next_link += len(boxes)
        velocity = np.zeros_like(boxes)
        if self.before is not None and len(boxes) and len(self.before.boxes):
            gap = index - self.before.index
            cost = link_cost(self.before.boxes + self.before.velocity * gap, boxes, self.reach)
            if found.classes is not None and self.before.found.classes is not None:
                classes = np.asarray(found.classes).reshape(-1)
                cost[np.asarray(self.before.found.classes).reshape(-1)[:, None] != classes[None, :]] = np.inf
            taken_a, taken_b = set(), set()
            for flat in np.argsort(cost, axis=None):
                a, b = np.unravel_index(flat, cost.shape)
                if not np.isfinite(cost[a, b]):
                    break
                if a in taken_a or b in taken_b:
                    continue
                taken_a.add(a)
                taken_b.add(b)
                links[b] = self.before.links[a]
                velocity[b] = (boxes[b] - self.before.boxes[a]) / gap
        if partial is not None and self.before is not None:
            previous = self.before
            moved = np.clip(previous.boxes + previous.velocity * (index - previous.index), 0, [*partial, *partial])
            kept = ~np.isin(previous.links, links) & (moved[:, 2] > moved[:, 0]) & (moved[:, 3] > moved[:, 1])
            moved = moved[kept]
            boxes, links = np.concatenate([boxes, moved]), np.concatenate([links, previous.links[kept]])
            velocity = np.concatenate([velocity, previous.velocity[kept]])
            found = found._replace(boxes=boxes.astype(np.float32), ids=None,
                                   scores=_joined(found.scores, previous.found.scores, kept),
                                   classes=_joined(found.classes, previous.found.classes, kept))
        self.after = _Key(index, found, boxes, velocity, links)
        return found

    def advance(self) -> None:
        """The latest keyframe becomes the one the next interval starts from."""
        self.before = self.after

    def between(self, index: int) -> Detections:
        """Boxes for frame ``index``, strictly between the previous keyframe and the latest one."""
        first, last = self.before, self.after
        if first is None or last is None or not first.index < index < last.index:
            raise ValueError(f"frame {index} is not between two keyframes of one shot")
        boxes = last.boxes.copy()
        where = {link: i for i, link in enumerate(first.links.tolist())}
        alpha = (index - first.index) / (last.index - first.index)
        for j, link in enumerate(last.links.tolist()):
            if link in where:
                boxes[j] = (1 - alpha) * first.boxes[where[link]] + alpha * boxes[j]
        return last.found._replace(boxes=boxes.astype(np.float32), ids=None)
