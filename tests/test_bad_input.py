"""Bad input through the real command line: a one-line error, non-zero exit, nothing lost."""

from __future__ import annotations

import os
import stat
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from conftest import run_cli, sha256
from vidinpaint.synthetic import background, tone, write_clip


def assert_clean_failure(result: subprocess.CompletedProcess, folder: Path, expect: str) -> None:
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr  # stage lines may come first
    assert expect in errors[0]
    assert not [p.name for p in folder.iterdir() if ".clean" in p.name or ".tmp" in p.name]


def make_video(path: Path, n: int = 30, **kw) -> Path:
    bg = background(96, 64)
    write_clip(path, [np.roll(bg, 2 * i, axis=1) for i in range(n)], fps=10, **kw)
    return path


def write_mask(path: Path, width: int = 96, height: int = 64) -> Path:
    """A white box in the middle third of a black ``width x height`` PNG."""
    import cv2

    m = np.zeros((height, width), np.uint8)
    m[height // 3: 2 * height // 3, width // 3: 2 * width // 3] = 255
    cv2.imwrite(str(path), m)
    return path


@pytest.fixture
def mask_png(tmp_path: Path) -> Path:
    return write_mask(tmp_path / "mask.png")


def corrupt(src: Path, dst: Path, how: str) -> Path:
    data = bytearray(src.read_bytes())
    if how == "truncate":
        data = data[: len(data) // 2]
    else:
        mid = len(data) // 2
        data[mid:mid + 4000] = np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8).tobytes()
    dst.write_bytes(bytes(data))
    return dst


def test_an_avi_with_a_dropped_frame_is_no_truncated_file(tmp_path, mask_png):
    """An AVI's index counts a dropped frame (an empty chunk, no picture) among its frames: 10
    entries, 9 pictures, the last one where the file says the video ends. It was refused as
    "truncated video, decoded 9 of 10 frames"."""
    src = make_video(tmp_path / "in.avi", n=9, codec="mpeg4", pts=[0, *range(2, 10)], time_base=Fraction(1, 10))
    with av.open(str(src)) as c:
        assert c.streams.video[0].frames == 10
    result = run_cli("clean", str(src), "--mask", str(mask_png), "-o", str(tmp_path / "out.avi"))
    assert result.returncode == 0, result.stderr
    assert "(9 frames" in " ".join(result.stderr.split())


def test_a_cut_short_matroska_file_is_cleaned_with_a_warning(tmp_path, mask_png):
    """Matroska counts no frames, but its header says where the video ends: a file cut at two
    thirds is cleaned as far as it decodes, and a warning says it ends early (it was silent)."""
    data = make_video(tmp_path / "full.mkv", n=30).read_bytes()
    src = tmp_path / "cut.mkv"
    src.write_bytes(data[: len(data) * 2 // 3])
    result = run_cli("clean", str(src), "--mask", str(mask_png), "-o", str(tmp_path / "out.mkv"))
    assert result.returncode == 0, result.stderr
    stderr = " ".join(result.stderr.split())
    assert "warning:" in stderr and "before the 3.000 s its container declares" in stderr
    full = run_cli("clean", str(tmp_path / "full.mkv"), "--mask", str(mask_png), "-o", str(tmp_path / "all.mkv"))
    assert full.returncode == 0 and "warning:" not in full.stderr


@pytest.mark.parametrize("case, expect", [
    ("missing", "no such file"),
    ("directory", "folder holds no images"),
    ("not_video", "not a readable video"),
    ("empty", "file is empty"),
    ("truncated", "truncated"),
    ("truncated_faststart", "truncated"),
    ("corrupt_middle", "corrupt"),
    ("audio_only", "audio-only file"),
    ("zero_frames", "no video"),
])
def test_unusable_inputs_fail_with_one_line(tmp_path, mask_png, case, expect):
    folder = tmp_path / "in"
    folder.mkdir()
    good = make_video(tmp_path / "good.mp4", n=60)
    path = folder / "input.mp4"
    if case == "directory":
        path = folder / "sub"
        path.mkdir()
    elif case == "not_video":
        path.write_text("this is not a video\n" * 100)
    elif case == "empty":
        path.write_bytes(b"")
    elif case == "truncated":
        corrupt(good, path, "truncate")
    elif case == "truncated_faststart":
        corrupt(make_video(tmp_path / "fs.mp4", n=60, options={"movflags": "faststart"}), path, "truncate")
    elif case == "corrupt_middle":
        corrupt(good, path, "garble")
    elif case == "audio_only":
        with av.open(str(path), "w", format="mp4") as out:
            stream = out.add_stream("aac", rate=48000)
            samples = tone(0.5)
            for start in range(0, samples.shape[1], 1024):
                frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, start:start + 1024]),
                                                   format="fltp", layout="stereo")
                frame.sample_rate, frame.pts = 48000, start
                out.mux(stream.encode(frame))
            out.mux(stream.encode(None))
    elif case == "zero_frames":
        with av.open(str(path), "w") as out:
            stream = out.add_stream("libx264", rate=10)
            stream.width, stream.height = 96, 64
            out.start_encoding()
    before = sha256(path) if path.is_file() else None
    result = run_cli("clean", str(path), "--mask", str(mask_png))
    assert_clean_failure(result, folder, expect)
    if before:
        assert sha256(path) == before


