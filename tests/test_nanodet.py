"""NanoDet decoding on constructed outputs: cell centres, distributions, classes, coordinates."""

import numpy as np
import torch

from vidinpaint.detect.nanodet import BINS, SIZE, decode


def level(stride, n_classes=80):
    side = SIZE // stride
    return stride, torch.zeros(side * side, n_classes), torch.full((side * side, 4 * BINS), -20.0)


def put(lvl, row, col, cls, score, dists):
    stride, scores, boxes = lvl
    cell = row * (SIZE // stride) + col
    scores[cell, cls] = score
    for side, d in enumerate(dists):
        boxes[cell, side * BINS + d] = 20.0  # a sharp distribution at bin d


def test_cells_of_a_wider_than_tall_input_decode_row_by_row():
    grid = (640, 416)  # a frame at its own resolution, padded: 80x52 cells at stride 8
    lvl = (8, torch.zeros(80 * 52, 80), torch.full((80 * 52, 4 * BINS), -20.0))
    put_at = 10 * 80 + 70  # row 10, column 70
    lvl[1][put_at, 0] = 0.9
    for side, d in enumerate((2, 3, 2, 5)):
        lvl[2][put_at, side * BINS + d] = 20.0
    boxes, _, _ = decode([lvl], [0], 0.4, 0.5, 630, 400, grid=grid, scale=(1.0, 1.0))
    cx, cy = (70 + 0.5) * 8, (10 + 0.5) * 8
    np.testing.assert_allclose(boxes[0], [cx - 16, cy - 24, min(cx + 16, 630), cy + 40], atol=1e-3)


def test_a_cell_decodes_to_its_box_in_frame_coordinates():
    lvl = level(8)
    put(lvl, row=10, col=20, cls=0, score=0.9, dists=(2, 3, 2, 5))
    boxes, scores, classes = decode([lvl], [0], 0.4, 0.5, width=832, height=416)
    cx, cy = (20 + 0.5) * 8, (10 + 0.5) * 8
    expected = np.array([cx - 16, cy - 24, cx + 16, cy + 40]) * [2, 1, 2, 1]  # x scaled 416 -> 832
    np.testing.assert_allclose(boxes[0], expected, atol=1e-3)
    assert scores.tolist() == [np.float32(0.9)] and classes.tolist() == [0]


def test_other_classes_and_low_scores_are_dropped_and_boxes_clamped():
    lvl = level(32)
    put(lvl, 0, 0, cls=2, score=0.95, dists=(1, 1, 1, 1))   # a car
    put(lvl, 5, 5, cls=0, score=0.3, dists=(1, 1, 1, 1))    # a weak person
    put(lvl, 12, 12, cls=0, score=0.8, dists=(10, 10, 10, 10))  # a person past the corner
    boxes, _, classes = decode([lvl], [0], 0.4, 0.5, 416, 416)
    assert classes.tolist() == [0] and boxes[0, 2] == 416 and boxes[0, 3] == 416
    boxes, _, classes = decode([lvl], [0, 2], 0.4, 0.5, 416, 416)
    assert sorted(classes.tolist()) == [0, 2]


def test_duplicates_are_suppressed():
    lvl = level(16)
    put(lvl, 4, 4, 0, 0.9, (3, 3, 3, 3))
    put(lvl, 4, 5, 0, 0.8, (4, 3, 2, 3))  # same object, one cell over
    boxes, scores, _ = decode([lvl], [0], 0.4, 0.5, 416, 416)
    assert len(boxes) == 1 and np.isclose(scores[0], 0.9)


def test_precision_auto_is_bf16_on_the_cpu_only_where_asked_and_native(monkeypatch):
    from vidinpaint import devices

    for native in (True, False):
        monkeypatch.setattr(devices, "native_bf16", lambda: native)
        assert devices.autocast_dtype("auto", "cpu", auto=("cpu",)) == (torch.bfloat16 if native else None)
        assert devices.autocast_dtype("auto", "cpu") is None  # a network not measured in bf16 stays fp32
        assert devices.autocast_dtype("auto", "cuda", auto=("cpu",)) is None
        assert devices.autocast_dtype("fp32", "cpu", auto=("cpu",)) is None
        assert devices.autocast_dtype("bf16", "cpu") == torch.bfloat16


def test_bf16_finds_the_same_people_as_fp32_on_the_sample():
    import pytest

    from vidinpaint.detect.nanodet import NanoDet
    from vidinpaint.video import VideoReader
    from vidinpaint.weights import available, locate

    if not available("nanodet"):
        pytest.skip("NanoDet model not fetched (make test fetches it)")
    frames = [f.rgb for f, _ in zip(VideoReader("samples/vtest.mp4"), range(3))]
    full, half = (NanoDet(locate("nanodet"), [0], 0.3, 0.5, precision=p) for p in ("fp32", "bf16"))
    assert "cpu bf16" in half.backend and "cpu fp32" in full.backend
    moved = 0.0
    for rgb in frames:
        boxes, scores, _ = full.detect(rgb)
        other = half.detect(rgb)[0]
        moved += np.abs(other[:len(boxes)] - boxes[:len(other)]).sum()
        sure = boxes[scores >= 0.4]  # people near the threshold may fall either side of it
        assert len(sure) >= 3
        for box in sure:  # each has a bf16 box within 2 px on every side
            assert np.abs(other - box).max(axis=1).min() <= 2, box
    assert moved > 0  # bf16 did run: not one box is bit for bit the same


def test_native_resolution_is_the_resized_pass_at_416_and_takes_any_size():
    import pytest

    from vidinpaint.detect.nanodet import NanoDet
    from vidinpaint.video import VideoReader
    from vidinpaint.weights import available, locate

    if not available("nanodet"):
        pytest.skip("NanoDet model not fetched (make test fetches it)")
    rgb = next(iter(VideoReader("samples/vtest.mp4"))).rgb
    detector = NanoDet(locate("nanodet"), [0], 0.3, 0.5, precision="fp32")
    crop = np.ascontiguousarray(rgb[100:516, 200:616])  # the network's own size: nothing resized or padded
    for expected, got in zip(detector.detect(crop), detector.detect_native(crop)):
        np.testing.assert_allclose(got, expected, atol=1e-3)
    outputs = detector.net(torch.zeros(1, 3, 576, 768))  # the feature pyramid's resizes follow the input
    assert sorted(t.shape[1] for t in outputs.values()) == [432, 432, 1728, 1728, 6912, 6912]
    odd = np.ascontiguousarray(rgb[:301, :517])  # padded to 320x544
    boxes, scores, _ = detector.detect_native(odd)
    assert len(boxes) >= 2 and boxes[:, [0, 2]].max() <= 517 and boxes[:, [1, 3]].max() <= 301


def test_the_whole_frame_keeps_its_shape():
    """16:9 footage is shrunk to 416 px on its longer side, not squeezed into 416x416 (people came
    out 1.8 times too slim and NanoDet doubted them, docs/BENCHMARKS.md), and the boxes come back
    in frame pixels."""
    import pytest

    from vidinpaint.detect.nanodet import NanoDet
    from vidinpaint.images import fit_side
    from vidinpaint.video import VideoReader
    from vidinpaint.weights import available, locate

    if not available("nanodet"):
        pytest.skip("NanoDet model not fetched (make test fetches it)")
    wide = np.ascontiguousarray(next(iter(VideoReader("samples/vtest.mp4"))).rgb[150:474])  # 768x324
    assert fit_side(wide, 416).shape == (176, 416, 3)
    detector = NanoDet(locate("nanodet"), [0], 0.3, 0.5, precision="fp32")
    boxes, scores, _ = detector.detect(wide)
    small, small_scores, _ = detector.detect_native(fit_side(wide, 416))
    assert len(boxes) >= 2
    np.testing.assert_allclose(boxes, small * np.tile([768 / 416, 324 / 176], 2), atol=0.01)  # each axis by its own scale
    np.testing.assert_allclose(scores, small_scores, atol=1e-6)
