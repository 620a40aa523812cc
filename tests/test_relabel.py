"""An excerpt's track ids renamed to the whole clip's, so the preview selects the same objects."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from vidinpaint.frames import Frame
from vidinpaint.relabel import Relabel


def _frame(index: int, boxes: list[list[int]], ids: list[int]) -> Frame:
    return Frame(index, index, Fraction(1, 25), np.zeros((100, 200, 3), np.uint8),
                 boxes=np.array(boxes, np.int32).reshape(-1, 4), ids=np.array(ids, np.int64))


def test_excerpt_ids_become_the_whole_clips():
    clip = {10: {7: (0, 0, 40, 80), 9: (100, 10, 140, 90)},
            11: {7: (2, 0, 42, 80), 9: (102, 10, 142, 90)},
            12: {9: (104, 10, 144, 90)}}
    stage = Relabel(clip)
    frames = [_frame(10, [[101, 11, 141, 91], [1, 0, 41, 80]], [1, 2]),
              _frame(11, [[3, 0, 43, 80], [103, 10, 143, 90]], [2, 1]),
              _frame(12, [[105, 10, 145, 90], [150, 0, 190, 50]], [1, 3])]
    out = [f.ids.tolist() for f in stage(frames)]
    assert out[0] == [9, 7]
    assert out[1] == [7, 9]
    assert out[2][0] == 9
    assert out[2][1] > 9  # unknown to the whole clip: an id no whole-clip track has


def test_a_track_first_seen_unmatched_is_matched_later():
    clip = {5: {}, 6: {4: (10, 10, 50, 50)}}
    stage = Relabel(clip)
    frames = [_frame(5, [[10, 10, 50, 50]], [1]), _frame(6, [[11, 10, 51, 50]], [1])]
    out = [f.ids.tolist() for f in stage(frames)]
    assert out[0][0] not in (4,) and out[0][0] > 4
    assert out[1] == [4]


def test_objects_given_by_hand_keep_their_ids():
    from vidinpaint.prompts import PROMPT_BASE

    stage = Relabel({3: {7: (10, 10, 50, 50)}})
    out = next(iter(stage([_frame(3, [[10, 10, 50, 50]], [PROMPT_BASE + 1])])))
    assert out.ids.tolist() == [PROMPT_BASE + 1]


def test_what_the_whole_clip_left_alone_as_still_is_dropped_from_the_excerpt():
    clip = {3: {7: (100, 10, 140, 90)}}
    left = {3: {5: (10, 60, 30, 85)}}  # a cone the run left alone (detect.still): too few frames here to judge
    stage = Relabel(clip, left=left)
    out = next(iter(stage([_frame(3, [[11, 60, 31, 86], [101, 10, 141, 90]], [1, 2])])))
    assert out.ids.tolist() == [7]
    assert out.boxes.tolist() == [[101, 10, 141, 90]]
    # a person passing the cone: the whole clip's track overlaps the box more, so it stays
    clip = {3: {7: (8, 40, 34, 88)}}
    out = next(iter(Relabel(clip, left=left)([_frame(3, [[9, 40, 35, 88]], [1])])))
    assert out.ids.tolist() == [7]


def test_an_object_given_by_hand_over_one_left_alone_is_kept():
    from vidinpaint.prompts import PROMPT_BASE

    stage = Relabel({3: {}}, left={3: {5: (10, 60, 30, 85)}})
    out = next(iter(stage([_frame(3, [[10, 60, 30, 85]], [PROMPT_BASE + 1])])))
    assert out.ids.tolist() == [PROMPT_BASE + 1]  # the user clicked the cone: it goes, as in the run
