"""Optical flow tools and flow-guided filling on synthetic pairs with known motion."""

from __future__ import annotations

from fractions import Fraction

import cv2
import numpy as np
import pytest

from vidinpaint.frames import Frame
from vidinpaint.temporal.fill import FlowFill, sample_valid
from vidinpaint.temporal.flow import DisFlow, camera_motion, complete, consistent, warp
from vidinpaint.temporal.pairs import FlowAhead


def constant_flow(h, w, dx, dy):
    flow = np.zeros((h, w, 2), np.float32)
    flow[..., 0], flow[..., 1] = dx, dy
    return flow


def test_warping_a_mask_by_a_known_translation_lands_where_it_should():
    mask = np.zeros((60, 80), np.uint8)
    mask[20:30, 10:25] = 1
    # frame b = frame a shifted right by 7, down by 3: for pixels of b, a is at (-7, -3)
    moved = warp(mask, constant_flow(60, 80, -7, -3), interpolation=0)
    assert moved[23:33, 17:32].all() and moved.sum() == mask.sum()


def test_warping_a_window_gives_that_window_of_the_whole_warp():
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    flow = rng.normal(0, 4, (60, 80, 2)).astype(np.float32)
    whole = warp(image, flow)
    assert np.array_equal(warp(image, flow, window=(10, 5, 47, 33)), whole[5:33, 10:47])


def test_consistency_check_flags_occlusions_and_leaving_pixels():
    h, w = 40, 60
    forward = constant_flow(h, w, 5, 0)
    backward = constant_flow(h, w, -5, 0)
    backward[:, 30:40] = 0  # an occluder in frame b: b's pixels there do not map back
    ok = consistent(forward, backward)
    assert ok[:, :20].all()  # land on x in [5, 25): consistent
    assert not ok[:, 26:34].any()  # land on the occluder
    assert not ok[:, 56:].any()  # leave the frame


def test_completion_gives_the_hole_the_camera_motion():
    h, w = 80, 100
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    flow = np.stack([0.02 * xs + 1.5, -0.01 * ys + 0.5], axis=-1)  # zoom + pan
    hole = np.zeros((h, w), bool)
    hole[30:60, 40:70] = True
    wrong = flow.copy()
    wrong[hole] = (9.0, -4.0)  # flow of the person walking through
    assert camera_motion(wrong, ~hole) is not None
    np.testing.assert_allclose(complete(wrong, hole)[hole], flow[hole], atol=1e-3)


def test_a_hole_gets_the_motion_of_the_background_around_it_where_it_differs_from_the_frames():
    """Depth: the far part of a street (most of the frame) moves 2 px, a near wall 6 px and
    growing towards the camera. The whole frame's motion (the street's) fitted the person on the
    wall 4+ px off; the wall's own motion around the hole fits it."""
    h, w = 120, 200
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    flow = np.stack([np.full((h, w), 2.0, np.float32), np.zeros((h, w), np.float32)], axis=-1)
    near = xs >= 130
    flow[near, 0] = 6.0 + 0.02 * (xs[near] - 130)
    hole = np.zeros((h, w), bool)
    hole[40:80, 155:175] = True
    wrong = flow.copy()
    wrong[hole] = (-3.0, 1.0)  # the person walking
    np.testing.assert_allclose(complete(wrong, hole)[hole], flow[hole], atol=0.05)


def test_sample_valid_never_mixes_hole_colours_in():
    image = np.full((10, 10, 3), 100, np.uint8)
    image[:, 5:] = 250  # the hole's colour
    valid = np.zeros((10, 10), bool)
    valid[:, :5] = True
    ys, xs = np.mgrid[0:10, 0:10].astype(np.float32)
    out, ok = sample_valid(image, valid, xs.ravel() + 0.4, ys.ravel())
    out, ok = out.reshape(10, 10, 3), ok.reshape(10, 10)
    assert (out[ok] == 100).all() and ok[:, :4].all() and not ok[:, 6:].any()


def occluded_clip(frames: int, step: int = 0):
    """A static or panning view of a real photo (scikit-image's CC0 'coffee') with a square
    occluder sliding across."""
    from skimage import data

    scene = np.ascontiguousarray(data.coffee()[100:220, 50:250 + step * frames])
    clip = []
    for t in range(frames):
        bg = scene[:, step * t: step * t + 200].copy()
        hole = np.zeros((120, 200), bool)
        hole[40:80, 20 + 6 * t: 60 + 6 * t] = True
        rgb = bg.copy()
        rgb[hole] = (255, 0, 255)
        clip.append((rgb, hole, bg))
    return clip


