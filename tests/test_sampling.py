"""Frames sampled evenly from a clip (``adapt``, training): the count asked for, spread over the
whole clip, in bounded memory. A step of the declared length // the count gave up to twice the
frames asked for, and a clip that declares no length gave every frame, all held until the end."""

from __future__ import annotations

import weakref

import numpy as np
import pytest

import corpus
from vidinpaint.adapt import clip_samples
from vidinpaint.config import load_config
from vidinpaint.inpaint.train import Samples
from vidinpaint.sampling import EvenSample
from vidinpaint.video import VideoReader


class _Item:
    def __init__(self, index: int) -> None:
        self.index = index


def _sampled(count: int, length: int, total: int | None) -> tuple[list[int], int]:
    """The indices :class:`EvenSample` gives for a stream of ``length`` frames, and the most
    items it held at once."""
    sample, alive, most = EvenSample(count, total), weakref.WeakSet(), 0
    for i in range(length):
        item = _Item(i)
        alive.add(item)
        sample.add(i, item)
        del item
        most = max(most, len(alive))
    return [x.index for x in sample.items()], most


@pytest.mark.parametrize("length,total", [(10_000, None), (95, 95), (1000, 100), (1000, 1000), (100, 250)])
def test_the_count_asked_for_spread_over_the_clip_in_bounded_memory(length, total):
    picks, most = _sampled(48, length, total)
    assert len(picks) == 48 and picks == sorted(set(picks))
    gap = length / 47
    assert picks[0] < gap and picks[-1] > length - 1 - 2 * gap  # from start to end ...
    assert np.diff(picks).max() <= 2.5 * gap  # ... without a hole in the middle
    assert most <= 2 * 48 + 2  # whatever the length (+1: the item being offered)


def test_fewer_frames_than_asked_gives_them_all():
    assert _sampled(48, 5, None)[0] == [0, 1, 2, 3, 4]
    assert _sampled(48, 5, 5)[0] == [0, 1, 2, 3, 4]


def test_a_clip_that_declares_no_length_gives_the_count_asked_for(tmp_path):
    clip = corpus.raw_h264(tmp_path / "raw.h264", 60)
    assert VideoReader(clip).info.estimated_frames is None  # what the test is about
    samples, _ = clip_samples(clip, load_config(None, ["detect.backend=motion"]), 4, None, "cpu")
    assert len(samples.images) == 4 and len(samples.excluded) == 4


def test_training_videos_give_the_count_asked_for(walker_clip):
    clip, _, _ = walker_clip  # 48 frames: a step of 48 // 20 gave 24
    assert len(Samples.from_paths([clip], frames_per_video=20).images) == 20
