"""Where a run's time goes, stage by stage, so users can see what to tune.

The stages are a chain of generators, each of which may run in its own thread. A stage is
charged the seconds spent inside its ``next`` less the seconds it spent waiting for its input,
both measured in the thread that runs it, so a stage never pays for its upstream, whether that
upstream ran just before it in the same thread or in parallel in another. Decode is the time
spent waiting for the decode thread, encode the time spent handing frames to the encoder and
finishing the file.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from .threads import close_iterator

T = TypeVar("T")


@dataclass
class StageTimes:
    """Seconds per link of the chain, in pipeline order: inside it, and waiting for its input."""

    names: list[str] = field(default_factory=list)
    inclusive: list[float] = field(default_factory=list)
    waited: list[float] = field(default_factory=list)
    encode: float = 0.0

    def source(self, name: str, stream: Iterable[T]) -> Iterator[T]:
        """``stream``, the head of the chain, with the time spent producing each item charged to ``name``."""
        return self._timed(self._add(name), self.inclusive, iter(stream))

    def stage(self, name: str, stage: Callable[[Iterator[T]], Iterable[T]], upstream: Iterable[T]) -> Iterator[T]:
        """``stage(upstream)``, charged the time spent producing each item less its waits on ``upstream``."""
        k = self._add(name)  # now, in pipeline order: the stage itself starts on its first item
        fed = self._timed(k, self.waited, iter(upstream))
        return self._timed(k, self.inclusive, _started(stage, fed))

    def _add(self, name: str) -> int:
        self.names.append(name)
        self.inclusive.append(0.0)
        self.waited.append(0.0)
        return len(self.names) - 1

    @staticmethod
    def _timed(k: int, account: list[float], source: Iterator[T]) -> Iterator[T]:
        try:
            while True:
                start = time.perf_counter()
                try:
                    item = next(source)
                except StopIteration:
                    return
                finally:
                    account[k] += time.perf_counter() - start
                yield item
        finally:
            close_iterator(source)

    def seconds(self) -> list[tuple[str, float]]:
        """Each stage's own seconds, then encode."""
        own = [(name, t - w) for name, t, w in zip(self.names, self.inclusive, self.waited)]
        return own + ([("encode", self.encode)] if self.names else [])


def _started(stage: Callable[[Iterator[T]], Iterable[T]], upstream: Iterator[T]) -> Iterator[T]:
    """``stage(upstream)``, called when the first item is asked for, in the thread that asks;
    ``upstream`` is closed when it ends, even after an error (left to the collector, a failed
    stage's upstream threads kept running)."""
    try:
        yield from stage(upstream)
    finally:
        close_iterator(upstream)


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
