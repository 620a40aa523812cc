"""Bounded producer/consumer threads, so decode, compute and encode overlap.

Queues are bounded: peak memory depends on the queue sizes and the frame size, never on the
length of the clip. Exceptions raised in a worker thread are re-raised in the caller's thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

_DONE = object()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def close_iterator(items: Iterator) -> None:
    """Close ``items`` now if it can be closed (a generator), rather than whenever it is collected."""
    close = getattr(items, "close", None)
    if close:
        close()


class ChainStopped(Exception):
    """Raised in a worker of a chain of prefetches when the chain is abandoned (see ``abort``)."""


class Abort(threading.Event):
    """The ``abort`` event of a chain, with the first error raised in any of its workers: a
    worker downstream of it may have stopped on the abort before the error reached it (it
    refuses items once the chain is aborted), and then the chain's end raises this error
    rather than a bare :class:`ChainStopped` (user masks that ran out before the video came
    out as ChainStopped)."""

    def __init__(self) -> None:
        super().__init__()
        self.error: BaseException | None = None
        self._lock = threading.Lock()

    def record(self, error: BaseException) -> None:
        """Keep ``error`` if it is the chain's first (a :class:`ChainStopped` never is)."""
        with self._lock:
            if self.error is None and not isinstance(error, ChainStopped):
                self.error = error


def _put(q: queue.Queue, item: object, stop: threading.Event, abort: threading.Event | None = None) -> bool:
    """Put ``item`` unless ``stop`` is set (its consumer left) or, for anything but an error, the
    chain is aborted; returns False if the put was abandoned."""
    while not stop.is_set() and not (abort is not None and abort.is_set() and not isinstance(item, _Failure)):
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def prefetch(source: Callable[[], Iterable[T]], maxsize: int, name: str = "prefetch",
             abort: threading.Event | None = None) -> Iterator[T]:
    """Iterate ``source()`` in a background thread, at most ``maxsize`` items ahead of the caller.

    Closing the returned generator early (break, exception) stops the worker promptly. ``abort``,
    shared by every prefetch of a chain (each reading the one before it in its own thread), makes
    the whole chain stop together: a consumer that leaves early sets it, and then every worker
    stops at its next item instead of finishing one more item for the consumer after it. An error
    raised in a worker still reaches the end of the chain; if the chain stops without one, the
    consumers in worker threads raise :class:`ChainStopped`.
    """
    if maxsize < 1:
        raise ValueError(f"maxsize must be >= 1, got {maxsize}")
    q: queue.Queue = queue.Queue(maxsize=maxsize)
    stop = threading.Event()

    def work() -> None:
        items = iter(())
        try:
            items = iter(source())
            for item in items:
                if not _put(q, item, stop, abort):
                    return
            _put(q, _DONE, stop, abort)
        except BaseException as err:  # noqa: BLE001 - handed to the consumer thread
            if isinstance(abort, Abort):
                abort.record(err)
            _put(q, _Failure(err), stop, abort)
        finally:  # a generator source stops in this thread (its own workers, its files), not when collected
            close_iterator(items)

    thread = threading.Thread(target=work, name=name, daemon=True)
    thread.start()
    finished = False
    try:
        while True:
            try:
                item = q.get(timeout=0.1)
            except queue.Empty:
                if abort is not None and abort.is_set() and not thread.is_alive() and q.empty():
                    if isinstance(abort, Abort) and abort.error is not None:
                        raise abort.error
                    raise ChainStopped(f"{name}: the chain was stopped") from None
                continue
            if item is _DONE:
                finished = True
                return
            if isinstance(item, _Failure):
                raise item.error
            if abort is None or not abort.is_set():
                yield item  # once aborted, items are dropped while waiting for the worker's error or end
    finally:
        if abort is not None and not finished:
            abort.set()
        stop.set()
        thread.join()


class Sink(Generic[T]):
    """Feed items to ``consume`` in a background thread through a bounded queue.

    ``put`` blocks when the worker is ``maxsize`` items behind; ``close`` waits for it to finish
    and re-raises its error, if any.
    """

    def __init__(self, consume: Callable[[T], None], maxsize: int, name: str = "sink") -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be >= 1, got {maxsize}")
        self._consume = consume
        self._queue: queue.Queue = queue.Queue(maxsize=maxsize)
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if self._error is None:
                try:
                    self._consume(item)
                except BaseException as err:  # noqa: BLE001 - re-raised by put/close
                    self._error = err
                    self._stop.set()

    def put(self, item: T) -> None:
        if self._error is not None:
            raise self._error
        if not _put(self._queue, item, self._stop) and self._error is not None:
            raise self._error

    def close(self) -> None:
        """Drain the queue, stop the worker and re-raise its error, if any."""
        self._queue.put(_DONE)
        self._thread.join()
        if self._error is not None:
            raise self._error