def test_output_equal_to_input_is_refused(tmp_path, mask_png):
    src = make_video(tmp_path / "clip.mp4")
    before = sha256(src)
    result = run_cli("clean", str(src), "-o", str(src), "--mask", str(mask_png), "--overwrite")
    assert_clean_failure(result, tmp_path, "is the input file")
    assert sha256(src) == before


def test_output_in_unwritable_place_is_refused(tmp_path, mask_png):
    src = make_video(tmp_path / "clip.mp4")
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    result = run_cli("clean", str(src), "-o", str(blocker / "out.mp4"), "--mask", str(mask_png))
    assert_clean_failure(result, tmp_path, "does not exist")


def test_a_pipe_as_output_is_refused_even_with_overwrite(tmp_path, mask_png):
    """Renamed onto, the pipe another program reads became a plain file."""
    src = make_video(tmp_path / "clip.mp4")
    pipe = tmp_path / "to-player.mp4"
    os.mkfifo(pipe)
    result = run_cli("clean", str(src), "-o", str(pipe), "--mask", str(mask_png), "--overwrite")
    assert_clean_failure(result, tmp_path, "is not a regular file (a pipe or a device)")
    assert stat.S_ISFIFO(os.stat(pipe).st_mode)


def test_existing_output_needs_overwrite(tmp_path, mask_png):
    src = make_video(tmp_path / "clip.mp4")
    out = tmp_path / "clip.clean.mp4"
    out.write_bytes(b"keep me")
    result = run_cli("clean", str(src), "--mask", str(mask_png))
    assert result.returncode != 0 and "--overwrite" in result.stderr
    assert out.read_bytes() == b"keep me"
    assert run_cli("clean", str(src), "--mask", str(mask_png), "--overwrite", "-q").returncode == 0
    assert out.read_bytes() != b"keep me"


def test_bad_config_is_one_line(tmp_path, mask_png):
    src = make_video(tmp_path / "clip.mp4")
    result = run_cli("clean", str(src), "--mask", str(mask_png), "--set", "encode.crf=fast")
    assert_clean_failure(result, tmp_path, "encode.crf: expected int")


@pytest.mark.parametrize("case", ["odd", "rotated", "vfr", "ten_bit", "strip"])
def test_unusual_but_valid_inputs_give_correct_output(tmp_path, mask_png, case):
    path = tmp_path / f"{case}.mp4"
    if case == "strip":  # 7.5:1, dissolving into another picture: the shot stage's thumbnails are 96x13 px,
        # on which OpenCV's optical flow (its transition test) crashed the process
        a = background(480, 64)
        b = 255 - a
        write_clip(path, [a] * 4 + [(a * (1 - t) + b * t).astype(np.uint8) for t in (0.2, 0.4, 0.6, 0.8)] + [b] * 4)
        mask_png = write_mask(tmp_path / "strip.png", 480, 64)
    elif case == "odd":
        bg = background(641, 479)
        write_clip(path, [bg] * 4, pix_fmt="yuv444p")
        mask_png = write_mask(tmp_path / "odd.png", 641, 479)
    elif case == "rotated":
        make_video(path, n=5, rotation=270)
        mask_png = write_mask(tmp_path / "upright.png", 64, 96)  # masks are drawn as a player shows the clip
    elif case == "vfr":
        make_video(path, n=5, pts=[0, 1, 4, 5, 9])
    else:
        make_video(path, n=5, pix_fmt="yuv420p10le")
    before = sha256(path)
    result = run_cli("clean", str(path), "--mask", str(mask_png), "-q")
    assert result.returncode == 0, result.stderr
    out = tmp_path / f"{case}.clean.mp4"
    with av.open(str(path)) as a, av.open(str(out)) as b:
        fa = [(f.width, f.height, f.rotation, float(f.pts * f.time_base)) for f in a.decode(video=0)]
        fb = [(f.width, f.height, f.rotation, float(f.pts * f.time_base)) for f in b.decode(video=0)]
    assert [x[:3] for x in fa] == [x[:3] for x in fb]
    assert [x[3] for x in fa] == pytest.approx([x[3] for x in fb], abs=1e-4)
    assert sha256(path) == before
