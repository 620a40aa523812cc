import threading
import time
from contextlib import closing

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


def _stage_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("stage ")]


def _chain_of(*stages):
    from vidinpaint.pipeline import _chain

    for i, stage in enumerate(stages):
        stage.name = f"s{i}"
    return _chain(iter(range(10_000)), stages)


def _passing(stream):
    yield from stream


def _ahead(stream):
    """A stage with a look-ahead, like the fill's window."""
    window = []
    for item in stream:
        window.append(item)
        if len(window) > 20:
            yield window.pop(0)
    yield from window


def test_a_failing_stage_reaches_the_caller_and_leaves_no_stage_thread():
    def failing(stream):
        for item in stream:
            if item == 50:
                raise ValueError("bad frame 50")
            yield item

    with pytest.raises(ValueError, match="bad frame 50"):
        for _ in _chain_of(_passing, failing, _ahead, _passing):
            pass
    assert _stage_threads() == []  # every stage thread was joined before the error reached us


def test_the_caller_leaving_stops_every_stage_and_nothing_is_left_running():
    consumed = []

    def counting(stream):
        for item in stream:
            consumed.append(item)
            yield item

    with pytest.raises(KeyError), closing(_chain_of(counting, _ahead, _passing)) as chain:
        for item in chain:  # the pipeline's consumers close the chain in the same way
            if item == 3:
                raise KeyError("interrupted")  # as a Ctrl-C in the encode loop would
    assert _stage_threads() == []
    assert len(consumed) < 200  # the stages stopped; they did not run through the input


def test_closing_the_chain_early_leaves_no_stage_thread():
    chain = _chain_of(_passing, _ahead)
    assert next(chain) == 0
    chain.close()
    assert _stage_threads() == []


def test_leaving_early_does_not_make_a_stage_work_on_one_more_item():
    leaving = threading.Event()
    after_leaving = []

    def slow(stream):
        for item in stream:
            time.sleep(0.05)  # the stage after this one is left waiting for its next item
            yield item

    def counting(stream):
        for item in stream:
            if leaving.is_set():
                after_leaving.append(item)
            yield item

    chain = _chain_of(_passing, slow, counting)
    assert next(chain) == 0
    leaving.set()
    chain.close()  # without the chain-wide abort, `counting` first took the next item from `slow`
    assert after_leaving == []
    assert _stage_threads() == []
