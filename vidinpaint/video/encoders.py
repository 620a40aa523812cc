"""Which encoder, pixel format and options an output gets, decided from its container and input.

Before, every output got libx264: `clip.webm` crashed in the muxer, `--codec bogus` silently
became libx264 and `--crf` did nothing for VP9. Now the container picks the default encoder
(WebM -> VP9, HDR -> x265, ProRes in MOV -> ProRes), a requested encoder either works or is an
error, and only the default may fall back (the stage line says why).
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import av
import av.logging

from ..config import EncodeConfig
from ..errors import OutputError
from .colour import BT470BG, FIELD_ORDERS, JPEG, UNSPECIFIED, Colour, pixel_layout

# Output extension -> FFmpeg muxer. Anything else (GIF, PNG...) is not a video vidinpaint writes.
CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm",
              ".avi": "avi", ".ts": "mpegts", ".m2ts": "mpegts", ".mts": "mpegts"}
# Default encoders per muxer, best first; later ones are fallbacks when a build lacks the first.
_H264 = ("libx264", "libopenh264", "mpeg4")
# AVI stores no presentation times: H.264's reordered frames came out a frame late (pts 1..n, and
# out of order with B-frames), so AVI gets MPEG-4 Part 2, its own muxer's default, as FFmpeg does.
_DEFAULTS = {"webm": ("libvpx-vp9", "libvpx", "libsvtav1"), "avi": ("mpeg4", "libx264", "libopenh264")}
# Encoders whose options below map --crf onto a constant-quality mode.
CRF_CODECS = frozenset({"libx264", "libx265", "libvpx-vp9", "libvpx", "libaom-av1", "libsvtav1"})


def container_format(path: Path) -> str:
    """The muxer for ``path``'s extension, or an :class:`OutputError` naming the allowed ones."""
    fmt = CONTAINERS.get(path.suffix.lower())
    if fmt is None:
        allowed = ", ".join(CONTAINERS)
        what = f"'{path.suffix}'" if path.suffix else "no extension"
        raise OutputError(f"output {path} has {what}; a video output needs one of {allowed}")
    return fmt


def default_codecs(fmt: str, colour: Colour, input_codec: str, gpu: bool = False) -> tuple[str, ...]:
    """Encoders to try, in order, when the user did not ask for one; with ``gpu`` (the run's device
    is CUDA) 8-bit SDR H.264 tries NVENC first, which frees the CPU the other stages need."""
    if fmt in _DEFAULTS:
        return _DEFAULTS[fmt]
    if fmt == "mov" and input_codec == "prores":
        return ("prores_ks", "prores", *_H264)
    if colour.hdr or colour.depth > 10:  # x265 keeps HDR's tags, and 12 bits where x264 keeps 10
        return ("libx265", *_H264)
    return ("h264_nvenc", *_H264) if gpu and colour.depth == 8 else _H264


# NVENC's presets in x264/x265's names, fastest to slowest (NVENC's p4 is its default, as medium is x264's): a
# run that asked for NVENC's p4 on a node where NVENC does not open falls back to libx264, which refused "p4"
NVENC_AS_X264 = {"p1": "ultrafast", "p2": "superfast", "p3": "veryfast", "p4": "medium", "p5": "slow",
                 "p6": "slower", "p7": "veryslow"}


def encoder_options(codec: str, config: EncodeConfig, colour: Colour | None = None) -> dict[str, str]:
    """Quality/speed options in each encoder's dialect (CRF for x264/x265, VP9 and AV1)."""
    crf = str(config.crf)
    preset = NVENC_AS_X264.get(config.preset, config.preset)
    if codec == "libx264":
        opts = {"crf": crf, "preset": preset}
        if colour is not None and colour.interlaced:
            opts["x264-params"] = "tff=1" if colour.field_order in (2, 4) else "bff=1"
        return opts
    if codec == "libx265":
        params = ["log-level=error"] + ([colour.x265_hdr()] if colour is not None and colour.x265_hdr() else [])
        return {"crf": crf, "preset": preset, "x265-params": ":".join(params)}
    if codec in ("libvpx-vp9", "libvpx"):
        return {"crf": crf, "b": "0", "deadline": "realtime", "cpu-used": "8", "row-mt": "1"}
    if codec == "libaom-av1":
        return {"crf": crf, "b": "0", "cpu-used": "8", "usage": "realtime"}
    if codec == "libsvtav1":
        return {"crf": crf, "preset": "10"}
    if codec in ("mjpeg", "mpeg4", "mpeg2video"):
        # Fixed quantiser 2 (FFmpeg's -q:v 2; 118 = lambda per qp): their default bit rate is 200 kb/s.
        return {"flags": "+qscale", "global_quality": str(2 * 118)}
    if codec.endswith("_nvenc"):
        preset = config.preset if config.preset in NVENC_AS_X264 else "p4"  # "placebo" starts with a p too
        return {"preset": preset, "rc": "vbr", "cq": crf}
    return {}


def has_crf(codec: str) -> bool:
    return codec in CRF_CODECS or codec.endswith("_nvenc")