@pytest.mark.parametrize("step", [0, 4])
def test_fill_reproduces_the_background_exactly_where_it_is_revealed(step):
    clip = occluded_clip(12, step)

    frames = [Frame(i, i, Fraction(1, 25), rgb, mask=hole) for i, (rgb, hole, _) in enumerate(clip)]
    order = {id(f.rgb): f.index for f in frames}

    class Exact:
        backend = "exact"

        def small(self, a, b):  # a -> b: forward in time moves content left by step
            sign = -1 if order[id(a)] < order[id(b)] else 1
            return constant_flow(120, 200, sign * step, 0)

    fill = FlowFill(Exact(), window=6, flow_margin=0)
    out = list(fill(frames))
    for t, (frame, (_, hole, bg)) in enumerate(zip(out, clip)):
        revealed = hole & ~frame.mask
        assert revealed.sum() > 0.5 * hole.sum(), t
        assert np.array_equal(frame.rgb[revealed], bg[revealed]), t  # copied, exactly
        assert np.array_equal(frame.rgb[~hole], clip[t][0][~hole])  # the rest untouched


class Zero:
    backend = "exact (static)"

    def small(self, a, b):
        return constant_flow(a.shape[0], a.shape[1], 0, 0)


def test_a_still_cameras_noisy_flow_is_no_motion_and_the_carry_does_not_blur():
    """A flow measured on a still scene is off by a few hundredths of a pixel; taken as the
    camera's motion, the carry resampled the hole through it frame after frame and blurred it."""
    h, w = 80, 100
    drift = constant_flow(h, w, 0.04, -0.03)
    assert np.array_equal(camera_motion(drift, np.ones((h, w), bool)), [[1, 0, 0], [0, 1, 0]])
    moved = constant_flow(h, w, 0.3, 0)  # a real, slow pan stays a pan
    np.testing.assert_allclose(camera_motion(moved, np.ones((h, w), bool))[:, 2], [0.3, 0], atol=1e-3)

    clip = occluded_clip(12, 0)
    frames = [Frame(i, i, Fraction(1, 25), rgb, mask=hole) for i, (rgb, hole, _) in enumerate(clip)]

    class Drift:
        backend = "drift"

        def small(self, a, b):
            return constant_flow(a.shape[0], a.shape[1], 0.04, -0.03)

    out = list(FlowFill(Drift(), window=6, flow_margin=0)(frames))
    for t, (frame, (_, hole, bg)) in enumerate(zip(out, clip)):
        revealed = hole & ~frame.mask
        assert revealed.sum() > 0.5 * hole.sum(), t
        # outside the holes the drift is the flow as measured, so a pixel that travelled there is
        # a few hundredths off; the carry through the holes no longer blurs (2.3 levels before)
        assert np.abs(frame.rgb[revealed].astype(int) - bg[revealed]).mean() < 1.0, t


def test_fill_with_dis_on_a_static_scene_matches_the_exact_flow():
    clip = occluded_clip(10, 0)

    def run(flow):
        frames = [Frame(i, i, Fraction(1, 25), rgb.copy(), mask=hole) for i, (rgb, hole, _) in enumerate(clip)]
        return list(FlowFill(flow, window=5)(frames))

    exact, dis = run(Zero()), run(DisFlow(200))
    holes = sum(h.sum() for _, h, _ in clip)
    left_exact = sum(f.mask.sum() for f in exact) / holes
    left_dis = sum(f.mask.sum() for f in dis) / holes
    assert left_exact < 0.6 and left_dis < left_exact + 0.05, (left_exact, left_dis)
    for frame, (_, hole, bg) in zip(dis, clip):
        got = hole & ~frame.mask
        assert np.abs(frame.rgb[got].astype(int) - bg[got].astype(int)).mean() < 2


def test_mask_hysteresis_closes_short_gaps_and_never_lags():
    from vidinpaint.temporal.masks import MaskHysteresis

    pattern = [1, 1, 0, 1, 1, 0, 0, 0, 0, 1]  # a one-frame miss at 2, a real departure at 5
    frames = [Frame(i, i, Fraction(1, 25), np.zeros((2, 2, 3), np.uint8), mask=np.full((2, 2), bool(v)))
              for i, v in enumerate(pattern)]
    out = [int(f.mask[0, 0]) for f in MaskHysteresis(hold=3)(frames)]
    assert out == [1, 1, 1, 1, 1, 0, 0, 0, 0, 1]


