"""detect.pose: a tall person the detector doubts is left alone while a pose model finds no body."""

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from test_still import CONE, Script, frames, jitter, removed, walker

from vidinpaint.detect.stage import DetectStage
from vidinpaint.detect.still import StillObjects
from vidinpaint.tfjs import GraphModel

FIXTURE = Path(__file__).parent / "fixtures" / "movenet_vtest0.npz"
TALL = (40, 10, 90, 150)  # 140 of the frame's 160 px: a car pillar as NanoDet boxes one


class Pose:
    """A pose model that finds a body in a box only where told: ``bodies`` maps frame -> score."""

    def __init__(self, bodies: Callable[[int], float]) -> None:
        self.bodies, self.looks = bodies, []

    def body(self, rgb: np.ndarray, box: np.ndarray) -> float:
        t = int(rgb[0, 0, 0])
        self.looks.append(t)
        return self.bodies(t)


def kept(script: Callable, pose: Pose, n: int = 40, every: int = 1, **rule) -> list[set[int]]:
    """The ids each frame keeps under the pose rule alone (tall: 0.6 of the frame)."""
    return removed(script, n=n, every=every, pose=pose, drift=0.0, **{"pose_height": 0.6, **rule})


def test_a_tall_doubted_person_without_a_body_is_left_alone_and_one_with_a_body_removed():
    script = lambda t: [(TALL, 0.45), (walker(t, 2.0), 0.5)]  # noqa: E731
    assert all(ids == {2} for ids in kept(script, Pose(lambda t: 0.2)))  # the walker, 0.5 of the frame, is never looked at
    assert all(ids == {1, 2} for ids in kept(script, Pose(lambda t: 0.6)))


def test_a_body_found_later_removes_the_person_from_then_on():
    ids = kept(lambda t: [(TALL, 0.45)], Pose(lambda t: 0.6 if t >= 30 else 0.1), n=60)
    assert not any(ids[:6]) and all(ids[30:])  # judged on what was seen 24 frames ahead


def test_who_is_looked_at_and_when():
    """Not a person the detector is sure of, not a short one, not a named one, not on an
    interpolated box; a track once in ``pose_every`` frames, and no more once a body is found."""
    pose = Pose(lambda t: 0.1)
    assert all(ids == {1} for ids in kept(lambda t: [(TALL, 0.7)], pose))
    assert all(ids == {1} for ids in kept(lambda t: [((40, 60, 90, 150), 0.45)], pose))  # 90 px of 160 < 0.6
    assert all(ids == {1} for ids in kept(lambda t: [(TALL, 0.45)], pose, named=frozenset({1})))
    assert pose.looks == []
    assert not any(kept(lambda t: [(TALL, 0.45)], pose, n=20, pose_every=4))
    assert pose.looks == [0, 4, 8, 12, 16]
    pose.looks.clear()
    kept(lambda t: [(TALL, 0.45)], pose, n=20, every=2, pose_every=1)
    assert pose.looks == list(range(0, 20, 2)) + [19]  # keyframes only: each shot's last frame is one
    found = Pose(lambda t: 0.6)
    kept(lambda t: [(TALL, 0.45)], found)
    assert found.looks == [0]


def test_the_run_says_which_were_left_alone_for_want_of_a_body():
    still = StillObjects(pose=Pose(lambda t: 0.1))
    stage = DetectStage(Script(lambda t: [(TALL, 0.45)]), max_gap=0, still=still)
    list(stage(frames(30)))
    assert still.report.startswith("left alone: 1 object, id 1 (frames 0-29, no body)")
    assert "--set detect.still=0 --set detect.pose=0 removes them all" in still.report
    assert "MoveNet finds no body" in stage.backend


def test_a_person_looked_at_while_tall_is_looked_at_when_shorter_too():
    """Cut off by the frame's bottom edge at first (no body found), then walking away: found."""
    def script(t):  # 140 px of 160 until frame 10, then 4 px shorter each frame down to 60
        return [((40, 10 + min(4 * max(t - 9, 0), 80), 90, 150), 0.45)]
    pose = Pose(lambda t: 0.3 if t < 30 else 0.9)  # a body from frame 30 on, at 80 px (0.5 of the frame)
    ids = kept(script, pose, n=80)
    assert [t for t in pose.looks if t >= 24] == [24, 27, 30]  # under 0.6 of the frame from frame 20
    assert not any(ids[:6]) and all(ids[6:])  # each frame judged on what was seen 24 frames later


def test_the_still_rule_and_the_pose_rule_on_the_same_track():
    """A tall thing that stays put and shows a body (a poster of a person, say) is still; one
    that moves and shows none is bodiless; the run names each by its rule."""
    still = StillObjects(pose=Pose(lambda t: 0.9), pose_height=0.6)
    stage = DetectStage(Script(lambda t: [(jitter(TALL, t), 0.45)]), max_gap=0, still=still)
    assert not any(len(f.ids) for f in list(stage(frames(40)))[24:])
    assert still.report.startswith("left alone: 1 object, id 1 (frames ") and "no body" not in still.report
    moving = StillObjects(pose=Pose(lambda t: 0.1), pose_height=0.6)
    stage = DetectStage(Script(lambda t: [((40 + 3 * t, 10, 90 + 3 * t, 150), 0.45), (jitter(CONE, t), 0.45)]),
                        max_gap=0, still=moving)
    assert not any(len(f.ids) for f in stage(frames(40)))
    assert "1 (frames 0-39, no body)" in moving.report and "2 (frames 0-39)" in moving.report


def test_without_the_model_the_rule_is_off_and_the_stage_line_says_so(tmp_path):
    from vidinpaint.backends import _still
    from vidinpaint.config import Config
    from vidinpaint.errors import ConfigError

    config = Config()
    config.weights_dir = str(tmp_path)  # no MoveNet there
    notes: list[str] = []
    rule = _still(config, frozenset(), "cpu", notes)
    assert rule is not None and rule.pose is None and rule.drift > 0  # the still rule stays on
    assert notes == ["pose check off: no movenet weights (vidinpaint weights fetch movenet)"]
    config.detect.still = 0.0
    assert _still(config, frozenset(), "cpu", []) is None
    config.strict = True
    with pytest.raises(ConfigError, match="detect.pose=0"):
        _still(config, frozenset(), "cpu", [])


def movenet():
    from vidinpaint.weights import available, locate

    if not available("movenet"):
        pytest.skip("MoveNet model not fetched (make test fetches it)")
    return locate("movenet")


def test_movenet_on_torch_matches_tensorflow_js():
    """The graph (fused convs, GatherNd, ArgMax, ...) against TensorFlow.js on the same crops
    (scripts/make_tfjs_fixture.py): a walker of the sample and a patch of lawn."""
    fixture = np.load(FIXTURE)
    model = GraphModel(movenet()).eval()
    with torch.inference_mode():
        for crop, reference in zip(fixture["crops"], fixture["keypoints"]):
            out = next(iter(model(torch.from_numpy(crop.astype(np.int32))[None]).values()))
            np.testing.assert_allclose(out.reshape(17, 3).numpy(), reference, atol=1e-4)


def test_the_sample_walker_has_a_body_and_the_lawn_none():
    from vidinpaint.detect.pose import PoseCheck
    from vidinpaint.video import VideoReader

    fixture = np.load(FIXTURE)
    frame = next(iter(VideoReader(Path(__file__).parents[1] / "samples" / "vtest.mp4"))).rgb
    pose = PoseCheck(movenet())
    walker_body, lawn = (pose.body(frame, box) for box in fixture["boxes"])
    assert walker_body > StillObjects().pose_score > lawn
