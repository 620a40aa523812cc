"""Shared fixtures: tiny clips generated in ``tmp_path`` with known masks and backgrounds."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from vidinpaint.synthetic import tone, walkers, write_clip
from vidinpaint.detect.yolo import settings_dir

# Tests that import ultralytics themselves (tests/test_yolo.py) would otherwise create its settings
# file in the user's ~/.config, as vidinpaint itself no longer does (vidinpaint/detect/yolo.py).
os.environ.setdefault("YOLO_CONFIG_DIR", str(settings_dir()))


@pytest.fixture(autouse=True)
def _seed() -> None:
    np.random.seed(0)


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str | None] | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m vidinpaint ARGS`` as CI runs it: no terminal, stdin closed, 40 columns.
    ``env`` adds variables to this process's environment (None removes one)."""
    merged = {**os.environ, "COLUMNS": "40", "NO_COLOR": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "vidinpaint", *args], capture_output=True, text=True, cwd=cwd,
                          env={k: v for k, v in merged.items() if v is not None}, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def decode_all(path: Path) -> tuple[list[np.ndarray], list[float]]:
    """Every frame (RGB, as stored) and its pts in seconds."""
    with av.open(str(path)) as c:
        frames = [(f.to_ndarray(format="rgb24"), float(f.pts * f.time_base)) for f in c.decode(video=0)]
    return [f for f, _ in frames], [t for _, t in frames]


def audio_packets(path: Path) -> list[tuple[int, bytes]]:
    with av.open(str(path)) as c:
        if not c.streams.audio:
            return []
        return [(p.pts, bytes(p)) for p in c.demux(c.streams.audio[0]) if p.dts is not None]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def sample_start(path: Path, frames: int) -> Path:
    """The shipped sample's first ``frames`` frames, written to ``path``, for tests of the real
    detector (skipped where NanoDet's weights are not fetched)."""
    import itertools

    from vidinpaint.video import VideoReader
    from vidinpaint.weights import available

    if not available("nanodet"):
        pytest.skip("NanoDet weights not fetched (make test fetches them)")
    write_clip(path, [f.rgb for f in itertools.islice(VideoReader("samples/vtest.mp4"), frames)], fps=10)
    return path


@pytest.fixture
def walker_clip(tmp_path: Path):
    """A 48-frame 160x120 clip at 24 fps with two walkers, a 2 s audio tone, and its truth."""
    scene = list(walkers(160, 120, 48, people=2, seed=1))
    path = tmp_path / "walk.mp4"
    write_clip(path, (rgb for rgb, _, _ in scene), fps=24, audio=tone(2.0))
    return path, [m for _, m, _ in scene], scene[0][2]
