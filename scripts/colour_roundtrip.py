#!/usr/bin/env python3
"""How far decode -> RGB -> encode moves unmasked pixels, with swscale's default flags and with
the flags vidinpaint uses (``vidinpaint/video/colour.py``).

For each pixel format and range, a textured frame is made in YUV, converted to RGB as the reader
does and back to YUV as the writer does, and the YUV planes are compared with the originals (in
code values of the format: 0-255, or 0-1023 for 10-bit). No encoder is involved: this is the
conversion alone, which every unmasked pixel goes through.

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


def roundtrip(frame: av.VideoFrame, colour: Colour, fmt: str, default_flags: bool) -> av.VideoFrame:
    """Decode to RGB and encode back, as the reader and writer do (or with swscale's defaults)."""
    if not default_flags:
        rgb, deep = colour.to_rgb(frame)
        return colour.from_rgb(rgb, deep, fmt)
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
    print(f"{'format':<12} {'range':<6} {'swscale defaults':>24} {'vidinpaint':>24}")
    for fmt, rng in FORMATS:
        depth = 10 if "10" in fmt else 8
        colour = Colour(matrix=1, primaries=1, transfer=1, range=rng, depth=depth,
                        chroma="422" if "422" in fmt else "420", height=180)
        source = colour.from_rgb(rgb, rgb.astype(np.uint16) * 257 if depth > 8 else None, fmt)
        cells = []
        for default_flags in (True, False):
            d = planes(roundtrip(source, colour, fmt, default_flags)) - planes(source)
            cells.append(f"bias {d.mean():+.2f} rms {np.sqrt(np.mean(d ** 2)):.2f}")
        print(f"{fmt:<12} {'full' if rng == JPEG else 'tv':<6} {cells[0]:>24} {cells[1]:>24}")


if __name__ == "__main__":
    main()