def test_raft_plumbing_with_a_random_small_model():
    import torch
    from torchvision.models.optical_flow import raft_small

    from vidinpaint.temporal.raft import RaftFlow

    torch.manual_seed(0)
    flow = RaftFlow(raft_small(weights=None), "cpu", max_side=128)
    a = np.random.default_rng(0).integers(0, 255, (150, 203, 3), dtype=np.uint8)
    out = flow(a, np.roll(a, 3, axis=1))
    assert out.shape == (150, 203, 2) and out.dtype == np.float32 and np.isfinite(out).all()


def test_fill_stage_is_chosen_from_the_config(tmp_path):
    from vidinpaint.backends import build_fill
    from vidinpaint.config import load_config
    from vidinpaint.weights import WeightsError

    assert build_fill(load_config(None, ["fill.backend=off"]), "cpu") is None
    auto = build_fill(load_config(None, ["fill.backend=auto", f"weights_dir={tmp_path}"]), "cpu")
    assert "DIS" in auto.backend and "fallback from RAFT" in auto.backend
    with pytest.raises(WeightsError, match="vidinpaint weights fetch raft_small"):
        build_fill(load_config(None, ["fill.backend=raft", f"weights_dir={tmp_path}"]), "cpu")


def test_flow_read_at_points_matches_the_flow_brought_to_frame_size():
    from vidinpaint.temporal.flow import flow_at, resize_flow

    rng = np.random.default_rng(1)
    small = cv2.GaussianBlur(rng.normal(0, 30, (30, 40, 2)).astype(np.float32), (0, 0), 2)
    full = resize_flow(small, 100, 75)
    ys, xs = np.mgrid[0:75, 0:100]
    dx, dy = flow_at(small, xs.ravel().astype(np.float32), ys.ravel().astype(np.float32), 100, 75)
    # flow_at places its points at 1/32 px of the small flow (cv2.remap's fixed point): up to
    # 1/64 px off, i.e. the flow's steepest change per small pixel / 64, in frame pixels (x 2.5);
    # an alignment off by half a pixel would be 32 times that
    steepest = max(np.abs(np.diff(small, axis=0)).max(), np.abs(np.diff(small, axis=1)).max())
    assert steepest > 4  # a steep field, so that a misalignment shows
    bound = 0.001 + steepest / 64 * 2.5
    np.testing.assert_allclose(dx, full[..., 0].ravel(), atol=bound, rtol=0)
    np.testing.assert_allclose(dy, full[..., 1].ravel(), atol=bound, rtol=0)


def test_dis_prepares_each_picture_once_in_a_stream(monkeypatch):
    """Each picture is the second of one pair and the first of the next, and flows go both ways:
    one grey, downscaled copy per picture serves them all, and gives the flow a fresh one does."""
    from vidinpaint.temporal import flow as flow_module

    pictures = [rgb for rgb, _, _ in occluded_clip(5, 4)]
    made = []
    grey = flow_module._grey
    monkeypatch.setattr(flow_module, "_grey", lambda rgb: made.append(1) or grey(rgb))
    dis = DisFlow(100)
    flows = [(dis.small(a, b), dis.small(b, a)) for a, b in zip(pictures, pictures[1:])]
    assert len(made) == len(pictures)
    again = DisFlow(100)
    np.testing.assert_array_equal(flows[-1][1], again.small(pictures[-1], pictures[-2]))


class Counted(Zero):
    """:class:`Zero`, counting the flows asked of it."""

    backend = "exact (static), counted"

    def __init__(self) -> None:
        self.calls = 0

    def small(self, a, b):
        self.calls += 1
        return super().small(a, b)


def test_frames_far_from_any_hole_cost_no_flow():
    clip = occluded_clip(30, 0)

    frames = [Frame(i, i, Fraction(1, 25), rgb.copy(), mask=hole if i < 3 else None)
              for i, (rgb, hole, _) in enumerate(clip)]
    flow = Counted()
    out = list(FlowFill(flow, window=5)(frames))
    assert len(out) == 30 and all(not f.mask.any() for f in out[3:])
    # holes in frames 0-2 look at most 5 frames ahead; the carry needs flow only next to a mask
    assert 0 < flow.calls <= 2 * (3 + 5), flow.calls  # against 2 x 29 pairs if every pair were made