def pix_fmt_for(codec: str, colour: Colour, config: EncodeConfig, width: int, height: int) -> str:
    """The input's chroma and bit depth when the encoder has them, else the nearest it has.

    ``config.pix_fmt`` other than ``auto`` wins. Odd sizes need 4:4:4 (4:2:0 halves them).
    """
    if config.pix_fmt != "auto":
        return config.pix_fmt
    chroma = "444" if width % 2 or height % 2 else colour.chroma
    depths = [d for d, above in (("16le", 12), ("12le", 10), ("10le", 8), ("", 0)) if colour.depth > above]
    supported = {f.name for f in av.Codec(codec, "w").video_formats or ()}
    wanted = [f"yuv{c}p{deep}" for deep in depths for c in dict.fromkeys((chroma, "444", "422", "420"))]
    wanted += [f"yuvj{chroma}p", "yuvj420p", "yuv420p", "yuv444p"]
    return next((f for f in wanted if f in supported), next(iter(sorted(supported)), "yuv420p"))


def output_colour(codec: str, colour: Colour, fmt: str = "") -> Colour:
    """The colour an encoder writes: the input's, except where its bitstream fixes it.

    JPEG (JFIF) is BT.601 full range, and decoders read MJPEG so whatever the container says, so
    MJPEG is converted to that rather than carrying a matrix no player would apply. MPEG-4 Part 2
    in AVI (AVI's default) stores no colour tags at all, so it is converted to what players assume
    of untagged video (limited range, BT.601, BT.709 above 576 lines): full-range input came out
    untagged and played with crushed blacks, under a stage line that named the input's tags.
    """
    if codec == "mjpeg":
        return replace(colour, matrix=BT470BG, range=JPEG)
    if codec == "mpeg4" and fmt == "avi":
        return replace(colour, matrix=UNSPECIFIED, primaries=UNSPECIFIED, transfer=UNSPECIFIED, range=0)
    return colour


CHROMA_DETAIL = {"420": 0, "422": 1, "444": 2}  # how much colour detail each subsampling keeps


def lost_precision(colour: Colour, encoder: Encoder, config: EncodeConfig, size: tuple[int, int]) -> list[str]:
    """What of the input's pixels ``encoder`` cannot keep, said in words for a warning: bits
    (a 12- or 16-bit input came out 10-bit, with a stage line that said 12), chroma and alpha
    (transparency dropped without a word); and the 4:4:4 an odd frame size forces on a 4:2:0
    input, which many players cannot play (it came out without a word). ``size``: the output's
    (width, height). A ``pix_fmt`` the user asked for is their choice."""
    lost = []
    written = encoder.colour
    if config.pix_fmt == "auto" and written.depth < colour.depth:
        lost.append(f"its {colour.depth}-bit video is written in {written.depth} bits ({encoder.pix_fmt}: the most "
                    f"{encoder.codec} writes here)")
    if config.pix_fmt == "auto" and CHROMA_DETAIL[written.chroma] < CHROMA_DETAIL[colour.chroma]:
        lost.append(f"its {colour.chroma} chroma is written as {written.chroma} ({encoder.pix_fmt}: the most "
                    f"{encoder.codec} keeps here)")
    if config.pix_fmt == "auto" and CHROMA_DETAIL[written.chroma] > CHROMA_DETAIL[colour.chroma] and (
            size[0] % 2 or size[1] % 2):
        lost.append(f"its {colour.chroma} frames of {size[0]}x{size[1]} (an odd side) are written as "
                    f"{written.chroma} ({encoder.pix_fmt}, {encoder.codec}), which many players (web browsers, "
                    f"QuickTime, hardware decoders) cannot play; an even size keeps {colour.chroma}")
    if colour.alpha:
        lost.append("its alpha channel (transparency) is not kept: the output is opaque")
    return lost


@dataclass(frozen=True)
class Encoder:
    """The encoder chosen for an output, its pixel format and options, the colour it writes
    (see :func:`output_colour`), and the reason for a fallback."""

    codec: str
    pix_fmt: str
    options: dict[str, str]
    colour: Colour
    note: str = ""

    def describe(self) -> str:
        """``libx264 yuv420p [crf 18, ...], colour ...``: what really runs, for the encode stage line."""
        detail = ", ".join(f"{k} {v}" for k, v in self.options.items())
        fallback = f" (fallback: {self.note})" if self.note else ""
        return (f"{self.codec}{fallback} {self.pix_fmt}" + (f" [{detail}]" if detail else "")
                + f", colour {self.colour.describe()}{self._hdr()}{self._scan()}")

    def _hdr(self) -> str:
        hdr10 = self.colour.x265_hdr()
        if not hdr10:
            return ""
        kept = hdr10 in self.options.get("x265-params", "")
        return ", HDR10 metadata " + ("kept" if kept else f"not written ({self.codec} cannot be given it)")

    def _scan(self) -> str:
        if not self.colour.interlaced:
            return ""
        how = "fields coded as such" if "x264-params" in self.options else \
            f"{self.codec} codes the woven frames as progressive, nothing deinterlaced"
        return f", field order {FIELD_ORDERS[self.colour.field_order]} tagged ({how})"


