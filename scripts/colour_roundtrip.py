#!/usr/bin/env python3
"""How far decode -> RGB -> encode moves unmasked pixels, with swscale's default flags and with
the flags vidinpaint uses (``vidinpaint/video/colour.py``).

For each pixel format and range, a textured frame is made in YUV, converted to RGB as the reader
does and back to YUV as the writer does, and the YUV planes are compared with the originals (in
code values of the format: 0-255, or 0-1023 for 10-bit). No encoder is involved. "conversion"
is RGB -> YUV alone; "vidinpaint" also reuses the decoded samples where the RGB is unchanged,
which is what every unmasked pixel gets.

Usage: python scripts/colour_roundtrip.py
"""

from __future__ import annotations

import platform

import av
import numpy as np

from vidinpaint.synthetic import background
from vidinpaint.video.colour import JPEG, MPEG, Colour

FORMATS = (("yuv420p", MPEG), ("yuvj420p", JPEG), ("yuv422p", MPEG), ("yuv420p10le", MPEG),
           ("yuv422p10le", MPEG))


def planes(frame: av.VideoFrame) -> np.ndarray:
    dtype = np.uint16 if "10" in frame.format.name else np.uint8
    return np.concatenate([np.frombuffer(bytes(p), dtype).reshape(p.height, -1)[:, :p.width].ravel()
                           for p in frame.planes]).astype(np.float64)


def roundtrip(frame: av.VideoFrame, colour: Colour, fmt: str, how: str) -> av.VideoFrame:
    """Decode to RGB and encode back: as the reader and writer do (``vidinpaint``), the same
    without reusing the decoded samples (``conversion``), or with swscale's defaults."""
    if how != "defaults":
        rgb, deep = colour.to_rgb(frame)
        return colour.from_rgb(rgb, deep, fmt) if how == "conversion" else colour.over_source(rgb, deep, fmt, frame)
    args = {"src_colorspace": colour.sws_matrix, "dst_colorspace": colour.sws_matrix}
    wide = colour.depth > 8
    rgb = frame.to_ndarray(format="rgb48le" if wide else "rgb24", src_color_range=colour.range,
                           dst_color_range=JPEG, **args)
    back = av.VideoFrame.from_ndarray(rgb, format="rgb48le" if wide else "rgb24")
    return back.reformat(format=fmt, src_color_range=JPEG, dst_color_range=colour.range, **args)


def main() -> None:
    print(f"{platform.node()}: {platform.processor() or platform.machine()}, PyAV {av.__version__}, "
          f"libswscale {'.'.join(map(str, av.library_versions['libswscale']))}")
    rgb = background(320, 180, 3)
    hows = ("defaults", "conversion", "vidinpaint")
    print(f"{'format':<12} {'range':<6} " + " ".join(f"{h:>24}" for h in ("swscale defaults", *hows[1:])))
    for fmt, rng in FORMATS:
        depth = 10 if "10" in fmt else 8
        colour = Colour(matrix=1, primaries=1, transfer=1, range=rng, depth=depth,
                        chroma="422" if "422" in fmt else "420", height=180)
        source = colour.from_rgb(rgb, rgb.astype(np.uint16) * 257 if depth > 8 else None, fmt)
        cells = []
        for how in hows:
            d = planes(roundtrip(source, colour, fmt, how)) - planes(source)
            cells.append(f"bias {d.mean():+.2f} rms {np.sqrt(np.mean(d ** 2)):.2f}")
        print(f"{fmt:<12} {'full' if rng == JPEG else 'tv':<6} " + " ".join(f"{c:>24}" for c in cells))


if __name__ == "__main__":
    main()
