"""End to end: a generated clip with audio goes through `clean` and comes out right."""

from __future__ import annotations


import cv2
import numpy as np
import pytest

import vidinpaint
from vidinpaint.config import Config
from vidinpaint.masks import dilate
from conftest import audio_packets, decode_all, psnr, sha256


def test_user_mask_clip_keeps_timing_audio_and_outside_pixels(walker_clip, tmp_path):
    src, masks, _ = walker_clip
    mask = np.zeros_like(masks[0])
    mask[30:80, 40:110] = True
    cv2.imwrite(str(tmp_path / "mask.png"), mask.astype(np.uint8) * 255)
    before = sha256(src)
    result = vidinpaint.clean(src, mask=tmp_path / "mask.png", preview=True)
    assert result.output == tmp_path / "walk.clean.mp4" and result.frames == 48
    a, ta = decode_all(src)
    b, tb = decode_all(result.output)
    assert len(b) == len(a) and tb == pytest.approx(ta, abs=1e-6)
    assert audio_packets(result.output) == audio_packets(src)
    a, b = np.stack(a), np.stack(b)
    used = dilate(mask, Config().mask.dilate)  # the mask the run used
    assert psnr(a[:, ~used], b[:, ~used]) >= 40
    inside = np.abs(a[:, mask].astype(int) - b[:, mask].astype(int)).mean()
    assert inside > 5  # the walkers inside the mask were painted over
    assert sha256(src) == before
    sheet = cv2.imread(str(result.preview))
    assert sheet is not None and sheet.shape[1] == 3 * 320


def test_motion_detection_removes_the_walkers(walker_clip, tmp_path):
    src, masks, bg = walker_clip
    out = tmp_path / "auto.mp4"
    result = vidinpaint.clean(src, out, settings={"detect": {"backend": "motion", "window": 24, "stride": 2}})
    assert dict(result.backends)["detect"].startswith("motion")
    frames, _ = decode_all(out)
    inputs, _ = decode_all(src)
    people = np.stack(masks)
    truth = bg[tuple(np.nonzero(people)[1:])].astype(int)  # the background behind every person pixel
    err_in = np.abs(np.stack(inputs)[people].astype(int) - truth).mean()
    err_out = np.abs(np.stack(frames)[people].astype(int) - truth).mean()
    assert err_out < 0.35 * err_in, (err_in, err_out)


def test_mask_video_and_folder_inputs(walker_clip, tmp_path):
    src, masks, _ = walker_clip
    folder = tmp_path / "masks"
    folder.mkdir()
    for i, m in enumerate(masks):
        cv2.imwrite(str(folder / f"m{i}.png"), m.astype(np.uint8) * 255)
    from vidinpaint.synthetic import write_clip

    write_clip(tmp_path / "masks.mp4", [np.repeat(m[..., None], 3, 2).astype(np.uint8) * 255 for m in masks], fps=24)
    people = np.stack(masks)
    grown = np.stack([cv2.dilate(m.astype(np.uint8), np.ones((7, 7))) > 0 for m in masks])
    a = np.stack(decode_all(src)[0])
    for k, source in enumerate([folder, tmp_path / "masks.mp4"]):
        result = vidinpaint.clean(src, tmp_path / f"o{k}.mp4", mask=source, settings={"mask": {"dilate": 2}})
        b = np.stack(decode_all(result.output)[0])
        assert np.abs(a[people].astype(int) - b[people].astype(int)).mean() > 10
        assert psnr(a[~grown], b[~grown]) >= 40


def test_outputs_get_the_usual_permissions(walker_clip, tmp_path):
    import os

    src, masks, _ = walker_clip
    cv2.imwrite(str(tmp_path / "m.png"), masks[0].astype(np.uint8) * 255)
    out = vidinpaint.clean(src, mask=tmp_path / "m.png").output
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask
