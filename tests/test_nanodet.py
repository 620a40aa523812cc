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
