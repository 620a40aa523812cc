"""Progress on the command line: a live bar on a terminal, a plain line now and then in a log.

A rich bar drawn into a pipe or a file leaves its last frame there, cut at the assumed width
(80 columns, or ``$COLUMNS``), so logs of CI jobs and batch runs filled with fragments. When
stderr is not a terminal the bar is off and a one-line summary is printed every ``every`` seconds
and each time the first task passes a quarter of its total.
"""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import Progress, ProgressColumn, TaskID


class Meter:
    """A :class:`rich.progress.Progress` that degrades to periodic plain lines off a terminal."""

    def __init__(self, console: Console, *columns: ProgressColumn, quiet: bool = False,
                 every: float = 10.0, unit: str = "/s") -> None:
        self.console, self.quiet, self.every, self.unit = console, quiet, every, unit
        self.live = console.is_terminal and not console.is_dumb_terminal and not quiet
        self.bar = Progress(*columns, console=console, disable=not self.live)
        self._last = time.monotonic()
        self._quarter = 0

    def __enter__(self) -> Meter:
        self.bar.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.bar.__exit__(kind, error, tb)

    def add_task(self, description: str, total: float | None = None, **fields: object) -> TaskID:
        self._quarter = 0
        return self.bar.add_task(description, total=total, **fields)

    def remove_task(self, task: TaskID) -> None:
        self.bar.remove_task(task)

    def update(self, task: TaskID, **changes: object) -> None:
        self.bar.update(task, **changes)
        self._tick()

    def advance(self, task: TaskID, steps: float = 1) -> None:
        self.bar.advance(task, steps)
        self._tick()

    def print(self, text: str) -> None:
        """A message line (above the bar when there is one); never wrapped."""
        self.console.print(text, soft_wrap=True)

    def _tick(self) -> None:
        if self.live or self.quiet or not self.bar.tasks:
            return
        first = self.bar.tasks[0]
        quarter = int(4 * first.completed / first.total) if first.total else 0
        now = time.monotonic()
        if now - self._last >= self.every or quarter > self._quarter:
            self._last, self._quarter = now, quarter
            self.console.print(self.line(), soft_wrap=True, markup=False)

    def line(self) -> str:
        """``  working 24/48, 11.9 fps, 2 s``: every task, with its text fields (a loss, say)."""
        parts = []
        for task in self.bar.tasks:
            count = f"{task.completed:.0f}/{task.total:.0f}" if task.total else f"{task.completed:.0f}"
            extra = " ".join(str(v) for v in task.fields.values() if v not in ("", None))
            parts.append(" ".join(p for p in (task.description, count, extra) if p))
        first = self.bar.tasks[0]
        speed = f", {first.speed:.1f} {self.unit}".replace(" /", "/") if first.speed else ""
        return f"  {', '.join(parts)}{speed}, {first.elapsed or 0:.0f} s"
