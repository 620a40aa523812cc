"""detect.still: objects that stay put and are never confidently detected are left alone."""

from fractions import Fraction

import numpy as np
import pytest

from vidinpaint.detect.stage import Detections, DetectStage
from vidinpaint.detect.still import StillObjects
from vidinpaint.frames import Frame

W, H = 320, 160
CONE = (40, 100, 60, 125)  # 25 px tall, static
WALKER_H = 80


class Script:
    """A detector that reads its boxes and scores from a script: frame index -> [(box, score)]."""

    backend = "script"

    def __init__(self, script) -> None:
        self.script = script

    def detect_batch(self, images):
        out = []
        for rgb in images:
            found = self.script(int(rgb[0, 0, 0]))
            boxes = np.array([b for b, _ in found], np.float32).reshape(-1, 4)
            out.append(Detections(boxes, np.array([s for _, s in found], np.float32)))
        return out


def frames(n: int) -> list[Frame]:
    out = []
    for t in range(n):
        rgb = np.zeros((H, W, 3), np.uint8)
        rgb[0, 0, 0] = t
        out.append(Frame(t, t, Fraction(1, 25), rgb))
    return out


def jitter(box, t: int, px: int = 2):
    """``box`` moved by a few px back and forth, as a detector's boxes of a static object are."""
    dx, dy = (t * 7 % (2 * px + 1)) - px, (t * 5 % (2 * px + 1)) - px
    return (box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy)


def walker(t: int, speed: float):
    x = 150 + speed * t
    return (x, 40, x + 30, 40 + WALKER_H)


def removed(script, n: int = 60, every: int = 1, **still) -> list[set[int]]:
    """The ids each frame keeps, the frames out in order."""
    stage = DetectStage(Script(script), max_gap=0, every=every, still=StillObjects(**still))
    out = list(stage(frames(n)))
    assert [f.index for f in out] == list(range(n))
    return [set(f.ids.tolist()) for f in out]


def test_a_static_lukewarm_detection_is_left_alone_a_walker_beside_it_is_not():
    ids = removed(lambda t: [(jitter(CONE, t), 0.45), (walker(t, 1.0), 0.5)])
    assert all(len(kept) == 1 for kept in ids)  # the walker, on every frame from the first
    assert len(set().union(*ids)) == 1


def test_a_still_object_confidently_detected_once_is_removed():
    ids = removed(lambda t: [(CONE, 0.9 if t == 40 else 0.45)])  # a person standing still, mostly doubted
    assert all(ids[16:])  # from the first frame judged with frame 40 in view (24 frames ahead) ...
    assert not any(ids[:16])  # ... the frames before had gone by


def test_a_slow_walker_is_removed_from_the_first_frame():
    # 0.7 px a frame, 80 px tall: 11 px between the medians of its first and last 8 of 24 frames
    ids = removed(lambda t: [(walker(t, 0.7), 0.45)])
    assert all(len(kept) == 1 for kept in ids)


def test_a_track_too_short_to_judge_is_removed():
    ids = removed(lambda t: [(jitter(CONE, t), 0.45)] if 5 <= t < 25 else [])  # 20 frames of 24
    assert all(len(kept) == 1 for kept in ids[5:25])


def test_one_judged_still_that_walks_off_is_removed_before_it_walks():
    def script(t):
        x = 200 if t < 40 else 200 + 3 * (t - 40)  # stands still, doubted, walks off at frame 40
        return [((x, 40, x + 30, 40 + WALKER_H), 0.4)]
    ids = removed(script)
    assert not any(ids[:10])  # left alone while nothing says it is more than a thing
    assert all(ids[40:])  # removed once it walks, and the judgement, 24 frames late, sees it coming:
    assert any(ids[20:40])  # from some frames before


def test_keyframes_and_boxes_between_are_judged_alike():
    ids = removed(lambda t: [(jitter(CONE, t), 0.45), (walker(t, 1.0), 0.5)], every=3)
    assert all(len(kept) == 1 for kept in ids)


def test_off_at_zero_and_the_frames_come_out_unchanged():
    stage = DetectStage(Script(lambda t: [(CONE, 0.45)]), max_gap=0)
    assert all(len(f.ids) == 1 for f in stage(frames(40)))


