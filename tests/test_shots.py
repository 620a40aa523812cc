"""Shot boundaries on generated clips: hard cuts at the exact frame, a dissolve as one mixed
transition, no false boundary in a pan; and nothing crosses a cut in the fill."""

from __future__ import annotations

from fractions import Fraction

import cv2
import numpy as np

from vidinpaint.config import ShotsConfig
from vidinpaint.frames import Frame
from vidinpaint.shots import ShotDetector
from vidinpaint.synthetic import background
from vidinpaint.temporal.fill import FlowFill
from vidinpaint.temporal.flow import DisFlow

W, H = 160, 120


def pan(seed: int, frames: int, speed: float = 2.0) -> list[np.ndarray]:
    """A camera panning over a textured picture (a different picture for each seed)."""
    rng = np.random.default_rng(seed)
    wide = np.roll(background(W + 200, H, seed), seed, axis=2)  # a different palette per seed
    wide = np.clip(wide + rng.normal(0, 30, wide.shape), 0, 255).astype(np.uint8)
    wide = cv2.GaussianBlur(wide, (0, 0), 1.0)
    return [np.ascontiguousarray(wide[:, int(speed * t):int(speed * t) + W]) for t in range(frames)]


def detect(images: list[np.ndarray]) -> tuple[ShotDetector, list[Frame]]:
    stage = ShotDetector(ShotsConfig())
    frames = list(stage(Frame(i, i, Fraction(1, 25), rgb) for i, rgb in enumerate(images)))
    return stage, frames


def test_hard_cuts_are_found_at_the_exact_frame_and_a_pan_is_one_shot():
    stage, frames = detect(pan(1, 20) + pan(2, 15) + pan(3, 25))
    assert stage.report.cuts == [20, 35] and stage.report.shots == 3
    assert [f.shot for f in frames] == [0] * 20 + [1] * 15 + [2] * 25
    assert not any(f.mixed for f in frames)


def test_a_dissolve_is_one_transition_of_mixed_frames():
    a, b = pan(4, 30), pan(5, 30)
    mix = [(a[20 + i] * (1 - (i + 1) / 11) + b[i] * ((i + 1) / 11)).astype(np.uint8) for i in range(10)]
    stage, frames = detect(a[:20] + mix + b[10:])  # dissolve at frames 20-29
    assert stage.report.cuts == [] and len(stage.report.transitions) == 1
    first, last = stage.report.transitions[0]
    assert 18 <= first <= 21 and 27 <= last <= 31
    assert all(f.mixed for f in frames[22:27]) and not any(f.mixed for f in frames[:17] + frames[33:])
    assert frames[0].shot < frames[25].shot < frames[-1].shot


def test_nothing_is_pasted_across_a_cut():
    """Shot 1 is plain grey with a hole; shot 0 shows, at that place, bright red. A fill that
    looked across the cut would find red there (the hole of shot 1 is never uncovered)."""
    red = np.zeros((H, W, 3), np.uint8)
    red[..., 0] = 250
    grey = np.full((H, W, 3), 90, np.uint8)
    hole = np.zeros((H, W), bool)
    hole[40:80, 60:100] = True
    frames = [Frame(i, i, Fraction(1, 25), (red if i < 5 else grey).copy(), mask=hole.copy() if i >= 5 else None)
              for i in range(10)]
    for f in frames:
        f.shot = int(f.index >= 5)
    out = list(FlowFill(DisFlow(160), window=8)(frames))
    for f in out[5:]:
        assert f.mask[hole].all(), "a pixel of shot 1's hole was filled from shot 0"
        assert (f.rgb[hole][:, 0] < 200).all()


def test_hysteresis_holds_no_mask_across_a_cut():
    from vidinpaint.temporal.masks import MaskHysteresis

    on = np.ones((4, 4), bool)
    masks = [on, on, on, ~on, ~on, on]  # a two-frame gap, but a cut starts frame 3
    frames = [Frame(i, i, Fraction(1, 25), np.zeros((4, 4, 3), np.uint8), mask=m.copy(), shot=int(i >= 3))
              for i, m in enumerate(masks)]
    out = list(MaskHysteresis(hold=3)(frames))
    assert not out[3].mask.any() and not out[4].mask.any()
    same = [Frame(i, i, Fraction(1, 25), np.zeros((4, 4, 3), np.uint8), mask=m.copy()) for i, m in enumerate(masks)]
    assert list(MaskHysteresis(hold=3)(same))[3].mask.all()  # within one shot the gap is bridged


def test_tracks_are_not_bridged_across_a_cut():
    from vidinpaint.detect.stage import Detections, Tracking

    tracking = Tracking(max_gap=5)
    box = np.array([[10, 10, 40, 80]], np.float64)
    empty = np.zeros((0, 4))
    frame = Frame(0, 0, Fraction(1, 25), np.zeros((100, 100, 3), np.uint8))
    tracking.apply(frame, Detections(box, np.ones(1)))
    gap = Frame(1, 1, Fraction(1, 25), np.zeros((100, 100, 3), np.uint8))
    tracking.apply(gap, Detections(empty, np.zeros(0)))
    assert len(gap.boxes) == 1  # a missed detection is bridged inside a shot
    cut = Frame(2, 2, Fraction(1, 25), np.zeros((100, 100, 3), np.uint8), shot=1)
    tracking.apply(cut, Detections(empty, np.zeros(0)))
    assert len(cut.boxes) == 0


def test_a_fade_through_black_is_a_transition_not_a_pasting_source():
    a, b = pan(6, 30), pan(7, 20)
    fade = [(a[20 + i] * (1 - (i + 1) / 9)).astype(np.uint8) for i in range(8)]  # frames 20-27 fade out
    stage, frames = detect(a[:20] + fade + b)  # b cuts in at frame 28
    assert len(stage.report.transitions) == 1
    first, last = stage.report.transitions[0]
    assert 18 <= first <= 21 and 25 <= last <= 28
    assert frames[-1].shot > frames[24].shot > frames[0].shot and frames[24].mixed


def test_masks_are_not_carried_by_flow_across_a_cut():
    from vidinpaint.segment import SegmentStage

    class Counting:
        backend = "counting"
        calls = 0

        def segment(self, rgb, boxes, ids=None):
            Counting.calls += 1
            return [np.ones(rgb.shape[:2], bool) for _ in boxes]

    box = np.array([[10, 10, 40, 80]], np.int32)
    frames = [Frame(i, i, Fraction(1, 25), np.zeros((100, 100, 3), np.uint8), boxes=box, ids=np.array([1]),
                    shot=int(i >= 3)) for i in range(1, 6)]
    list(SegmentStage(Counting(), every=10, flow=DisFlow(100))(frames))
    assert Counting.calls == 2  # the first frame, and again on the cut (frame 3), not in between
