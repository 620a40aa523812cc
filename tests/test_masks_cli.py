"""`vidinpaint masks`: the mask video (or PNGs) alone, and fed back through `clean --mask`."""

import fcntl
import os

import cv2
import numpy as np
import pytest

import vidinpaint
from conftest import decode_all, run_cli
from vidinpaint.config import load_config
from vidinpaint.errors import OutputError
from vidinpaint.masks import dilate
from vidinpaint.pipeline import export_masks


def used_masks(src, masks, overrides=()) -> list[np.ndarray]:
    """The masks ``clean src --mask masks`` removes, frame by frame."""
    from vidinpaint.pipeline import build_stages
    from vidinpaint.video import VideoReader

    frames = VideoReader(src)
    for stage in build_stages(load_config(None, list(overrides)), masks, "cpu"):
        frames = stage(frames)
    return [f.mask for f in frames]


def test_mask_video_roundtrips_through_clean(walker_clip, tmp_path):
    src, masks, _ = walker_clip
    out = tmp_path / "walk.masks.mp4"
    result = run_cli("masks", str(src), "-o", str(out), "--set", "detect.backend=motion",
                     "--set", "detect.window=24", "--set", "segment.backend=box")
    assert result.returncode == 0, result.stderr
    frames, times = decode_all(out)
    assert len(frames) == 48 and times == decode_all(src)[1]
    got = np.stack([f[..., 0] > 127 for f in frames])
    truth = np.stack(masks)
    assert (got & truth).sum() / truth.sum() > 0.9  # the masks cover the walkers
    assert set(np.unique(np.stack(frames))) <= {0, 255}  # lossless: pure black and white
    cleaned = vidinpaint.clean(src, tmp_path / "c.mp4", mask=out)
    assert cleaned.frames == 48
    # what clean --mask removes is what was exported, not that grown by mask.dilate once more
    assert all((used == exported).all() for used, exported in zip(used_masks(src, out), got))
    assert "exported masks, grown 6px already, dilate 0px" in dict(cleaned.backends)["mask"]
    wider = used_masks(src, out, ["mask.dilate=10"])  # asked for more: grown by the 4 px beyond the 6
    assert all((used == dilate(exported, 4)).all() for used, exported in zip(wider, got))


def test_an_odd_sized_clip_gives_a_mask_video_and_webm_a_reason(tmp_path):
    from vidinpaint.synthetic import walkers, write_clip

    odd = tmp_path / "odd.mp4"
    write_clip(odd, (rgb[:119, :159] for rgb, _, _ in walkers(160, 120, 8, people=1, seed=2)), fps=24, pix_fmt="yuv444p")
    cfg = load_config(None, ["detect.backend=motion", "detect.window=8", "segment.backend=box"])
    out = tmp_path / "odd.masks.mkv"
    assert export_masks(odd, out, cfg).frames == 8  # 4:2:0 needs even sides: "width not divisible by 2"
    frames, _ = decode_all(out)
    assert frames[0].shape[:2] == (119, 159)
    with pytest.raises(OutputError, match="WebM cannot hold; give .mp4, .mkv or .mov"):
        export_masks(odd, tmp_path / "m.webm", cfg)  # named --codec libx264, which nobody gave


def test_png_folder_export(walker_clip, tmp_path):
    src, _, _ = walker_clip
    cfg = load_config(None, ["detect.backend=motion", "detect.window=24", "segment.backend=grabcut"])
    result = export_masks(src, tmp_path / "pngs", cfg)
    files = sorted((tmp_path / "pngs").glob("*.png"))
    assert result.frames == 48 and len(files) == 48 and files[0].name == "000000.png"
    assert cv2.imread(str(files[10]), cv2.IMREAD_GRAYSCALE).max() == 255
    exported = [cv2.imread(str(f), cv2.IMREAD_GRAYSCALE) > 127 for f in files]
    assert all((used == mask).all() for used, mask in zip(used_masks(src, tmp_path / "pngs"), exported))
    cv2.imwrite(str(files[5]), cv2.imread(str(files[5]), cv2.IMREAD_GRAYSCALE))  # redrawn: its comment gone
    assert not (used_masks(src, tmp_path / "pngs")[10] == exported[10]).all()  # hand-drawn masks again: grown
    assert not list(tmp_path.glob(".pngs.*"))  # no temporary folder left
    with pytest.raises(OutputError, match="exists; pass --overwrite"):
        export_masks(src, tmp_path / "pngs", cfg)
    (tmp_path / "pngs" / "999999.png").write_bytes(b"a mask of a longer, earlier export")
    assert export_masks(src, tmp_path / "pngs", cfg, overwrite=True).frames == 48  # it said "is a directory"
    assert len(list((tmp_path / "pngs").iterdir())) == 48
    (tmp_path / "pngs" / "clip.mp4").write_bytes(b"someone's video")  # never deleted with the masks
    with pytest.raises(OutputError, match="holds clip.mp4, which is not a mask this writes"):
        export_masks(src, tmp_path / "pngs", cfg, overwrite=True)
    assert (tmp_path / "pngs" / "clip.mp4").exists()
    with pytest.raises(OutputError, match="give a folder name without an image extension"):
        export_masks(src, tmp_path / "masks.png", cfg)  # a folder named masks.png was made
    assert not (tmp_path / "masks.png").exists()
    (tmp_path / "masks").write_bytes(b"a file")  # meant as a video, without its extension
    with pytest.raises(OutputError, match="masks is a file, not a folder: masks go to a video"):
        export_masks(src, tmp_path / "masks", cfg, overwrite=True)  # said after the whole clip, and wrongly
    assert (tmp_path / "masks").read_bytes() == b"a file"


def test_png_export_keeps_a_folder_that_appeared_and_what_other_runs_are_writing(walker_clip, tmp_path):
    """Two exports to one folder shared one temporary folder name, each deleting the other's, and a
    folder that appeared during an export was deleted, whatever it held."""
    src, _, _ = walker_clip
    cfg = load_config(None, ["detect.backend=motion", "detect.window=24", "segment.backend=grabcut"])
    out = tmp_path / "pngs"
    live, dead = tmp_path / ".pngs.abcd1234.tmp", tmp_path / ".pngs.dead5678.tmp"
    live.mkdir()
    dead.mkdir()
    (live / "000000.png").write_bytes(b"another run's mask")
    held = os.open(live, os.O_RDONLY)
    fcntl.flock(held, fcntl.LOCK_EX)  # a live run holds its folder; a killed one holds nothing

    def someone_makes_the_folder(frame):
        if not out.exists():
            out.mkdir()
            (out / "notes.txt").write_text("mine")

    try:
        with pytest.raises(OutputError, match=f"output {out} appeared while this run was working"):
            export_masks(src, out, cfg, progress=someone_makes_the_folder)
        assert (out / "notes.txt").read_text() == "mine" and not dead.exists()
        assert (live / "000000.png").exists()
        assert sorted(p.name for p in tmp_path.glob(".pngs.*")) == [live.name]  # this run's own is gone
    finally:
        os.close(held)
