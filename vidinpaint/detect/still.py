"""Leave alone what stays put and is never confidently an object: the detector's false alarms on
static things (a traffic cone, a sign, a rock: NanoDet calls each a person on the sample, doubtfully
but frame after frame, and the pipeline then smeared them out of every frame).

A track is *still* once it has been followed for ``frames`` frames, in that time no detection of
it scored ``confident`` or more, and its box centre has not drifted: the median centre of its
first ``frames // 3`` frames and that of its latest ``frames // 3`` (then and on every later
frame) are no more than ``drift`` of its height apart, at least ``MIN_DRIFT_PX``. Medians over
thirds, not the extent: a small object's box jitters from frame to frame, while a walker, even a
slow one, drifts steadily. A person standing still whom the detector is sure of on some frame is
removed as before.

Decisions need the future: :class:`StillObjects` sees the detections of every frame as they are
tracked, and the stage asks about each frame ``frames`` frames later, so that a track's first
frame is judged on its first ``frames`` frames (memory: that many frames, whatever the clip's
length; per track a bounded list of centres). A track judged still that later moves or is found
with confidence is removed from then on; its earlier frames have gone by. An object the user
asks for by id (``named``: ``--tracks``, or any tracks.json entry that removes, such as one marked
still and flipped to ``"remove": true``) is never left alone: its id was in the run's last line,
or in the listing.

With a :class:`~.pose.PoseCheck`, a person's track is also left alone, moving or not, while it is
*bodiless*: its box is at least ``pose_height`` of the frame tall, no detection of it scored
``confident``, and the pose model has looked at it (once in ``pose_every`` frames, on frames
with the detector's own boxes) without finding a body at ``pose_score``. Once looked at, a track
is looked at whatever its height, so that a person who walks away is found too; once a body is
found, the person is removed from then on. Tall is where a false detection does harm (its hole
is as large) and where the pose model sees enough pixels to judge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .track import median_rows

if TYPE_CHECKING:  # not imported at run time: the CLI starts without torch
    from .pose import PoseCheck

MIN_DRIFT_PX = 3.0  # below this, a drift is box jitter whatever the object's size


@dataclass
class _Track:
    first: int
    best: float = 0.0
    height: float = 0.0  # the median height of its first frames
    start: list[tuple[float, float, float]] = field(default_factory=list)  # (x, y, height) of its first frames
    recent: list[tuple[float, float]] = field(default_factory=list)  # centres of its latest frames
    last: int = 0
    moved: bool = False
    looked: int = -1  # the latest frame the pose model looked at it on (-1: none)
    body: float = 0.0  # its best body score there


class StillObjects:
    """Per-track evidence of standing still, fed with every tracked frame's detections."""

    def __init__(self, frames: int = 24, drift: float = 0.03, confident: float = 0.65,
                 named: frozenset[int] = frozenset(), pose: PoseCheck | None = None, pose_height: float = 0.5,
                 pose_score: float = 0.4, pose_every: int = 3) -> None:
        self.frames, self.drift, self.confident, self.named = frames, drift, confident, named
        self.pose, self.pose_height, self.pose_score, self.pose_every = pose, pose_height, pose_score, pose_every
        self.bodiless: set[int] = set()  # ids left alone on some frame for want of a body, for the report
        self.tracks: dict[int, _Track] = {}
        self.left: dict[int, list[int]] = {}  # id -> [first, last] frame left alone
        # frame -> id -> box of what was left alone, kept only where a caller sets a dict here (the
        # track listing, for the review page's preview; a run keeps nothing per frame)
        self.boxes: dict[int, dict[int, tuple[int, ...]]] | None = None

    @property
    def report(self) -> str:
        """Which objects were left alone, on which frames (empty if none), for the run's last line."""
        if not self.left:
            return ""
        shown = [f"{i} (frames {a}-{b}{', no body' if i in self.bodiless else ''})"
                 for i, (a, b) in sorted(self.left.items())]
        more = f" and {len(shown) - 8} more" if len(shown) > 8 else ""
        plural = "s" * (len(shown) > 1)
        rules = (("still", self.drift > 0), ("pose", self.bodiless))
        off = " ".join(f"--set detect.{key}=0" for key, on in rules if on)
        return (f"left alone: {len(shown)} object{plural}, id{plural} {', '.join(shown[:8])}{more} "
                f"({off} removes them all; `vidinpaint tracks` lists each one to choose)")

    @property
    def describe(self) -> str:
        rules = []
        if self.drift > 0:
            rules.append(f"objects that stay within {self.drift:g} of their height for {self.frames} frames, never "
                         f"scored >= {self.confident:g}, are left alone (false detections of signs, cones, posts)")
        if self.pose is not None:
            rules.append(f"people at least {self.pose_height:g} of the frame tall, never scored >= {self.confident:g}, "
                         f"are left alone while MoveNet finds no body in their box (>= {self.pose_score:g}, at most "
                         f"a look every {self.pose_every} frames)")
        return "; ".join(rules)

    def add(self, index: int, ids: np.ndarray, boxes: np.ndarray, scores: np.ndarray, rgb: np.ndarray | None = None,
            people: np.ndarray | None = None) -> None:
        """Detections of frame ``index`` (frames in order): ``N`` ids, ``Nx4`` boxes, ``N`` scores;
        ``rgb``: the frame, where the boxes are the detector's own (not interpolated), for the pose
        check; ``people``: which of them are people (all, if None)."""
        third = max(self.frames // 3, 1)
        for gone in [i for i, t in self.tracks.items() if t.last < index - 4 * self.frames]:
            del self.tracks[gone]  # long lost: no frame still to be asked about shows it
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        people = np.ones(len(boxes), bool) if people is None else np.asarray(people, bool)
        for i, box, score, person in zip(np.asarray(ids).tolist(), boxes, np.asarray(scores, np.float64).reshape(-1),
                                         people.tolist()):
            track = self.tracks.setdefault(i, _Track(first=index))
            track.best = max(track.best, float(score))
            track.last = index
            x, y, h = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2, box[3] - box[1]
            if index - track.first < third:
                track.start.append((x, y, h))
                track.height = float(median_rows([s[2] for s in track.start]))
            track.recent = (track.recent + [(x, y)])[-third:]
            if not track.moved and index - track.first >= self.frames - third:
                track.moved = self._drift(track) > max(self.drift * track.height, MIN_DRIFT_PX)
            if (self.pose is not None and rgb is not None and person and i not in self.named
                    and track.body < self.pose_score and track.best < self.confident
                    and (h >= self.pose_height * rgb.shape[0] if track.looked < 0
                         else index - track.looked >= self.pose_every)):
                track.body = max(track.body, self.pose.body(rgb, box))
                track.looked = index

    @staticmethod
    def _drift(track: _Track) -> float:
        start = median_rows([s[:2] for s in track.start])
        return float(np.abs(median_rows(track.recent) - start).max())

    def bodiless_now(self, i: int) -> bool:
        """Whether the pose model has looked at track ``i`` and found no body, nor the detector confidence."""
        track = self.tracks.get(i)
        return (track is not None and track.looked >= 0 and track.body < self.pose_score
                and track.best < self.confident and i not in self.named)

    def still(self, i: int) -> bool:
        """Whether track ``i`` is, on what has been seen of it so far, a still false alarm (the
        pose rule's verdict is :meth:`bodiless_now`)."""
        track = self.tracks.get(i)
        return (self.drift > 0 and track is not None and track.last - track.first >= self.frames - 1
                and not track.moved and track.best < self.confident and i not in self.named)
