"""detect.every: the detector runs on keyframes, the frames between get interpolated boxes."""

from fractions import Fraction

import cv2
import numpy as np
import pytest

from vidinpaint.detect.stage import Detections, DetectStage
from vidinpaint.detect.track import box_iou
from vidinpaint.frames import Frame

W, H = 200, 120


class BlackBoxes:
    """Finds black rectangles; records which frames it ran on (frame index in pixel (0, 0))."""

    backend = "black boxes"

    def __init__(self) -> None:
        self.frames: list[int] = []

    def detect_batch(self, images):
        out = []
        for rgb in images:
            self.frames.append(int(rgb[0, 0, 1]))
            count, _, stats, _ = cv2.connectedComponentsWithStats((rgb.max(axis=2) == 0).astype(np.uint8))
            boxes = [(x, y, x + w, y + h) for x, y, w, h, _ in stats[1:count]]
            out.append(Detections(np.array(boxes, np.float32).reshape(-1, 4), np.full(len(boxes), 0.9, np.float32),
                                  classes=np.zeros(len(boxes), np.int64)))
        return out


def clip(objects, frames: int, shots=()) -> list[Frame]:
    """Frames with black boxes at ``objects(t)`` (a list of XYXY boxes) on grey; new shots at ``shots``."""
    out = []
    for t in range(frames):
        rgb = np.full((H, W, 3), 200, np.uint8)
        rgb[0, 0, 1] = t
        for x0, y0, x1, y1 in objects(t):
            rgb[y0:y1, x0:x1] = 0
        out.append(Frame(t, t, Fraction(1, 25), rgb, shot=sum(t >= s for s in shots)))
    return out


def run(frames: list[Frame], every: int, workers: int = 1) -> tuple[list[Frame], BlackBoxes]:
    detector = BlackBoxes()
    return list(DetectStage(detector, max_gap=5, every=every, workers=workers)(frames)), detector


def walker(t: int) -> list[tuple[int, int, int, int]]:
    return [(20 + 6 * t, 30, 40 + 6 * t, 90)]  # 20x60, 6 px a frame: moves past its width in 4 frames


def test_frames_between_keyframes_get_the_moving_box_and_its_id():
    out, detector = run(clip(walker, 11), every=4)
    assert detector.frames == [0, 4, 8, 10]  # keyframes, and the clip's last frame: nothing extrapolated
    assert [f.index for f in out] == list(range(11))
    for frame in out:
        assert len(frame.boxes) == 1
        assert box_iou(frame.boxes, np.array(walker(frame.index)))[0, 0] > 0.9, (frame.index, frame.boxes)
    assert {int(f.ids[0]) for f in out} == {int(f.ids[0]) for f in run(clip(walker, 11), every=1)[0]} == {1}


def test_an_object_that_comes_in_between_keyframes_is_held_back_and_one_that_leaves_is_bridged():
    def scene(t):
        coming = [(150, 20, 170, 80)] if t >= 5 else []  # first found on keyframe 6
        leaving = [(10, 40, 30, 100)] if t <= 3 else []  # last found on keyframe 3
        return coming + leaving

    out, _ = run(clip(scene, 10), every=3)
    coming = {f.index: {int(i) for box, i in zip(f.boxes, f.ids) if box[0] >= 140} for f in out}
    assert all(not coming[t] for t in range(4)) and all(len(coming[t]) == 1 for t in range(4, 10))
    assert len(set.union(*coming.values())) == 1  # one id from the frame it is held back to on
    leaving = {f.index: {int(i) for box, i in zip(f.boxes, f.ids) if box[0] < 40} for f in out}
    assert all(len(leaving[t]) == 1 for t in range(6)) and len(set.union(*leaving.values())) == 1


def test_no_box_crosses_a_shot_boundary():
    def scene(t):
        return [(20 + 2 * t, 30, 40 + 2 * t, 90)] if t < 8 else [(150, 20, 180, 100)]

    out, detector = run(clip(scene, 15, shots=(8,)), every=3)
    assert detector.frames == [0, 3, 6, 7, 8, 9, 12, 14]  # each shot's first and last frame too
    first, second = [f for f in out if f.shot == 0], [f for f in out if f.shot == 1]
    assert all(len(f.boxes) == 1 and f.boxes[0][0] < 60 for f in first)
    assert all(len(f.boxes) == 1 and f.boxes[0][0] >= 150 for f in second)  # nothing carried over the cut
    assert not {int(f.ids[0]) for f in first} & {int(f.ids[0]) for f in second}


