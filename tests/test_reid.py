"""A walker who passes behind a pillar for longer than the gap bridge keeps their id (re-identified
by colour and motion); someone else coming out where they would is not given it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import run_cli
from vidinpaint.detect.reid import Reidentifier
from vidinpaint.synthetic import background, person_mask, write_clip

W, H, N = 192, 144, 40
PILLAR = slice(76, 136)  # hides the walker fully on frames 17-28, longer than detect.max_gap


def _clip(path, colour_after):
    bg = background(W, H, 5)
    frames = []
    for i in range(N):
        rgb = bg.copy()
        cx = 16 + 4 * i
        rgb[person_mask(W, H, cx, 130, 50)] = (210, 50, 40) if cx < 106 else colour_after
        rgb[:, PILLAR] = (120, 120, 125)
        frames.append(rgb)
    write_clip(path, frames, fps=25)


@pytest.mark.parametrize("colour_after, reid, same", [
    ((210, 50, 40), "50", True),  # the same walker comes out: same id
    ((210, 50, 40), "0", False),  # without re-identification the id changes
    ((40, 60, 210), "50", False),  # someone else comes out where the walker would: a new id
])
def test_an_occluded_walker_keeps_their_id(tmp_path, colour_after, reid, same):
    path = tmp_path / "pillar.mp4"
    _clip(path, colour_after)
    out = tmp_path / "t.json"
    result = run_cli("tracks", str(path), "-o", str(out), "--set", "detect.backend=motion", "--set", "detect.window=12",
                     "--set", "detect.stride=3", "--set", "shots.backend=off", "--set", f"detect.reid={reid}")
    assert result.returncode == 0, result.stderr
    tracks = json.loads(out.read_text())["tracks"]
    before = next(t["id"] for t in tracks if "5" in t["boxes"])
    after = next(t["id"] for t in tracks if "35" in t["boxes"])
    assert (before == after) == same, tracks


def test_two_newcomers_never_take_the_same_id():
    rgb = np.zeros((60, 80, 3), np.uint8)
    rgb[:, :40] = (200, 30, 30)
    reid = Reidentifier(10)
    assert reid.update(rgb, np.array([[10, 10, 20, 40]]), np.array([1]), 0).tolist() == [1]
    both = reid.update(rgb, np.array([[11, 10, 21, 40], [12, 11, 22, 41]]), np.array([2, 3]), 3).tolist()
    assert sorted(both) in ([1, 3], [1, 2])  # one takes id 1 back, the other keeps its own