@pytest.mark.parametrize("eager", [True, False])
def test_the_fill_measures_each_pair_as_its_frames_arrive(eager):
    """The flows into a frame with a hole are needed when that frame is filled (the carry comes
    along them), so they are measured as the frame arrives, while the look-ahead fills and the
    stages upstream still work on later frames. Made on first use, a whole window of them waited
    for the look-ahead to fill and then ran alone, with a core idle (scripts/bench_throughput.py)."""
    rgb = occluded_clip(1)[0][2]

    def hole(t: int) -> np.ndarray:  # frame 0's hole is background from frame 2 on (frame 1 is its neighbour)
        mask = np.zeros((120, 200), bool)
        (mask[40:80, 20:40] if t == 0 else mask[40:80, 140:160]).fill(True)
        return mask

    frames = [Frame(t, t, Fraction(1, 25), rgb.copy(), mask=hole(t)) for t in range(12)]
    flow = Counted()
    fill = FlowFill(flow, window=6)
    fill.eager = eager  # off for a preview, which wants the first frame alone
    first = next(fill(frames))
    assert not first.mask.any()  # filled from frame 2, which on first use needs 2 pairs
    # eager: both flows of the 6 pairs in the look-ahead, before the first frame is out
    assert flow.calls == (2 * 6 if eager else 2 * 2)


def test_the_stage_ahead_makes_the_fills_flows_and_the_fill_is_the_same():
    """FlowAhead (its own thread in the pipeline) makes the pairs the carry will ask for as the
    frames pass it, so the fill only follows them, and its output does not change; a pair the
    carry may not want is still made on first use, once."""
    clip = occluded_clip(8, 4)

    def frames() -> list[Frame]:
        out = [Frame(i, i, Fraction(1, 25), rgb.copy(), mask=hole) for i, (rgb, hole, _) in enumerate(clip)]
        out[5].mask = np.zeros_like(out[5].mask)  # no hole, no boxes: its pair may be asked for by no one
        return out

    flow = Counted()
    alone = list(FlowFill(flow, window=4)(frames()))
    made_alone, flow.calls = flow.calls, 0
    fill = FlowFill(flow, window=4)
    passed = list(FlowAhead(fill.pairs)(frames()))
    assert flow.calls == 2 * 6  # both flows of the 7 pairs but the one ending at frame 5
    out = list(fill(iter(passed)))
    assert flow.calls == made_alone == 2 * 7  # frame 5's pair too, which frame 4's look-ahead asked for
    assert all(f.flows is None for f in out)  # not passed on
    for a, b in zip(alone, out):
        assert np.array_equal(a.mask, b.mask) and np.array_equal(a.rgb, b.rgb)


def test_the_fill_takes_the_backward_flow_the_segment_stage_measured():
    """One flow per frame pair: the segment stage's flow (current -> previous, carrying masks)
    is the fill's backward flow of that pair, so the fill measures only the forward one, and the
    result is the same as measuring both."""
    clip = occluded_clip(10, 4)
    counted = []

    class Counting(DisFlow):
        def small(self, a, b):
            counted.append(1)
            return super().small(a, b)

    def run(shared: bool) -> list[Frame]:
        frames = [Frame(i, i, Fraction(1, 25), rgb.copy(), mask=hole) for i, (rgb, hole, _) in enumerate(clip)]
        if shared:  # as the segment stage leaves them
            for before, frame in zip(frames, frames[1:]):
                frame.flow_back = (DisFlow(480).backend, DisFlow(480).small(frame.rgb, before.rgb))
        counted.clear()
        out = list(FlowFill(Counting(480), window=4)(frames))
        assert all(f.flow_back is None for f in out)  # not passed on: the pairs hold them
        return out

    alone = run(False)
    measured_alone = len(counted)
    shared = run(True)
    assert measured_alone == 2 * 9 and len(counted) == 9  # both flows of 9 pairs, then the forward ones
    for a, b in zip(alone, shared):
        assert np.array_equal(a.rgb, b.rgb) and np.array_equal(a.mask, b.mask)