def test_memory_is_bounded_by_the_tracks_in_view():
    still = StillObjects(frames=6)
    for t in range(200):
        still.add(t, np.array([t // 10]), np.array([[t, 0, t + 10, 20]], np.float32), np.array([0.4]))
    assert len(still.tracks) <= 4


def test_the_run_says_which_objects_it_left_alone():
    still = StillObjects()
    stage = DetectStage(Script(lambda t: [(CONE, 0.45)] + ([(walker(t, 2.0), 0.5)] if t < 40 else [])),
                        max_gap=0, still=still)
    list(stage(frames(50)))
    assert still.report.startswith("left alone: 1 object, id 1 (frames 0-49)")
    assert "detect.still=0" in still.report
    assert StillObjects().report == ""


def test_an_object_named_by_id_is_never_left_alone():
    script = lambda t: [(jitter(CONE, t), 0.45), (walker(t, 2.0), 0.5)]  # noqa: E731
    assert all(ids == {2} for ids in removed(script, n=40))
    assert all(ids == {1, 2} for ids in removed(script, n=40, named=frozenset({1})))


def test_the_boxes_left_alone_are_kept_frame_by_frame_only_when_asked():
    def run(still: StillObjects) -> None:
        list(DetectStage(Script(lambda t: [(CONE, 0.45)]), max_gap=0, still=still)(frames(30)))
    still = StillObjects()
    run(still)
    assert still.boxes is None  # a run keeps nothing per frame
    still.boxes = {}  # the track listing asks, for the review page's preview
    run(still)
    assert sorted(still.boxes) == list(range(30)) and all(b == {1: CONE} for b in still.boxes.values())


@pytest.mark.weights
def test_on_the_sample_the_cones_and_sign_are_left_alone_and_named(tmp_path):
    import itertools
    import json
    import re

    from conftest import run_cli, sample_start
    from vidinpaint.video import VideoReader

    short = sample_start(tmp_path / "vtest30.mp4", 30)
    listed, lines = {}, {}
    for still in ("0.03", "0"):
        result = run_cli("tracks", str(short), "-o", str(tmp_path / f"{still}.json"), "--set", "device=cpu",
                         "--set", "detect.backend=nanodet", "--set", "detect.precision=fp32",
                         "--set", f"detect.still={still}")
        assert result.returncode == 0, result.stderr
        entries = json.loads((tmp_path / f"{still}.json").read_text())["tracks"]
        listed[still] = {t["id"] for t in entries if not t.get("still")}
        lines[still] = [line for line in result.stderr.splitlines() if line.startswith("left alone:")]
    assert not lines["0"]
    [line] = lines["0.03"]
    named = {int(i) for i in re.findall(r"(\d+) \(frames \d+-\d+\)", line)}
    assert named <= listed["0"]
    assert len(named - listed["0.03"]) >= 2  # the sign, a cone, the rock: left alone on every frame
    assert listed["0"] - named <= listed["0.03"]  # everything else (the people) is still listed
    # ... and listed as still, not removed unless chosen
    document = json.loads((tmp_path / "0.03.json").read_text())
    assert {t["id"]: t["remove"] for t in document["tracks"] if t.get("still")} == dict.fromkeys(named - listed["0.03"], False)
    # one of them given by hand, or chosen in the tracks file, is removed all the same; the others stay as they were
    boxes = {t["id"]: t["boxes"]["0"] for t in document["tracks"] if t.get("still") and "0" in t["boxes"]}
    (given, (x0, y0, x1, y1)), (_, other) = sorted(boxes.items())[:2]
    for entry in document["tracks"]:
        entry["remove"] = entry["remove"] or entry["id"] == given
    (tmp_path / "chosen.json").write_text(json.dumps(document))
    for choice in (["--box", f"{x0},{y0},{x1},{y1}@0"], ["--tracks-file", str(tmp_path / "chosen.json")]):
        out = tmp_path / "out.mp4"
        result = run_cli("clean", str(short), "-o", str(out), *choice, "--overwrite", "--set", "device=cpu",
                         "--set", "detect.backend=nanodet", "--set", "detect.precision=fp32")
        assert result.returncode == 0, result.stderr
        assert "no track" not in result.stderr  # the still entries kept are not taken for missing tracks
        before, after = (next(itertools.islice(VideoReader(str(p)), 10, None)).rgb.astype(np.int16)
                         for p in (short, out))
        changed = np.abs(after - before).mean(axis=2)
        assert changed[y0:y1, x0:x1].mean() > 8, choice
        assert changed[other[1]:other[3], other[0]:other[2]].mean() < 4, choice


@pytest.mark.weights
def test_a_still_object_chosen_on_the_review_page_goes_in_a_long_preview(tmp_path):
    """A preview of ``detect.still_frames`` frames or more judged still objects on its own ids,
    before renaming them, and dropped the one the page had chosen (the run removed it)."""
    import time

    import cv2

    from conftest import sample_start
    from vidinpaint.config import load_config
    from vidinpaint.ui.session import Review

    settings = ["device=cpu", "detect.backend=nanodet", "detect.precision=fp32", "segment.backend=box",
                "fill.backend=off"]
    review = Review(load_config(None, settings), tmp_path)
    review.open(sample_start(tmp_path / "vtest80.mp4", 80))
    deadline = time.monotonic() + 300
    while review.listing.state == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert review.listing.state == "done", review.listing.error
    frame = 60
    # the last listed: the excerpt, from frame 30, gives it another id than the clip's
    cone = max((t for t in review.tracks if t.still and frame in t.boxes), key=lambda t: t.id)
    assert review.toggle(cone.id) is True
    before, after = (cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).astype(np.int16)
                     for jpeg in review.preview(frame, 30))  # 50 frames: the excerpt could judge it
    x0, y0, x1, y1 = cone.boxes[frame]
    assert np.abs(after - before).mean(axis=2)[y0:y1, x0:x1].mean() > 8