def _trial(codec: str, fmt: str, pix_fmt: str, options: dict[str, str], colour: Colour,
           size: tuple[int, int]) -> str | None:
    """None if ``codec`` opens at ``size`` with these options and a ``fmt`` muxer writes its header;
    else why not.

    The trial uses the output's size, capped at 640x480: hardware encoders have a minimum (NVENC
    H.264's is about 145x96), so a 64x64 trial refused NVENC where the real video opens, and
    VP9 and AV1 take seconds to open at 4K. (Encoding a frame here as well made libx265 fail now
    and then on a one-frame flush.)
    """
    width, height = min(size[0], 640), min(size[1], 480)
    try:
        with _ffmpeg_errors() as logged:
            ctx = av.CodecContext.create(codec, "w")
            ctx.width, ctx.height, ctx.pix_fmt, ctx.time_base = width, height, pix_fmt, Fraction(1, 25)
            ctx.options = dict(options)
            colour.tag(ctx)
            ctx.open()
    except (av.FFmpegError, ValueError) as err:
        return f"{codec} does not open with {pix_fmt}: {_reason(err, logged)}{_nvenc_hint(codec)}"
    try:
        with av.open(io.BytesIO(), "w", format=fmt) as out:
            stream = out.add_stream(codec, rate=25, options=options)
            stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
            stream.codec_context.time_base = Fraction(1, 25)
            colour.tag(stream.codec_context)
            out.start_encoding()
        return None
    except (av.FFmpegError, ValueError, OSError) as err:
        return f"the {fmt} muxer does not take {codec} ({_reason(err)})"


@contextlib.contextmanager
def _ffmpeg_errors() -> Iterator[list[tuple[int, str, str]]]:
    """FFmpeg's error messages logged inside the block: an encoder's open says only "Generic error
    in an external library" where its log says why (NVENC's "OpenEncodeSessionEx failed")."""
    level = av.logging.get_level()
    av.logging.set_level(av.logging.ERROR)
    try:
        with av.logging.Capture() as logged:
            yield logged
    finally:
        av.logging.set_level(level)


def _reason(err: Exception, logged: Sequence[tuple[int, str, str]] = ()) -> str:
    """FFmpeg's words without PyAV's errno and call decorations, and what FFmpeg logged."""
    text = getattr(err, "strerror", None) or str(err).split(";")[0].split(": '")[0].strip()
    said = "; ".join(dict.fromkeys(message.strip() for _, _, message in logged if message.strip()))
    return f"{text} ({said})" if said else text


def _nvenc_hint(codec: str) -> str:
    """Why NVENC may not open in a container: the NVIDIA runtime mounts the encoder's device
    support only with the ``video`` driver capability (seen on a lent H200 node, whose container
    had ``compute,graphics,utility``: "OpenEncodeSessionEx failed: unsupported device")."""
    caps = os.environ.get("NVIDIA_DRIVER_CAPABILITIES")
    if not codec.endswith("_nvenc") or caps is None or {"all", "video"} & set(caps.split(",")):
        return ""
    return (f"; this container's NVIDIA_DRIVER_CAPABILITIES={caps} lacks video, which NVENC needs "
            f"(start it with e.g. NVIDIA_DRIVER_CAPABILITIES=compute,video,utility)")


def choose_encoder(config: EncodeConfig, fmt: str, colour: Colour, input_codec: str,
                   size: tuple[int, int], gpu: bool = False) -> Encoder:
    """The encoder for a ``fmt`` output of ``size`` (width, height).

    A requested ``config.codec`` must exist and open (else :class:`OutputError`); ``auto``
    takes the container's default, falling back along :func:`default_codecs` with the reason.
    """
    requested = config.codec != "auto"
    names = (config.codec,) if requested else default_codecs(fmt, colour, input_codec, gpu)
    reasons = []
    for name in names:
        if name not in av.codecs_available:
            reasons.append(f"{name} is not in this FFmpeg build")
            continue
        try:
            if av.Codec(name, "w").type != "video":
                reasons.append(f"{name} is not a video encoder")
                continue
        except (av.FFmpegError, ValueError):
            reasons.append(f"{name} is not an encoder")
            continue
        if requested and config.crf != EncodeConfig.crf and not has_crf(name):
            raise OutputError(f"--crf does not apply to {name} (it has no CRF mode); "
                              f"leave --crf out or use libx264, libx265, libvpx-vp9 or libsvtav1")
        written = output_colour(name, colour, fmt)
        pix_fmt = pix_fmt_for(name, written, config, *size)
        options = encoder_options(name, config, written)
        failure = _trial(name, fmt, pix_fmt, options, written, size)
        if failure is None:
            depth, chroma, _ = pixel_layout(pix_fmt)  # what is written, which the stage line says
            return Encoder(name, pix_fmt, options, replace(written, depth=depth, chroma=chroma, alpha=False),
                           "; ".join(reasons))
        reasons.append(failure)
    if requested:
        raise OutputError(f"--codec {config.codec}: {reasons[0]}")
    raise OutputError(f"no usable video encoder for {fmt}: {'; '.join(reasons)}")
