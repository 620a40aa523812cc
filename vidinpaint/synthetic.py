"""Synthetic clips with known truth, for tests and benchmarks.

A static textured background with person-shaped blobs (body ellipse + head disc) walking across
it: the true mask and the true background are known for every frame. Clips are written with
PyAV, optionally with an audio track, variable timestamps and rotation metadata.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np


def background(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A smooth but structured ``HxWx3 uint8`` background (gradients, stripes, soft blobs)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.stack([
        90 + 60 * x / max(width, 1),
        110 + 50 * np.sin(y / max(height, 1) * 3.0),
        140 - 40 * y / max(height, 1),
    ], axis=-1)
    img += 20 * np.sin(x / 23.0)[..., None]
    noise = cv2.GaussianBlur(rng.normal(0, 25, (height, width, 3)).astype(np.float32), (0, 0), 4)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def person_mask(width: int, height: int, cx: float, foot_y: float, tall: float) -> np.ndarray:
    """``HxW bool`` silhouette-like blob: an ellipse body with a disc head, feet at ``foot_y``."""
    mask = np.zeros((height, width), np.uint8)
    body_h, body_w = 0.42 * tall, 0.16 * tall
    cy = foot_y - 0.5 * 0.8 * tall
    cv2.ellipse(mask, (int(cx), int(cy)), (max(1, int(body_w)), max(1, int(body_h))), 0, 0, 360, 1, -1)
    cv2.circle(mask, (int(cx), int(foot_y - 0.9 * tall)), max(1, int(0.1 * tall)), 1, -1)
    return mask.astype(bool)


def walkers(width: int, height: int, frames: int, people: int = 2, seed: int = 0
            ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Yield ``(rgb, mask, background)`` per frame: people walking across a static background."""
    rng = np.random.default_rng(seed)
    bg = background(width, height, seed)
    tall = rng.uniform(0.35, 0.6, people) * height
    start = rng.uniform(0.1, 0.9, people) * width
    speed = rng.choice([-1, 1], people) * rng.uniform(0.004, 0.012, people) * width
    foot = rng.uniform(0.75, 0.95, people) * height
    colours = rng.integers(20, 235, (people, 3))
    for i in range(frames):
        rgb = bg.copy()
        mask = np.zeros((height, width), bool)
        for p in range(people):
            cx = (start[p] + speed[p] * i) % width
            m = person_mask(width, height, cx, foot[p], tall[p])
            rgb[m] = colours[p]
            mask |= m
        yield rgb, mask, bg


def tone(seconds: float, rate: int = 48000, channels: int = 2) -> np.ndarray:
    """A 440 Hz tone with a slow tremolo, ``channels x samples`` float32 (planar)."""
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.2 * np.sin(2 * np.pi * 440 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t))
    return np.repeat(wave[None].astype(np.float32), channels, axis=0)


def write_clip(path: str | Path, frames: Iterable[np.ndarray], fps: float = 25, *,
               pts: Sequence[int] | None = None, time_base: Fraction | None = None,
               codec: str = "libx264", pix_fmt: str = "yuv420p", rotation: int = 0,
               audio: np.ndarray | None = None, audio_codec: str = "aac",
               options: dict[str, str] | None = None) -> int:
    """Encode ``frames`` (``HxWx3 uint8`` RGB) to ``path``; returns the number of frames written.

    Args:
        pts: explicit timestamps in ``time_base`` units (variable frame rate); default 0, 1, 2...
        rotation: display rotation metadata in degrees (the frames are stored as given).
        audio: ``channels x samples`` float32 audio at 48 kHz (e.g. :func:`tone`), or None.
        options: muxer options (e.g. ``{"movflags": "faststart"}``).
    """
    rate = Fraction(fps).limit_denominator(1001)
    time_base = time_base or (1 / rate)
    count = 0
    with av.open(str(path), mode="w", options=options or {}) as out:
        video = None
        audio_stream = out.add_stream(audio_codec, rate=48000) if audio is not None else None
        for rgb in frames:
            if video is None:
                video = out.add_stream(codec, rate=rate)
                video.height, video.width = rgb.shape[:2]
                video.pix_fmt = pix_fmt
                video.time_base = time_base
                video.codec_context.time_base = time_base
                if rotation:
                    video.set_display_rotation(rotation)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = pts[count] if pts is not None else count
            frame.time_base = time_base
            out.mux(video.encode(frame))
            count += 1
        if video is not None:
            out.mux(video.encode(None))
        if audio_stream is not None:
            chunk = 1024
            layout = "stereo" if audio.shape[0] == 2 else "mono"
            for start in range(0, audio.shape[1], chunk):
                af = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio[:, start:start + chunk], np.float32),
                                                format="fltp", layout=layout)
                af.sample_rate = 48000
                af.pts = start
                af.time_base = Fraction(1, 48000)
                out.mux(audio_stream.encode(af))
            out.mux(audio_stream.encode(None))
    return count


def write_scaled(source: str | Path, path: str | Path, width: int, height: int, fps: float = 25,
                 frames: int | None = None) -> int:
    """Write ``source``'s first ``frames`` frames (all by default) resized to ``width`` x ``height``:
    real footage at a benchmark's size. The benchmarks scale the shipped sample's street, since a
    detector finds no people among the synthetic walkers above, and a run that removes nothing
    times decoding and encoding only."""
    from .video import VideoReader

    pictures = (cv2.resize(f.rgb, (width, height), interpolation=cv2.INTER_LINEAR) for f in VideoReader(source))
    return write_clip(path, itertools.islice(pictures, frames), fps=fps)
