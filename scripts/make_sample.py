#!/usr/bin/env python3
"""Make ``samples/vtest.mp4``: a slice of OpenCV's ``vtest.avi`` as H.264 MP4 with an audio track.

Source: Debian package ``opencv-doc`` (``/usr/share/doc/opencv-doc/examples/data/vtest.avi``:
real pedestrians, static camera, 768x576, 10 fps, 795 frames). Debian's copyright file for
OpenCV gives Apache-2.0 AND BSD-3-Clause for the source tree and BSD-3-Clause for ``data/*``.
The audio is synthesised here (street-like brown noise plus a two-tone chime), so the demo can
show that the audio survives; it is ours and CC0.

Usage: ``python scripts/make_sample.py [--vtest PATH] [--frames 150] [--out samples/vtest.mp4]``
(without ``--vtest`` the Debian package is downloaded with ``apt-get download`` and unpacked to a
temporary folder; nothing is installed).
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

import av
import numpy as np

from vidinpaint.synthetic import write_clip

DEB_PATH = "usr/share/doc/opencv-doc/examples/data/vtest.avi"


def fetch_vtest(workdir: Path) -> Path:
    """Download Debian's ``opencv-doc`` and unpack ``vtest.avi`` into ``workdir``."""
    subprocess.run(["apt-get", "download", "opencv-doc"], cwd=workdir, check=True,
                   stdout=subprocess.DEVNULL)
    deb = next(workdir.glob("opencv-doc_*.deb"))
    subprocess.run(["dpkg-deb", "-x", str(deb), str(workdir / "root")], check=True)
    return workdir / "root" / DEB_PATH


def street_audio(seconds: float, rate: int = 48000, seed: int = 7) -> np.ndarray:
    """``2 x N`` float32: brown noise (traffic rumble) plus a chime every 4 s."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    brown = np.cumsum(rng.normal(0, 1, (2, n)), axis=1)
    brown -= np.linspace(brown[:, :1], brown[:, -1:], n, axis=1)[..., 0]  # remove drift
    brown = 0.15 * brown / np.abs(brown).max()
    t = np.arange(n) / rate
    chime = np.zeros(n)
    for start in np.arange(0.5, seconds, 4.0):
        for k, freq in enumerate((660.0, 880.0)):
            s = start + 0.25 * k
            env = np.where(t >= s, np.exp(-(t - s) * 4.0), 0.0)
            chime += 0.2 * env * np.sin(2 * np.pi * freq * (t - s))
    return (brown + chime[None]).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vtest", type=Path, help="path to vtest.avi (default: fetch opencv-doc)")
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("samples/vtest.mp4"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src = args.vtest or fetch_vtest(Path(tmp))
        with av.open(str(src)) as container:
            stream = container.streams.video[0]
            fps = float(stream.average_rate or 10)
            frames = [f.to_ndarray(format="rgb24") for i, f in enumerate(container.decode(stream))
                      if args.start <= i < args.start + args.frames]
    seconds = len(frames) / fps
    args.out.parent.mkdir(parents=True, exist_ok=True)
    written = write_clip(args.out, frames, fps=fps, audio=street_audio(seconds),
                         options={"movflags": "faststart"})
    print(f"wrote {args.out}: {written} frames, {seconds:.1f} s, {args.out.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
