"""Where a run's time goes, stage by stage, so users can see what to tune.

The stages are a chain of generators: asking the last one for a frame runs every stage before it.
Each link is timed inclusively (the seconds spent inside its ``next``); a stage's own time is its
inclusive time minus that of the stage feeding it. Decode is the time spent waiting for the
decode thread, encode the time spent handing frames to the encoder and finishing the file.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


@dataclass
class StageTimes:
    """Inclusive seconds per link of the chain, in pipeline order, plus the encoder's own."""

    names: list[str] = field(default_factory=list)
    inclusive: list[float] = field(default_factory=list)
    encode: float = 0.0

    def wrap(self, name: str, stream: Iterable[T]) -> Iterator[T]:
        """``stream`` with the time spent producing each item added to ``name``'s account."""
        self.names.append(name)  # now, not on the first frame: the chain is built upstream first
        self.inclusive.append(0.0)
        return self._timed(len(self.names) - 1, iter(stream))

    def _timed(self, k: int, source: Iterator[T]) -> Iterator[T]:
        while True:
            start = time.perf_counter()
            try:
                item = next(source)
            except StopIteration:
                return
            finally:
                self.inclusive[k] += time.perf_counter() - start
            yield item

    def seconds(self) -> list[tuple[str, float]]:
        """Each stage's own seconds (its time minus its upstream's), then encode."""
        own = [(name, t - (self.inclusive[k - 1] if k else 0.0))
               for k, (name, t) in enumerate(zip(self.names, self.inclusive))]
        return own + ([("encode", self.encode)] if self.names else [])


def format_times(seconds: list[tuple[str, float]]) -> list[str]:
    """One line per stage: name, seconds, share of the total."""
    total = sum(t for _, t in seconds) or 1.0
    return [f"  {name:<8} {t:8.2f} s {100 * t / total:5.1f} %" for name, t in seconds]


def sum_timings(runs: Iterable[list[tuple[str, float]]]) -> list[tuple[str, float]]:
    """Per-stage seconds added up over several runs (a folder of images), in first-seen order."""
    total: dict[str, float] = {}
    for run in runs:
        for name, seconds in run:
            total[name] = total.get(name, 0.0) + seconds
    return list(total.items())
