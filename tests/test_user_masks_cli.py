"""`clean --mask` through the command line: mask videos matched by time, display orientation,
aspect ratio, the grey threshold, alpha, and warnings for masks that cannot be what was meant."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import decode_all, run_cli
from vidinpaint.synthetic import background, write_clip

W, H, SIDE = 128, 64, 12
MAGENTA = np.array([255, 0, 255], np.uint8)


def box(i: int) -> tuple[int, int]:
    """Top-left corner of the moving square in clip frame ``i`` (25 fps): 6 px per frame."""
    return 4 + 6 * i, 26


def magenta_pixels(rgb: np.ndarray) -> int:
    r, g, b = (rgb[..., c].astype(int) for c in range(3))
    return int(((r > 180) & (g < 90) & (b > 180)).sum())


def moving_square_clip(path: Path, frames: int = 16, fps: int = 25) -> Path:
    bg = background(W, H)
    out = []
    for i in range(frames):
        rgb = bg.copy()
        x, y = box(i)
        rgb[y:y + SIDE, x:x + SIDE] = MAGENTA
        out.append(rgb)
    write_clip(path, out, fps=fps)
    return path


def mask_image(width: int, height: int, corner: tuple[int, int] | None, value: int = 255) -> np.ndarray:
    m = np.zeros((height, width, 3), np.uint8)
    if corner is not None:
        x, y = corner
        m[y:y + SIDE, x:x + SIDE] = value
    return m


def test_a_50_fps_mask_video_is_matched_to_a_25_fps_clip_by_time(tmp_path):
    src = moving_square_clip(tmp_path / "clip.mp4")
    assert sum(magenta_pixels(f) for f in decode_all(src)[0]) > 16 * 100
    # Mask frame j is at j/50 s, where clip frame j/2 is: the square is at 4 + 3 j px.
    masks = [mask_image(W, H, (4 + 3 * j, 26)) for j in range(32)]
    write_clip(tmp_path / "mask50.mp4", masks, fps=50)
    result = run_cli("clean", str(src), "--mask", str(tmp_path / "mask50.mp4"), "--set", "mask.dilate=3")
    assert result.returncode == 0, result.stderr
    assert "matched by time" in result.stderr and "warning" not in result.stderr
    left = [magenta_pixels(f) for f in decode_all(tmp_path / "clip.clean.mp4")[0]]
    assert max(left) <= 2, left  # matched by index, frame 15 would take the mask of 0.3 s and keep the square


def test_a_mask_video_shorter_than_the_clip_is_an_error(tmp_path):
    """A frame short: refused where the masks end (a declared length can be a frame off)."""
    src = moving_square_clip(tmp_path / "clip.mp4")
    write_clip(tmp_path / "short.mp4", [mask_image(W, H, box(0))] * 15, fps=25)
    result = run_cli("clean", str(src), "--mask", str(tmp_path / "short.mp4"))
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].startswith(f"error: --mask {tmp_path / 'short.mp4'}: the mask video "
                                                     f"ends at 0.600 s, before the clip (frame 15 at 0.600 s)")


def test_masks_far_shorter_than_the_clip_are_refused_before_any_work(tmp_path):
    """Masks for another clip failed only where they ran out, after every frame before was
    detected, filled and encoded; now before the first frame (no stage line is printed)."""
    src = moving_square_clip(tmp_path / "clip.mp4", frames=30)
    write_clip(tmp_path / "short.mp4", [mask_image(W, H, box(0))] * 10, fps=25)
    folder = tmp_path / "masks"
    folder.mkdir()
    for i in range(10):
        cv2.imwrite(str(folder / f"{i:06d}.png"), mask_image(W, H, box(i)))
    video = run_cli("clean", str(src), "--mask", str(tmp_path / "short.mp4"))
    pngs = run_cli("clean", str(src), "--mask", str(folder))
    assert video.returncode == pngs.returncode == 1
    assert video.stderr.splitlines()[-1] == (f"error: --mask {tmp_path / 'short.mp4'}: the mask video lasts "
                                             "0.400 s but the clip 1.200 s; masks are matched to the clip by time")
    assert pngs.stderr.splitlines()[-1] == (f"error: --mask {folder}: holds 10 masks but the video declares 30 "
                                            "frames; give one mask per frame (in natural order: 0.png, 1.png, "
                                            "... 10.png)")
    for result in (video, pngs):
        assert "  fill " not in result.stderr and not list(tmp_path.glob("clip.clean*")), result.stderr


def test_a_mask_folder_shorter_than_the_clip_is_an_error_not_a_traceback(tmp_path):
    """With the fast preset's short look-ahead the fill had frames in hand when the chain was
    aborted; its worker stopped on the abort, and the error never reached the end of the chain
    (a ChainStopped traceback instead)."""
    src = moving_square_clip(tmp_path / "clip.mp4", frames=30)
    folder = tmp_path / "masks"
    folder.mkdir()
    for i in range(28):  # not so few that they are refused up front
        cv2.imwrite(str(folder / f"{i:06d}.png"), mask_image(W, H, box(i)))
    result = run_cli("clean", str(src), "--mask", str(folder), "-c", "fast")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.splitlines()[-1] == (f"error: --mask {folder}: has fewer masks than the video has frames "
                                              "(ran out at frame 28)")


def rotated_clip(path: Path) -> Path:
    """Stored 128x64 landscape, shown as 64x128 portrait (rotation metadata)."""
    write_clip(path, [background(W, H)] * 4, fps=25, rotation=90)
    return path


def test_a_landscape_mask_on_a_portrait_clip_is_an_error_not_a_stretch(tmp_path):
    src = rotated_clip(tmp_path / "clip.mp4")
    cv2.imwrite(str(tmp_path / "landscape.png"), mask_image(W, H, (10, 10)))
    result = run_cli("clean", str(src), "--mask", str(tmp_path / "landscape.png"))
    assert result.returncode == 1
    assert "masks are 128x64 but the video is shown at 64x128" in result.stderr.splitlines()[-1]
    assert not (tmp_path / "clip.clean.mp4").exists()


@pytest.mark.parametrize("kind", ["upright image, half size", "mask video with the clip's rotation"])
def test_masks_in_display_orientation_fit_a_rotated_clip(tmp_path, kind):
    src = rotated_clip(tmp_path / "clip.mp4")
    if kind.startswith("upright"):
        mask = tmp_path / "upright.png"
        cv2.imwrite(str(mask), mask_image(H // 2, W // 2, (5, 5)))
    else:
        mask = tmp_path / "rotated_mask.mp4"
        write_clip(mask, [mask_image(W, H, (10, 10))] * 4, fps=25, rotation=90)
    result = run_cli("clean", str(src), "--mask", str(mask))
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr


@pytest.mark.parametrize("value, warned", [(255, None), (128, None), (127, "marks nothing to remove"),
                                           (100, "marks nothing to remove")])
def test_grey_levels_from_128_up_remove(tmp_path, value, warned):
    src = moving_square_clip(tmp_path / "clip.mp4", frames=4)
    still = mask_image(W, H, None)
    still[20:44, 0:40] = value  # covers the square in frames 0-3
    cv2.imwrite(str(tmp_path / "m.png"), still)
    result = run_cli("clean", str(src), "--mask", str(tmp_path / "m.png"))
    assert result.returncode == 0, result.stderr
    left = sum(magenta_pixels(f) for f in decode_all(tmp_path / "clip.clean.mp4")[0])
    if warned:
        assert any(line.startswith(f"warning: --mask {tmp_path / 'm.png'}: {warned}")
                   for line in result.stderr.splitlines()), result.stderr
        assert left > 4 * 100
    else:
        assert "warning" not in result.stderr and left <= 4


def test_a_mask_covering_every_frame_whole_is_warned_about(tmp_path):
    src = moving_square_clip(tmp_path / "clip.mp4", frames=4)
    cv2.imwrite(str(tmp_path / "white.png"), np.full((H, W), 255, np.uint8))
    result = run_cli("clean", str(src), "--mask", str(tmp_path / "white.png"), "-q")
    assert result.returncode == 0
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"warning: --mask {tmp_path / 'white.png'}: covers the whole frame on every frame")
    assert lines[1].startswith("wrote ")


def test_the_alpha_of_an_rgba_mask_is_the_mask(tmp_path):
    src = moving_square_clip(tmp_path / "clip.mp4", frames=4)
    rgba = np.full((H, W, 4), 255, np.uint8)  # white everywhere: its colour alone would mask the whole frame
    rgba[..., 3] = 0
    rgba[20:44, 0:40, 3] = 255
    cv2.imwrite(str(tmp_path / "layer.png"), rgba)
    result = run_cli("clean", str(src), "--mask", str(tmp_path / "layer.png"))
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr
    frames = decode_all(tmp_path / "clip.clean.mp4")[0]
    assert sum(magenta_pixels(f) for f in frames) <= 4
    original = decode_all(src)[0]
    outside = np.abs(frames[0][:, 60:].astype(int) - original[0][:, 60:].astype(int)).mean()
    assert outside < 3  # the transparent part is kept


def test_a_missing_or_unreadable_mask_video_is_named_as_the_mask(tmp_path):
    """The up-front length check probed a missing mask video itself ("error: PATH: no such file"),
    and a mask that is no video said "PATH: not a readable video": neither said it was the --mask."""
    src = moving_square_clip(tmp_path / "clip.mp4")
    text = tmp_path / "text.mp4"
    text.write_text("not a video\n" * 50)
    missing = run_cli("clean", str(src), "--mask", str(tmp_path / "missing.mp4"))
    unreadable = run_cli("clean", str(src), "--mask", str(text))
    assert missing.returncode == unreadable.returncode == 1
    assert missing.stderr.splitlines()[-1] == f"error: --mask {tmp_path / 'missing.mp4'}: no such file or folder"
    assert unreadable.stderr.splitlines()[-1].startswith(f"error: --mask {text}: not a readable video")


@pytest.mark.parametrize("option", [["--detector", "yolo"], ["--classes", "dog"], ["--segmenter", "box"]])
def test_detection_options_with_the_users_masks_are_an_error_not_ignored(tmp_path, option):
    """--mask skips detection: --detector and --classes were taken and silently did nothing (--tracks
    and --region were refused)."""
    src = moving_square_clip(tmp_path / "clip.mp4")
    cv2.imwrite(str(tmp_path / "m.png"), mask_image(W, H, box(0)))
    result = run_cli("clean", str(src), "--mask", str(tmp_path / "m.png"), *option, "-o", str(tmp_path / "out.mp4"))
    assert result.returncode == 1 and not (tmp_path / "out.mp4").exists()
    assert result.stderr.splitlines()[-1] == (f"error: {option[0]} chooses what is detected and segmented; --mask "
                                              "gives the masks and skips both")


def test_a_clean_without_a_neural_stage_never_loads_torch(tmp_path):
    """Its import alone takes seconds, and the device line said
    "torch on 1 of 2 CPU threads" for a run that used none. A neural stage after the masks (RAFT,
    the gated inpainter, asked for or found) still loads it."""
    import subprocess
    import sys

    clip = moving_square_clip(tmp_path / "in.mp4", frames=4)
    cv2.imwrite(str(tmp_path / "m.png"), mask_image(W, H, box(0)))
    code = ("import sys; sys.modules['torch'] = None; import vidinpaint; "  # any import of torch fails
            "mask = {'mask': sys.argv[3]} if sys.argv[3] else "
            "{'settings': {'detect': {'backend': 'motion'}, 'segment': {'backend': 'grabcut'}}}; "
            "r = vidinpaint.clean(sys.argv[1], sys.argv[2], overwrite=True, preview=True, **mask); "
            "print(dict(r.backends)['device'])")
    for mask in (str(tmp_path / "m.png"), ""):  # the user's masks; the motion detector's boxes cut by GrabCut
        done = subprocess.run([sys.executable, "-c", code, str(clip), str(tmp_path / "out.mp4"), mask],
                              capture_output=True, text=True, stdin=subprocess.DEVNULL)
        assert done.stdout.strip() == "cpu, stages in parallel threads (no neural stage: torch not loaded)", done.stderr
    from vidinpaint.backends import neural_after_masks
    from vidinpaint.config import load_config

    def neural(*settings: str) -> bool:
        return neural_after_masks(load_config(None, [f"weights_dir={tmp_path}", *settings]))  # no weights there

    assert not neural() and not neural("fill.backend=off") and not neural("inpaint.backend=ns")
    assert neural("inpaint.backend=gated") and neural("fill.backend=raft")
    assert neural("strict=true")  # RAFT, required without its weights: the fill's builder says so, not this check
