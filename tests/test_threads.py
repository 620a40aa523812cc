import threading
import time

import pytest

from vidinpaint.threads import Sink, prefetch


def test_prefetch_keeps_order_and_stays_bounded():
    produced = []

    def source():
        for i in range(100):
            produced.append(i)
            yield i

    it = prefetch(source, maxsize=3)
    assert next(it) == 0
    time.sleep(0.2)
    assert len(produced) <= 1 + 3 + 1  # consumed + queued + one blocked in put
    assert list(it) == list(range(1, 100))


def test_prefetch_reraises_worker_errors_in_the_caller():
    def source():
        yield 1
        raise ValueError("boom")

    it = prefetch(source, maxsize=2)
    assert next(it) == 1
    with pytest.raises(ValueError, match="boom"):
        next(it)


def test_prefetch_stops_the_worker_when_the_consumer_leaves():
    def source():
        i = 0
        while True:
            yield i
            i += 1

    before = threading.active_count()
    it = prefetch(source, maxsize=2)
    next(it)
    it.close()
    assert threading.active_count() == before


def test_sink_consumes_in_order_and_reraises():
    seen = []
    sink = Sink(seen.append, maxsize=2)
    for i in range(10):
        sink.put(i)
    sink.close()
    assert seen == list(range(10))

    def fail(item):
        raise RuntimeError(f"bad {item}")

    sink = Sink(fail, maxsize=2)
    sink.put(1)
    with pytest.raises(RuntimeError, match="bad 1"):
        sink.close()
