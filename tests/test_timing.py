"""Per-stage seconds: each stage is charged its own work, not its upstream's."""

from conftest import run_cli
from vidinpaint import timing
from vidinpaint.timing import StageTimes, format_times


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_each_stage_is_charged_its_own_time(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(timing.time, "perf_counter", clock)

    def decode():
        for i in range(4):
            clock.now += 1.0
            yield i

    def heavy(stream):
        for item in stream:
            clock.now += 3.0
            yield item

    def light(stream):
        for item in stream:
            clock.now += 0.5
            yield item

    times = StageTimes()
    out = times.stage("light", light, times.stage("heavy", heavy, times.source("decode", decode())))
    assert list(out) == [0, 1, 2, 3]
    times.encode = 2.0
    assert times.seconds() == [("decode", 4.0), ("heavy", 12.0), ("light", 2.0), ("encode", 2.0)]
    lines = format_times(times.seconds())
    assert lines[1].split() == ["heavy", "12.00", "s", "60.0", "%"]


def test_a_stage_that_fails_keeps_its_account():
    times = StageTimes()

    def broken():
        yield 1
        raise ValueError("bad frame")

    stream = times.source("decode", broken())
    assert next(stream) == 1
    try:
        next(stream)
    except ValueError:
        pass
    assert times.names == ["decode"] and times.inclusive[0] >= 0.0


def test_clean_timings_lists_every_stage(walker_clip, tmp_path):
    src, _, _ = walker_clip
    result = run_cli("clean", str(src), "-o", str(tmp_path / "out.mp4"), "-q", "--timings",
                     "--set", "detect.backend=motion", "--set", "segment.backend=box")
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stderr.splitlines() if line.rstrip().endswith("%")]
    assert [r[0] for r in rows] == ["decode", "shots", "detect", "segment", "mask", "smooth", "flow", "fill",
                                    "inpaint", "encode"]
    assert abs(sum(float(r[3]) for r in rows) - 100) < 0.5
