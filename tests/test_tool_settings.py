"""Files vidinpaint must not write: a read-only weights cache, and other tools' own settings."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import run_cli
from vidinpaint.synthetic import background, write_clip
from vidinpaint.weights import REGISTRY, available, weights_dir


def clip(path: Path) -> Path:
    bg = background(96, 64)
    write_clip(path, [np.roll(bg, i, axis=1) for i in range(4)], fps=10)
    return path


@pytest.mark.parametrize("how", ["read-only folder", "stamps that cannot be read or written"])
def test_a_read_only_weights_cache_works(tmp_path, how):
    if not available("nanodet"):
        pytest.skip("NanoDet weights are not cached (make test fetches them)")
    if how == "read-only folder" and os.geteuid() == 0:
        pytest.skip("root writes into read-only folders; the other case covers root")
    cache = tmp_path / "cache"
    cache.mkdir()
    for wf in REGISTRY["nanodet"].files:
        shutil.copy(weights_dir() / wf.filename, cache / wf.filename)
        if how != "read-only folder":
            (cache / f".{wf.filename}.verified").mkdir()  # an OSError on every read and write, even for root
    if how == "read-only folder":
        cache.chmod(0o555)
    try:
        result = run_cli("clean", str(clip(tmp_path / "in.mp4")), "--detector", "nanodet", "--weights-dir", str(cache),
                         "--set", "segment.backend=box", "-q")
    finally:
        cache.chmod(0o755)
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("wrote ")


def test_yolo_leaves_the_users_ultralytics_settings_alone(tmp_path):
    ultralytics = pytest.importorskip("ultralytics")
    model = Path(ultralytics.__file__).parent / "cfg" / "models" / "11" / "yolo11.yaml"
    home, own = tmp_path / "home", tmp_path / "vidinpaint-home"
    env = {"HOME": str(home), "VIDINPAINT_HOME": str(own), "YOLO_CONFIG_DIR": None, "XDG_CONFIG_HOME": None}
    result = run_cli("clean", str(clip(tmp_path / "in.mp4")), "--detector", "yolo", "--set",
                     f"detect.yolo_weights={model}", "--set", "detect.imgsz=64", "--set", "segment.backend=box",
                     "-q", env=env, timeout=600)
    assert result.returncode == 0, result.stderr
    assert not list(home.rglob("*")), list(home.rglob("*"))  # nothing in ~/.config/Ultralytics (or anywhere)
    assert list((own / "ultralytics").rglob("settings.json"))
