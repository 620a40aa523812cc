"""Prompted objects are followed forwards and backwards (seeking in blocks) within their shot only."""

from __future__ import annotations

import numpy as np
import pytest

from vidinpaint import prompts
from vidinpaint.config import SelectConfig
from vidinpaint.errors import ConfigError
from vidinpaint.prompts import PROMPT_BASE, follow_prompts, parse_prompts
from vidinpaint.segment import GrabCutSegmenter
from vidinpaint.synthetic import background, write_clip
from vidinpaint.video import VideoReader

W, H, N, CUT = 128, 96, 30, 10


def square(i: int) -> tuple[int, int, int, int]:
    x = 20 + 3 * i - 3 * CUT
    return x, 30, x + 18, 52


def test_a_box_is_followed_both_ways_to_its_shot_start_and_no_further(tmp_path, monkeypatch):
    monkeypatch.setattr(prompts, "BLOCK", 4)  # several seeks backwards
    first, second = background(W, H, 1), background(W, H, 2)
    frames = []
    for i in range(N):
        rgb = (first if i < CUT else second).copy()
        x0, y0, x1, y1 = square(i)
        rgb[y0:y1, x0:x1] = (250, 230, 40)
        frames.append(rgb)
    path = tmp_path / "cut.mp4"
    write_clip(path, frames, fps=25)
    decoded = list(VideoReader(path))
    for frame in decoded:
        frame.shot = int(frame.index >= CUT)  # the shot stage's job, tested elsewhere
    given = parse_prompts(SelectConfig(boxes="{},{},{},{}@25".format(*square(25))))
    boxes = follow_prompts(decoded, given, GrabCutSegmenter(), GrabCutSegmenter(margin=2), path)
    found = boxes[PROMPT_BASE + 1]
    assert sorted(found) == list(range(CUT, N))  # back to the cut, forward to the end, not across
    for i, box in found.items():
        assert np.abs(np.array(box) - square(i)).max() <= 2, (i, box)


@pytest.mark.parametrize("box", [(-6, -5, 30, 20), (W - 20, H - 15, W + 6, H + 5)])
def test_a_box_past_any_edge_is_cut_there(tmp_path, box):
    """Past the top or left it was refused ("outside the frame"), past the bottom or right cut."""
    rgb = background(W, H, 3)
    x0, y0, x1, y1 = max(box[0], 0), max(box[1], 0), min(box[2], W), min(box[3], H)
    rgb[y0 + 2:y1 - 2, x0 + 2:x1 - 2] = (250, 230, 40)
    path = tmp_path / "still.mp4"
    write_clip(path, [rgb] * 3, fps=25)
    given = parse_prompts(SelectConfig(boxes="{},{},{},{}@1".format(*box)))
    found = follow_prompts(list(VideoReader(path)), given, GrabCutSegmenter(), GrabCutSegmenter(margin=2), path)
    for got in found[PROMPT_BASE + 1].values():
        assert abs(got[0] - x0) <= 4 and abs(got[1] - y0) <= 4 and abs(got[2] - x1) <= 4 and abs(got[3] - y1) <= 4
    with pytest.raises(ConfigError, match=f"lies outside the {W}x{H} frame"):
        follow_prompts(list(VideoReader(path)), parse_prompts(SelectConfig(boxes="-9,0,-1,9@1")),
                       GrabCutSegmenter(), GrabCutSegmenter(margin=2), path)


def test_a_point_that_cuts_out_a_speck_is_warned_about(tmp_path):
    """A point on a walker's edge gave a 1 px object, followed on one frame, with no word."""
    from vidinpaint.errors import VidinpaintWarning

    rgb = background(W, H, 4)
    rgb[40:43, 60:63] = (255, 0, 255)
    path = tmp_path / "speck.mp4"
    write_clip(path, [rgb] * 3, fps=25, pix_fmt="yuv444p")
    with pytest.warns(VidinpaintWarning, match=r"points 61,41@1: the object there is only \d+ px"):
        follow_prompts(list(VideoReader(path)), parse_prompts(SelectConfig(points="61,41@1")),
                       GrabCutSegmenter(), GrabCutSegmenter(margin=2), path)


@pytest.mark.parametrize("config, message", [
    (SelectConfig(points="1,2@x"), "select.points: '1,2@x' must look like"),
    (SelectConfig(boxes="5,5,2,9@0"), "x0 < x1"),
    (SelectConfig(points="1,2,3@0"), "must be 2 numbers"),
    (SelectConfig(points="inf,5@5"), "must be 2 numbers"),  # OverflowError, a traceback before
    (SelectConfig(boxes="1e999,0,5,5@0"), "must be 4 numbers"),
    (SelectConfig(points="100,100@\u00b2"), "must look like"),  # "²".isdigit(), but int("²") fails
])
def test_malformed_prompts_name_the_key(config, message):
    with pytest.raises(ConfigError, match=message):
        parse_prompts(config)


def test_prompt_ids_are_points_then_boxes_in_order():
    given = parse_prompts(SelectConfig(points="1,2@0;3,4@5", boxes="0,0,4,4@1"))
    assert [(p.id, p.frame) for p in given] == [(PROMPT_BASE + 1, 0), (PROMPT_BASE + 2, 5), (PROMPT_BASE + 3, 1)]
    assert given[2].box == (0, 0, 4, 4) and given[1].point == (3, 4)


def test_a_point_goes_to_sam_as_a_point_prompt():
    pytest.importorskip("segment_anything")
    from test_segment import tiny_sam
    from vidinpaint.prompts import Prompt, first_mask
    from vidinpaint.segment.sam import SamSegmenter

    seg = SamSegmenter(None, "vit_b", "cpu", model=tiny_sam())
    seen = []
    seg.predictor.model.prompt_encoder.register_forward_hook(
        lambda module, args, kwargs, output: seen.append(kwargs), with_kwargs=True)
    rgb = background(320, 240)
    mask = first_mask(rgb, Prompt(PROMPT_BASE + 1, 0, "p", point=(100, 60)), seg, GrabCutSegmenter())
    assert mask.shape == (240, 320) and mask.dtype == bool
    points, boxes = seen[0]["points"], seen[0]["boxes"]
    assert points is not None and boxes is None  # one positive point, no box
    assert points[1].tolist() == [[1]]
