"""Temporal smoothing of the removal masks: no flicker from a detection missed for a frame."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable, Iterator

import numpy as np

from ..frames import Frame


def bridge(previous: np.ndarray, raw: np.ndarray, ahead: list[np.ndarray]) -> np.ndarray:
    """A pixel is masked now if it is masked in ``raw``, or if it was masked in the previous
    frame and is masked again in one of the frames ``ahead``: short gaps are closed."""
    if not ahead:
        return raw
    return raw | (previous & np.logical_or.reduce(ahead))


class MaskHysteresis:
    """Stage: a pixel turns masked at once (never late), but unmasked only if it stays unmasked
    for ``hold`` frames; shorter gaps (a person missed for a frame or two) stay masked. Nothing
    is held across a shot boundary.

    Memory: ``hold`` - 1 masks of look-ahead.
    """

    name = "smooth"

    def __init__(self, hold: int = 3) -> None:
        self.hold = hold

    @property
    def backend(self) -> str:
        return f"temporal hysteresis: gaps shorter than {self.hold} frames stay masked"

    def __call__(self, frames: Iterable[Frame]) -> Iterator[Frame]:
        ahead: deque[Frame] = deque()
        previous: np.ndarray | None = None
        shot = 0
        source = iter(frames)
        done = False
        while True:
            while not done and len(ahead) < self.hold:
                nxt = next(source, None)
                if nxt is None:
                    done = True
                    break
                ahead.append(nxt)
            if not ahead:
                return
            frame = ahead.popleft()
            raw = frame.mask if frame.mask is not None else np.zeros(frame.rgb.shape[:2], bool)
            later = [f.mask for f in itertools.takewhile(lambda f: f.shot == frame.shot, ahead)
                     if f.mask is not None and f.mask.shape == raw.shape]
            fresh = previous is None or previous.shape != raw.shape or shot != frame.shot  # nothing held across a cut
            frame.mask = raw if fresh else bridge(previous, raw, later)
            previous, shot = frame.mask, frame.shot
            yield frame
