"""The gated inpainter in the pipeline: backend choice and fallback, `vidinpaint adapt`, then `clean` with its output."""

from __future__ import annotations

import pytest

from vidinpaint.backends import build_inpainter
from vidinpaint.config import load_config
from vidinpaint.inpaint import ClassicalInpainter, checkpoint
from vidinpaint.inpaint.gated import Generator, PatchDiscriminator
from vidinpaint.inpaint.neural import GatedInpainter
from vidinpaint.weights import WeightsMissing

from conftest import decode_all, run_cli


def test_auto_falls_back_to_telea_and_says_why(tmp_path):
    config = load_config(None, [f"weights_dir={tmp_path}"])
    stage = build_inpainter(config, "cpu")
    assert isinstance(stage, ClassicalInpainter)
    assert "fallback from DeepFillv2: no deepfillv2_places2 weights" in stage.backend
    with pytest.raises(WeightsMissing, match="vidinpaint weights fetch deepfillv2_places2"):
        build_inpainter(load_config(None, [f"weights_dir={tmp_path}", "strict=true"]), "cpu")
    with pytest.raises(WeightsMissing):
        build_inpainter(load_config(None, [f"weights_dir={tmp_path}", "inpaint.backend=gated"]), "cpu")


def test_gated_backend_from_a_checkpoint_path(tmp_path):
    path = tmp_path / "tiny.pth"
    checkpoint.save(path, Generator(cnum=8), meta={"source": "a tiny test model"})
    stage = build_inpainter(load_config(None, ["inpaint.backend=gated", f"inpaint.weights={path}",
                                               "inpaint.size=64"]), "cpu")
    assert isinstance(stage, GatedInpainter) and stage.model.cnum == 8
    assert "DeepFillv2 gated conv (a tiny test model) on 64px crops" in stage.backend and "fp32 on cpu" in stage.backend


def test_adapt_then_clean_with_the_adapted_weights(walker_clip, tmp_path):
    clip, _, _ = walker_clip
    start = tmp_path / "start.pth"
    checkpoint.save(start, Generator(cnum=8), PatchDiscriminator(cnum=8))
    adapted = tmp_path / "walk.inpaint.pth"
    done = run_cli("adapt", str(clip), "--from", str(start), "--steps", "4", "--frames", "6", "--size", "32",
                "--batch", "2", "--set", "detect.backend=motion", "--set", "detect.window=24", "-q")
    assert done.returncode == 0, done.stderr
    assert adapted.exists() and adapted.with_suffix(".losses.png").stat().st_size > 0
    assert "4 steps on 6 frames" in done.stdout and f"inpaint.weights={adapted}" in done.stdout.replace("\n", "")
    data = checkpoint.read(adapted)
    assert data["meta"]["step"] == 4 and "adapted to walk.mp4" in data["meta"]["source"]
    again = run_cli("adapt", str(clip), "--from", str(start), "--steps", "1", "-q")
    assert again.returncode == 1 and again.stderr.count("error:") == 1 and "exists" in again.stderr
    out = tmp_path / "out.mp4"
    done = run_cli("clean", str(clip), "-o", str(out), "--inpaint", "gated", "--set", f"inpaint.weights={adapted}",
                "--set", "inpaint.size=64", "--set", "detect.backend=motion", "--set", "detect.window=24",
                "--set", "fill.stable=1")
    assert done.returncode == 0, done.stderr
    lines = done.stderr.replace("\n", "")
    assert "DeepFillv2 gated conv (start.pth adapted to walk.mp4)" in lines
    assert "what no frame shows inpainted and carried along the flow (weight 1 on the carried pixels)" in lines
    assert len(decode_all(out)[0]) == len(decode_all(clip)[0])


def test_adapt_never_replaces_a_file_with_its_loss_curve(walker_clip, tmp_path):
    """The loss curves go to <output>.losses.png: an input of that name (a still) was replaced by
    the plot, and so was any file there, without --overwrite; --lr nan trained a NaN checkpoint."""
    import numpy as np

    from vidinpaint.images import write_image

    clip, _, _ = walker_clip
    still = tmp_path / "m.losses.png"
    write_image(still, np.zeros((120, 160, 3), np.uint8))
    before = still.read_bytes()
    there = tmp_path / "other.losses.png"
    there.write_bytes(b"keep")
    as_input = run_cli("adapt", str(still), "-o", str(tmp_path / "m.pth"), "--steps", "1", "-q")
    existing = run_cli("adapt", str(clip), "-o", str(tmp_path / "other.pth"), "--steps", "1", "-q")
    nan = run_cli("adapt", str(clip), "-o", str(tmp_path / "n.pth"), "--lr", "nan", "-q")
    assert as_input.returncode == existing.returncode == nan.returncode == 1
    assert f"output {still} is the input file" in as_input.stderr
    assert f"output {there} exists" in existing.stderr
    assert "--lr must be a positive number, got nan" in nan.stderr
    assert still.read_bytes() == before and there.read_bytes() == b"keep"
    assert not [p.name for p in tmp_path.glob("*.pth")]