def test_keyframes_detected_at_once_give_what_one_at_a_time_gives():
    def scene(t):
        walkers = [(20 + 3 * t, 30, 40 + 3 * t, 90), (160 - 2 * t, 10, 175 - 2 * t, 50)] if t < 13 else []
        return walkers + ([(100, 60, 130, 110)] if 5 <= t < 20 else [])

    frames = clip(scene, 24, shots=(8, 13))
    alone, one = run([Frame(f.index, f.pts, f.time_base, f.rgb.copy(), shot=f.shot) for f in frames], every=3)
    for workers in (2, 3):
        together, many = run([Frame(f.index, f.pts, f.time_base, f.rgb.copy(), shot=f.shot) for f in frames],
                             every=3, workers=workers)
        assert sorted(many.frames) == one.frames  # the same keyframes, each detected once
        assert [f.index for f in together] == list(range(24))
        for a, b in zip(alone, together):
            assert np.array_equal(a.boxes, b.boxes) and np.array_equal(a.ids, b.ids), a.index


def test_an_error_in_a_keyframe_detected_ahead_reaches_the_stage():
    class Failing(BlackBoxes):
        def detect_batch(self, images):
            if int(images[0][0, 0, 1]) == 6:
                raise RuntimeError("detector failed on frame 6")
            return super().detect_batch(images)

    stage = DetectStage(Failing(), every=3, workers=2)
    out = []
    with pytest.raises(RuntimeError, match="frame 6"):
        out.extend(stage(clip(walker, 12)))
    assert [f.index for f in out] == [0, 1, 2, 3]  # every frame before the failed keyframe came out


class SmallOnTiles(BlackBoxes):
    """Finds boxes under 30 px tall only with its tiles (as the whole frame shrunk misses far people)."""

    def __init__(self) -> None:
        super().__init__()
        self.tiled: list[int] = []

    def tiles(self, width: int, height: int) -> list[tuple[int, int, int, int]]:
        return [(0, 0, width // 2, height), (width // 2, 0, width, height)]

    def detect_batch(self, images, tiles: bool = True):
        found = super().detect_batch(images)
        if tiles:
            self.tiled.append(int(images[0][0, 0, 1]))
            return found
        return [Detections(d.boxes[keep], d.scores[keep], classes=d.classes[keep])
                for d in found for keep in [d.boxes[:, 3] - d.boxes[:, 1] >= 30]]


@pytest.mark.parametrize("max_gap", [5, 0])
def test_tiles_on_every_other_keyframe_and_a_far_person_keeps_one_track_between(max_gap):
    def scene(t):
        return [(40 + t, 50, 50 + t, 74)] + ([(120, 20, 140, 80)] if t < 14 else [])  # far (24 px tall) and near

    detector = SmallOnTiles()
    out = list(DetectStage(detector, max_gap=max_gap, every=3, tile_every=2, workers=2)(clip(scene, 20, shots=(14,))))
    assert sorted(detector.frames) == [0, 3, 6, 9, 12, 13, 14, 15, 18, 19]
    assert sorted(detector.tiled) == [0, 6, 12, 13, 14, 18, 19]  # every other keyframe of the grid, each shot's ends
    far = [[int(i) for box, i in zip(f.boxes, f.ids) if box[3] - box[1] < 30] for f in out]
    assert all(len(ids) == 1 for ids in far), far  # on every frame, the untiled keyframes too
    assert len({ids[0] for ids in far[:14]}) == 1  # one track through the first shot
    assert "on every 2 keyframes" in DetectStage(detector, every=3, tile_every=2).backend


def test_the_stage_line_says_keyframes():
    assert "keyframes every 3 frames" in DetectStage(BlackBoxes(), every=3).backend
    assert "keyframes" not in DetectStage(BlackBoxes()).backend


def test_a_person_and_the_bag_beside_them_are_not_linked_to_each_other():
    from vidinpaint.detect.keyframes import Interpolator

    person, bag = np.array([[50, 20, 70, 80]], np.float32), np.array([[52, 22, 72, 82]], np.float32)
    interpolator = Interpolator()
    interpolator.keyframe(0, Detections(person, np.ones(1, np.float32), classes=np.array([0])))
    interpolator.advance()
    interpolator.keyframe(3, Detections(bag, np.ones(1, np.float32), classes=np.array([24])))
    assert interpolator.between(1).boxes.tolist() == bag.tolist()  # held back, not moved from the person