@pytest.mark.parametrize("stable", [0.0, 0.5, 1.0])
def test_what_no_frame_shows_is_invented_once_and_carried_when_stable(stable):
    clip = occluded_clip(8, 0)
    never = np.zeros((120, 200), bool)  # an object that never moves: no frame shows what is behind it
    never[10:30, 150:180] = True
    rng = np.random.default_rng(0)
    asked = []

    def noise(rgb, mask):  # a spatial inpainter that invents something different every time
        asked.append(int(mask.sum()))
        out = rgb.copy()
        out[mask] = rng.integers(0, 256, (int(mask.sum()), 3), dtype=np.uint8)
        return out

    frames = [Frame(i, i, Fraction(1, 25), rgb.copy(), mask=hole | never) for i, (rgb, hole, _) in enumerate(clip)]
    out = list(FlowFill(Zero(), window=3, flow_margin=0, spatial=noise, stable=stable)(frames))
    assert not any(f.mask.any() for f in out)  # the fill inpainted what no frame shows itself
    behind = [f.rgb[never].astype(int) for f in out]
    change = [np.abs(b - a).mean() for a, b in zip(behind, behind[1:])]
    if stable == 1.0:
        assert max(change) == 0 and asked[0] >= never.sum() and max(asked[1:]) < never.sum()
    elif stable == 0.5:
        assert 0 < max(change) < 0.75 * 85  # halved: uniform noise changes by 85 levels on average
    else:
        assert min(change) > 0.75 * 85
    # real background, once a frame shows it, wins over anything invented: frame 0 showed x >= 68
    assert np.array_equal(out[5].rgb[40:80, 70:90], clip[5][2][40:80, 70:90])


@pytest.mark.parametrize("step", [0, 4])
def test_fill_at_a_reduced_working_resolution_copies_the_background(step):
    """Flows made, completed and checked at half the frame size (the flow's ``max_side``), an odd one."""
    clip = [(rgb[:119, :199], hole[:119, :199], bg[:119, :199]) for rgb, hole, bg in occluded_clip(12, step)]
    frames = [Frame(i, i, Fraction(1, 25), rgb.copy(), mask=hole) for i, (rgb, hole, _) in enumerate(clip)]
    out = list(FlowFill(DisFlow(100), window=6)(frames))
    errors, revealed_share = [], []
    for frame, (rgb, hole, bg) in zip(out, clip):
        revealed = hole & ~frame.mask
        revealed_share.append(revealed.sum() / hole.sum())
        errors.append(np.abs(frame.rgb[revealed].astype(int) - bg[revealed]).mean())
        assert np.array_equal(frame.rgb[~hole], rgb[~hole])
    assert np.mean(revealed_share) > 0.5 and np.mean(errors) < 4, (revealed_share, errors)


def test_a_frame_without_a_hole_keeps_its_own_picture():
    """The fill writes only where a frame has a hole; a frame without one keeps its picture, the
    decoder's own array, which tells the encoder that nothing changed, and no copy of it is held
    until the frame is encoded. Frames with a hole get a new picture; their own is never written."""
    clip = occluded_clip(8)
    frames = [Frame(i, i, Fraction(1, 25), rgb.copy(), mask=hole if i % 3 else None)
              for i, (rgb, hole, _) in enumerate(clip)]
    pictures = [f.rgb for f in frames]
    for picture in pictures:
        picture.flags.writeable = False  # as decoded
    out = list(FlowFill(DisFlow(100), window=4)(frames))
    assert [f.rgb is p for f, p in zip(out, pictures)] == [i % 3 == 0 for i in range(8)]
    assert all(np.array_equal(p, rgb) for p, (rgb, _, _) in zip(pictures, clip))


def test_nothing_invented_is_carried_across_a_cut():
    clip = occluded_clip(8, 0)
    never = np.zeros((120, 200), bool)
    never[10:30, 150:180] = True
    asked = []

    def noise(rgb, mask):
        asked.append(int(mask.sum()))
        out = rgb.copy()
        out[mask] = np.random.default_rng(len(asked)).integers(0, 256, (int(mask.sum()), 3), dtype=np.uint8)
        return out

    frames = [Frame(i, i, Fraction(1, 25), rgb.copy(), mask=hole | never, shot=int(i >= 4))
              for i, (rgb, hole, _) in enumerate(clip)]
    out = list(FlowFill(Zero(), window=3, flow_margin=0, spatial=noise, stable=1.0)(frames))
    behind = [f.rgb[never] for f in out]
    assert all(np.array_equal(behind[0], b) for b in behind[1:4])  # carried within the first shot
    assert not np.array_equal(behind[3], behind[4])  # invented afresh after the cut
    assert all(np.array_equal(behind[4], b) for b in behind[5:])
