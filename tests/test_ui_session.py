"""The review page's state without a browser: the selection becomes the `select` config section."""

from __future__ import annotations

import json
import time

import pytest

from vidinpaint.config import load_config
from vidinpaint.errors import InputError
from vidinpaint.synthetic import walkers, write_clip
from vidinpaint.ui.session import Review

MOTION = ["detect.backend=motion", "detect.window=12", "detect.stride=2", "segment.backend=box"]


@pytest.fixture
def review(tmp_path):
    clip = tmp_path / "walk.mp4"
    write_clip(clip, (rgb for rgb, _, _ in walkers(160, 120, 24, people=2, seed=1)), fps=24)
    work = tmp_path / "work"
    work.mkdir()
    session = Review(load_config(None, MOTION), work)
    session.open(clip)
    return session


def _listed(review: Review) -> None:
    deadline = time.monotonic() + 120
    while review.listing.state == "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert review.listing.state == "done", review.listing.error


def test_prompts_become_points_and_boxes(review):
    review.add_prompt(3, [10, 20])
    review.add_prompt(5, [50, 60, 30, 40])  # dragged up and left: stored as x0 < x1, y0 < y1
    assert review.select() == {"points": "10,20@3", "boxes": "30,40,50,60@5"}
    assert "--point 10,20@3 --box 30,40,50,60@5" in review.command()
    review.clear_prompts()
    assert review.select() == {}


@pytest.mark.parametrize("frame, coords, message", [
    (30, [10, 10], "outside the clip"),
    (0, [160, 10], "outside the 160x120 frame"),
    (0, [1, 2, 3], "a point x,y or a box"),
])
def test_bad_prompts_are_errors(review, frame, coords, message):
    with pytest.raises(InputError, match=message):
        review.add_prompt(frame, coords)


def test_an_image_is_not_for_the_page(review, tmp_path):
    still = tmp_path / "still.png"
    still.write_bytes(b"")
    with pytest.raises(InputError, match="takes a video"):
        review.open(still)


def test_kept_tracks_become_a_tracks_file_that_clean_reads(review):
    from vidinpaint.selection import read_tracks_file

    _listed(review)
    ids = [t.id for t in review.tracks]
    assert ids, "the motion detector found no track in the walkers clip"
    assert review.select() == {}  # the default: every track goes
    assert review.toggle(ids[0]) is False
    select = review.select()
    document = json.loads(open(select["tracks_file"]).read())
    assert {e["id"]: e["remove"] for e in document["tracks"]} == {i: i != ids[0] for i in ids}
    assert read_tracks_file(select["tracks_file"]) == (frozenset(ids[1:]), frozenset(ids[:1]))  # (remove, keep)
    assert review.run_config().select.tracks_file == select["tracks_file"]
    assert review.toggle(ids[0]) is True
    with pytest.raises(InputError, match="no track"):
        review.toggle(max(ids) + 100)


def test_opening_another_clip_stops_the_old_listing(review, tmp_path):
    long = tmp_path / "long.mp4"
    write_clip(long, (rgb for rgb, _, _ in walkers(320, 240, 240, people=3, seed=2)), fps=24)
    review.open(long)
    old = review.listing
    review.open(review.video.path.with_name("walk.mp4"))
    deadline = time.monotonic() + 120
    while old.state == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert old.state == "stopped" and old.done < old.total
    _listed(review)
    assert review.video.path.name == "walk.mp4" and review.tracks
