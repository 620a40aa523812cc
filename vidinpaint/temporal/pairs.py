"""The flows the fill follows between consecutive frames, and the stage that makes them ahead of it.

Each pair's flows are measured, completed inside the holes and checked forward against backward
once, at the flow's working resolution (:class:`Pairs`). The fill asks for them as it needs them;
:class:`FlowAhead`, a stage of its own just before the fill, makes the ones the fill will ask for
first as the frames arrive, in its own thread: on a node of many cores the fill's thread, the
slowest of the pipeline at 1080p (``scripts/bench_gpu.sh``), is left with the fill alone.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from ..frames import Frame
from ..masks import dilate
from .flow import complete, consistent, flow_at, hole_parts


@dataclass
class Pair:
    """Completed flows between frames k and k+1, and where each one can be trusted, made and
    stored at the flow's working resolution (a 1080p pair at full resolution would take 33 MB and
    16 times the work to complete and check; the look-ahead holds ``window`` of them) and read at
    frame size only where used: at the hole's points."""

    forward_small: np.ndarray  # k -> k+1, on frame k's pixels
    backward_small: np.ndarray  # k+1 -> k, on frame k+1's pixels
    forward_ok_small: np.ndarray
    backward_ok_small: np.ndarray
    size: tuple[int, int]  # frame (width, height)

    def follow(self, x: np.ndarray, y: np.ndarray, back: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Where the points ``(x, y)`` of frame k are in frame k+1 (of frame k+1 in frame k if
        ``back``), and whether the flow that took them there can be trusted (its nearest stored
        pixel, as the mask brought to frame size would say)."""
        flow, ok = (self.backward_small, self.backward_ok_small) if back else (self.forward_small, self.forward_ok_small)
        w, h = self.size
        dx, dy = flow_at(flow, x, y, w, h)
        hs, ws = ok.shape
        col = np.clip(np.rint(x), 0, w - 1).astype(np.int32) * ws // w
        row = np.clip(np.rint(y), 0, h - 1).astype(np.int32) * hs // h
        return x + dx, y + dy, ok[row, col]


def hole(frame: Frame) -> np.ndarray:
    """The frame's mask, or an empty one."""
    return frame.mask if frame.mask is not None else np.zeros(frame.rgb.shape[:2], bool)


def same_shot(a: Frame, b: Frame) -> bool:
    """Whether pixels may travel between ``a`` and ``b``: same shot, neither a mix of two shots."""
    return a.shot == b.shot and not a.mixed and not b.mixed


def wanted(frame: Frame) -> bool:
    """Whether the fill's carry will ask for the pair that ends at ``frame``: it has a hole or
    boxes. Most pairs of a clip where people come and go are asked for by no one."""
    return bool(len(frame.boxes)) or hole(frame).any()


class Pairs:
    """Makes the :class:`Pair` of two frames with ``flow`` (:mod:`.flow`: ``small(a, b)`` at its
    working resolution, and a ``backend`` line). One flow object serves the stage ahead and the
    fill, in two threads, so its calls take turns (OpenCV's DIS keeps buffers between calls)."""

    def __init__(self, flow, tolerance: float = 1.0, margin: int = 8) -> None:
        self.flow, self.tolerance, self.margin = flow, tolerance, margin
        self._turn = threading.Lock()

    def _small(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        with self._turn:
            return self.flow.small(a, b)

    def make(self, a_rgb: np.ndarray, a_hole: np.ndarray, b_rgb: np.ndarray, b_hole: np.ndarray,
             measured: np.ndarray | None = None) -> Pair:
        # Flow measured on an object follows the object, and flow measured where the object is
        # about to cover the background (or has just uncovered it) has no true match: complete
        # both flows from the background around the union of the two holes, slightly grown.
        # All of it at the working resolution: a small pixel is a hole if any of it is, and the
        # margin is in its pixels, since that is the scale at which the flow smears a mover's
        # motion onto the background around it.
        forward = self._small(a_rgb, b_rgb)
        h, w = a_hole.shape
        hs, ws = forward.shape[:2]
        scale = ws / w
        union = cv2.resize((a_hole | b_hole).astype(np.float32), (ws, hs), interpolation=cv2.INTER_AREA) > 0
        union = dilate(union, self.margin)
        parts = hole_parts(union)  # both flows are completed in the same hole
        forward = complete(forward, union, parts=parts)
        if measured is None or measured.shape[:2] != (hs, ws):
            measured = self._small(b_rgb, a_rgb)
        backward = complete(measured, union, parts=parts)
        tolerance = self.tolerance * scale  # in frame pixels, as configured
        return Pair(forward, backward, consistent(forward, backward, tolerance),
                    consistent(backward, forward, tolerance), (w, h))

    def pending(self, a: Frame, b: Frame, eager: bool = False) -> Callable[[], Pair]:
        """The pair of ``a`` and ``b``, made on first use, or now if ``eager`` and the fill's
        carry will ask for it (:func:`wanted`). Keeps the frames' own pictures and masks, which
        the fill replaces rather than changes, so later stages cannot alter them. The backward
        flow is taken from ``b`` when an earlier stage measured it with the same method (the
        segment stage, carrying masks)."""
        measured = b.flow_back[1] if b.flow_back is not None and b.flow_back[0] == self.flow.backend else None
        pair = functools.cache(functools.partial(self.make, a.rgb, hole(a), b.rgb, hole(b), measured))
        if eager and wanted(b):
            pair()
        return pair


class FlowAhead:
    """Stage: each frame's pair with the frame before it (same shot), in ``frame.flows``, made
    here where the fill will ask for it (:func:`wanted`) and left to be made on first use where
    it may not: the fill then only follows flows, in its own thread."""

    name = "flow"

    def __init__(self, pairs: Pairs) -> None:
        self.pairs = pairs

    @property
    def backend(self) -> str:
        return self.pairs.flow.backend

    def __call__(self, frames: Iterable[Frame]) -> Iterator[Frame]:
        # ``previous`` is not filled yet when paired: the fill fills a frame only once it holds the
        # next one (its look-ahead is at least a frame), which this stage has not yet passed on
        previous: Frame | None = None
        for frame in frames:
            if previous is not None and same_shot(previous, frame):
                frame.flows = (previous.index, self.pairs.pending(previous, frame, eager=True))
            previous = frame
            yield frame
