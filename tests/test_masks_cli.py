"""`vidinpaint masks`: the mask video (or PNGs) alone, and fed back through `clean --mask`."""

import cv2
import numpy as np
import pytest

import vidinpaint
from conftest import decode_all, run_cli
from vidinpaint.config import load_config
from vidinpaint.errors import OutputError
from vidinpaint.pipeline import export_masks


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


def test_png_folder_export(walker_clip, tmp_path):
    src, _, _ = walker_clip
    cfg = load_config(None, ["detect.backend=motion", "detect.window=24", "segment.backend=grabcut"])
    result = export_masks(src, tmp_path / "pngs", cfg)
    files = sorted((tmp_path / "pngs").glob("*.png"))
    assert result.frames == 48 and len(files) == 48 and files[0].name == "000000.png"
    assert cv2.imread(str(files[10]), cv2.IMREAD_GRAYSCALE).max() == 255
    assert not list(tmp_path.glob(".pngs.tmp"))
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
