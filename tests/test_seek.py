"""Frames by seeking (the review page's scrubber) and the one-frame preview with the real stages."""

from __future__ import annotations

import av
import cv2
import numpy as np
import pytest

from vidinpaint.config import load_config
from vidinpaint.errors import InputError, VidinpaintWarning
from vidinpaint.pipeline import clean_excerpt
from vidinpaint.synthetic import walkers
from vidinpaint.video import VideoReader
from vidinpaint.video.seek import FrameSeeker


@pytest.fixture
def keyed_clip(tmp_path):
    """60 frames with B-frames and a key frame every 12, so seeks land before the frame and decode on."""
    scene = list(walkers(96, 64, 60, people=1, seed=4))
    path = tmp_path / "keyed.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25, options={"g": "12", "bf": "2", "keyint_min": "12"})
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        for i, (rgb, _, _) in enumerate(scene):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    with av.open(str(path)) as check:
        assert sum(p.is_keyframe for p in check.demux(video=0) if p.size) == 5
    return path, scene


MOTION = ["detect.backend=motion", "detect.window=12", "detect.stride=2", "segment.backend=box"]


def test_seeking_gives_the_frames_the_reader_decodes(keyed_clip):
    path, _ = keyed_clip
    decoded = {f.index: (f.pts, f.rgb) for f in VideoReader(path)}
    video = FrameSeeker(path)
    assert len(video) == len(decoded) == 60
    for index in (0, 1, 11, 12, 13, 37, 59, 30, 5):  # out of order too: every call seeks afresh
        frame = video.frame(index)
        assert frame.index == index
        assert frame.pts == decoded[index][0]
        assert np.array_equal(frame.rgb, decoded[index][1])
    run = list(video.frames(40, 46))
    assert [f.index for f in run] == list(range(40, 46))
    assert all(np.array_equal(f.rgb, decoded[f.index][1]) for f in run)


def test_seeking_clamps_to_the_clip(keyed_clip):
    video = FrameSeeker(keyed_clip[0])
    assert video.frame(500).index == 59
    assert video.frame(-3).index == 0
    assert [f.index for f in video.frames(57, 90)] == [57, 58, 59]


def test_not_a_video_is_the_clis_error(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 100)
    with pytest.raises(InputError, match="not a readable video"):
        FrameSeeker(junk)


def test_excerpt_runs_the_real_stages_on_one_frame(keyed_clip):
    path, scene = keyed_clip
    config = load_config(None, MOTION)
    excerpt = clean_excerpt(FrameSeeker(path), 30, config, context=6)
    truth = scene[30][1]
    assert excerpt.index == 30
    assert np.array_equal(excerpt.before, FrameSeeker(path).frame(30).rgb)
    assert dict(excerpt.backends)["detect"].startswith("motion")
    changed = np.abs(excerpt.before.astype(int) - excerpt.after.astype(int)).max(axis=2) > 12
    # the walker is replaced; nothing changes beyond its box, margin and dilation (8 + 6 px)
    near = cv2.dilate(truth.astype(np.uint8), np.ones((33, 33), np.uint8)).astype(bool)
    assert changed[truth].mean() > 0.5
    assert changed[~near].mean() < 0.01
    # the background shows through where the walker was
    background = scene[30][2]
    err_after = np.abs(excerpt.after.astype(int) - background)[truth].mean()
    err_before = np.abs(excerpt.before.astype(int) - background)[truth].mean()
    assert err_after < err_before / 2


def test_excerpt_outside_the_clip_is_an_error(keyed_clip):
    with pytest.raises(InputError, match="outside the clip"):
        clean_excerpt(FrameSeeker(keyed_clip[0]), 80, load_config(None, MOTION), context=2)


def test_a_counted_frame_that_does_not_decode_is_a_one_line_error(keyed_clip, monkeypatch):
    """opencv-doc's box.mp4 counts 456 frames and decodes 455: the page asked for the last and got
    a StopIteration traceback (a bare server error)."""
    video = FrameSeeker(keyed_clip[0])
    last = len(video) - 1
    decode = video._decode
    monkeypatch.setattr(video, "_decode", lambda start, stop, seek=True: (
        (vf, i, pts) for vf, i, pts in decode(start, stop, seek) if i != last))
    assert video.frame(last - 1).index == last - 1
    with pytest.raises(InputError, match=f"frame {last} does not decode \\(the file counts {last + 1} frames\\)$"):
        video.frame(last)


def test_a_file_whose_pictures_carry_decoding_times_is_seen_as_the_reader_sees_it(tmp_path):
    """Timestamps in decoding order (pts = dts with B-frames, as opencv-doc's box.mp4): mapped to
    frames through the sorted packet times, frame k was "does not decode" for many k and another
    picture for the rest, so the review page showed the wrong frames. Such a file is counted from
    the start, each picture with the timestamp the reader gives it."""
    from test_video_io import decoding_order_clip

    src = tmp_path / "decoding_order.mp4"
    decoding_order_clip(src, 30)
    with pytest.warns(VidinpaintWarning):
        frames = list(VideoReader(src))
    seeker = FrameSeeker(src)
    assert len(seeker) == len(frames)
    for k in (0, 1, 3, 6, 9, len(frames) - 1):
        seen = seeker.frame(k)
        assert (seen.index, seen.pts) == (k, frames[k].pts) and np.array_equal(seen.rgb, frames[k].rgb)
    assert [f.index for f in seeker.frames(5, 12)] == list(range(5, 12))
