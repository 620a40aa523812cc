"""A fixed number of frames spread evenly over a clip, taken as it is read, in bounded memory.

``adapt`` and training sample a clip's frames. A step of ``declared length // count`` gives up to
twice the frames asked for, and a clip that declares no length (a raw ``.h264`` stream, some
live recordings) gave every frame, all held in memory until the end: a long clip ran out of
memory. Here every ``step``-th frame is kept, and whenever more than twice ``count`` are kept the
step doubles and every other kept frame goes, so memory stays at most ``2 * count + 1`` frames
whatever the length; :meth:`EvenSample.items` then picks ``count`` of them evenly.
"""

from __future__ import annotations

from typing import Generic, TypeVar

import numpy as np

T = TypeVar("T")


class EvenSample(Generic[T]):
    """``count`` items spread evenly over a stream of frames numbered 0, 1, 2, ...; ``total``, the
    stream's length when known (or estimated), sets the first step, at which about twice ``count``
    frames are kept: a length estimated from a container's duration may be too long (audio
    that outlasts the picture), and a step of ``total // count`` then gave a third of the count."""

    def __init__(self, count: int, total: int | None = None) -> None:
        if count < 1:
            raise ValueError(f"count must be at least 1, got {count}")
        self.count = count
        self.step = max(1, (total or 0) // (2 * count))
        self._kept: list[tuple[int, T]] = []

    def wanted(self, index: int) -> bool:
        """Whether frame ``index`` may be kept (the others need not be decoded into pictures or
        processed)."""
        return index % self.step == 0

    def add(self, index: int, item: T) -> None:
        """Offer frame ``index``'s ``item``; kept only if :meth:`wanted` says so."""
        if not self.wanted(index):
            return
        self._kept.append((index, item))
        if len(self._kept) > 2 * self.count:
            self.step *= 2
            self._kept = [(i, x) for i, x in self._kept if i % self.step == 0]

    def items(self) -> list[T]:
        """``count`` of the kept items, evenly spread, in stream order (all of them if fewer)."""
        if len(self._kept) <= self.count:
            return [x for _, x in self._kept]
        picks = np.rint(np.linspace(0, len(self._kept) - 1, self.count)).astype(int)
        return [self._kept[k][1] for k in picks]
