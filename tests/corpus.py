"""Real-world container shapes made with PyAV: several audio tracks, subtitles, chapters,
metadata, dispositions, colour tags (BT.709, full range, HDR10), ProRes, VP9, interlaced MPEG-2.

Each builder writes a tiny clip (a few frames) so a round trip through ``vidinpaint clean``
takes a second or two.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from vidinpaint.synthetic import background, tone

# The minimal ASS header FFmpeg's text subtitle encoders need (their own default is not public).
ASS_HEADER = (b"[Script Info]\nScriptType: v4.00+\nPlayResX: 384\nPlayResY: 288\n\n[V4+ Styles]\n"
              b"Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
              b"Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, "
              b"Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\n"
              b"Style: Default,Arial,16,&Hffffff,&Hffffff,&H0,&H0,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,0\n\n"
              b"[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n")
SUBTITLES = ("hello there", "second line")
CHAPTERS = ("Opening", "Ending")
FONT = b"\x00\x01\x00\x00" + bytes(range(256))  # a TrueType header, then anything


def frames(width: int, height: int, n: int, seed: int = 3) -> list[np.ndarray]:
    """``n`` textured RGB frames panning slowly (uint8 HxWx3)."""
    bg = background(width, height, seed)
    return [np.roll(bg, 2 * i, axis=1) for i in range(n)]


def _video(out: av.container.OutputContainer, codec: str, size: tuple[int, int], pix_fmt: str, fps: int,
           options: dict[str, str] | None = None, **tags: int) -> av.video.stream.VideoStream:
    stream = out.add_stream(codec, rate=fps, options=options or {})
    stream.width, stream.height = size
    stream.pix_fmt = pix_fmt
    for key, value in tags.items():
        setattr(stream.codec_context, key, value)
    return stream


def _encode_video(out, stream, rgbs: list[np.ndarray], fmt: str = "rgb24", start: int = 0, **reformat) -> None:
    ctx = stream.codec_context
    for i, rgb in enumerate(rgbs, start=start):
        vf = av.VideoFrame.from_ndarray(rgb, format=fmt)
        vf = vf.reformat(format=stream.pix_fmt, **reformat) if reformat else vf
        for key in ("colorspace", "color_range", "color_primaries", "color_trc"):
            setattr(vf, key, getattr(ctx, key))
        vf.pts = i
        vf.time_base = Fraction(1, int(stream.average_rate))
        out.mux(stream.encode(vf))
    out.mux(stream.encode(None))


def two_videos(path: Path) -> Path:
    """A 64x48 picture of 10 frames and a second, 32x24 one of 4 frames coded with B-frames (in
    Matroska the first packets of such a stream carry no decoding time)."""
    with av.open(str(path), "w") as out:
        first, second = _video(out, "libx264", (64, 48), "yuv420p", 25), _video(out, "libx264", (32, 24), "yuv420p", 10)
        _encode_video(out, first, frames(64, 48, 10))
        _encode_video(out, second, frames(32, 24, 4))
    return path


def raw_h264(path: Path, n: int, size: tuple[int, int] = (64, 48)) -> Path:
    """An H.264 elementary stream of ``n`` frames: no container, so neither a frame count nor a
    duration is declared."""
    with av.open(str(path), "w", format="h264") as out:
        _encode_video(out, _video(out, "libx264", size, "yuv420p", 25), frames(*size, n))
    return path


def _audio(out, codec: str, seconds: float, freq_scale: float = 1.0, language: str | None = None,
           title: str | None = None, default: bool = False, layout: str = "stereo") -> None:
    stream = out.add_stream(codec, rate=48000)
    stream.layout = layout
    _tag(stream, language, title, default)
    return stream


def _tag(stream, language: str | None, title: str | None, default: bool, forced: bool = False) -> None:
    if language:
        stream.metadata["language"] = language
    if title:
        stream.metadata["title"] = title
    flags = (av.stream.Disposition.default if default else 0) | (av.stream.Disposition.forced if forced else 0)
    stream.disposition = av.stream.Disposition(flags)


def _mux_audio(out, stream, seconds: float) -> None:
    layout = stream.layout.name
    samples = tone(seconds, channels=stream.channels)
    size = stream.codec_context.frame_size or 1024
    for start in range(0, samples.shape[1], size):
        chunk = np.ascontiguousarray(samples[:, start:start + size])
        if stream.format.name == "s16":  # FLAC and PCM take integers
            chunk = np.ascontiguousarray((chunk * 32767).astype(np.int16).T.reshape(1, -1))
        af = av.AudioFrame.from_ndarray(chunk, format="fltp" if chunk.dtype == np.float32 else "s16", layout=layout)
        af.sample_rate, af.pts, af.time_base = 48000, start, Fraction(1, 48000)
        out.mux(stream.encode(af))
    out.mux(stream.encode(None))


def _subtitle(out, codec: str, language: str, title: str, default: bool = False, forced: bool = False):
    stream = out.add_stream(codec)
    stream.codec_context.subtitle_header = ASS_HEADER
    _tag(stream, language, title, default=default, forced=forced)
    return stream


def _mux_subtitles(out, stream) -> None:
    """Two cues, 0.1-0.3 s and 0.4-0.6 s."""
    tb = stream.time_base
    for i, text in enumerate(SUBTITLES):
        start, end = int(Fraction(1 + 3 * i, 10) / tb), int(Fraction(3 + 3 * i, 10) / tb)
        packet = stream.codec_context.encode_subtitle(
            av.subtitles.subtitle.SubtitleSet.create(f"{i},0,Default,,0,0,0,,{text}".encode(), 0, end - start,
                                                     pts=start))
        packet.stream, packet.pts, packet.dts, packet.duration = stream, start, start, end - start
        out.mux(packet)


def _chapters(out, seconds: float) -> None:
    half = int(seconds * 500)
    out.set_chapters([{"id": i + 1, "start": i * half, "end": (i + 1) * half, "time_base": Fraction(1, 1000),
                       "metadata": {"title": title}} for i, title in enumerate(CHAPTERS)])


def multi_track(path: Path, subtitle_codecs: tuple[str, ...], video_start: int = 0) -> Path:
    """Two audio languages, subtitles, chapters, title and creation time (MP4 or MKV); the
    picture starts ``video_start`` frames after the sound."""
    n, fps = 8, 10
    with av.open(str(path), "w") as out:
        out.metadata["title"] = "corpus clip"
        out.metadata["creation_time"] = "2024-05-01T12:00:00.000000Z"
        video = _video(out, "libx264", (96, 64), "yuv420p", fps, {"preset": "ultrafast"})
        _tag(video, "und", None, default=True)
        english = _audio(out, "aac", 0.8, language="eng", title="English", default=True)
        french = _audio(out, "aac", 0.8, language="fra", title="Commentaire")
        subs = [_subtitle(out, codec, lang, f"{lang} subs", default=i == 0, forced=i == 1)
                for i, (codec, lang) in enumerate(zip(subtitle_codecs, ("eng", "fra", "deu")))]
        _chapters(out, n / fps)
        out.start_encoding()
        _encode_video(out, video, frames(96, 64, n - video_start), start=video_start)
        for stream in (english, french):
            _mux_audio(out, stream, n / fps)
        for stream in subs:
            _mux_subtitles(out, stream)
    return path


def with_font(path: Path) -> Path:
    """A Matroska clip carrying a font for its subtitles, as an attachment."""
    with av.open(str(path), "w") as out:
        video = _video(out, "libx264", (96, 64), "yuv420p", 10, {"preset": "ultrafast"})
        out.add_attachment("Subs.ttf", "font/ttf", FONT)
        out.start_encoding()
        _encode_video(out, video, frames(96, 64, 4))
    return path


def cover(path: Path) -> Path:
    """A clip with cover art: a Matroska attachment (image/jpeg), or MP4's attached picture ('covr')."""
    jpeg = bytes(cv2.imencode(".jpg", frames(32, 32, 1)[0])[1])
    with av.open(str(path), "w") as out:
        video = _video(out, "libx264", (96, 64), "yuv420p", 10, {"preset": "ultrafast"})
        if path.suffix == ".mkv":
            out.add_attachment("poster.jpg", "image/jpeg", jpeg)
        else:
            picture = out.add_stream("mjpeg")
            picture.width, picture.height, picture.pix_fmt = 32, 32, "yuvj420p"
            picture.disposition = av.stream.Disposition.attached_pic
        out.start_encoding()
        if path.suffix != ".mkv":
            packet = av.Packet(jpeg)
            packet.stream = picture
            out.mux(packet)
        _encode_video(out, video, frames(96, 64, 4))
    return path


def sound(path: Path, layout: str = "5.1", codec: str = "flac", sound_first: bool = False) -> Path:
    """0.4 s of ``codec`` sound in ``layout`` with as long a picture, in the container ``path`` names
    (``sound_first``: the sound is stream 0, as some cameras write it).
    Many-channel FLAC (the default) in MKV: WebM and MP4 outputs must re-encode it."""
    with av.open(str(path), "w") as out:
        track = _audio(out, codec, 0.4, layout=layout) if sound_first else None
        video = _video(out, "libx264", (96, 64), "yuv420p", 10, {"preset": "ultrafast"})
        track = track or _audio(out, codec, 0.4, layout=layout)
        out.start_encoding()
        _encode_video(out, video, frames(96, 64, 4))
        _mux_audio(out, track, 0.4)
    return path


def tagged(path: Path, codec: str, size: tuple[int, int], pix_fmt: str, n: int = 4, *, deep: bool = False,
           options: dict[str, str] | None = None, fps: int = 10, timecode: str | None = None, **tags: int) -> Path:
    """A clip whose colour tags say how it was encoded (``deep``: converted from 16-bit RGB);
    ``timecode`` makes MOV/MP4 muxers add a timecode track."""
    rgbs = frames(*size, n)
    with av.open(str(path), "w") as out:
        video = _video(out, codec, size, pix_fmt, fps, options, **tags)
        if timecode:
            video.metadata["timecode"] = timecode
        ctx = video.codec_context
        reformat = {"dst_colorspace": ctx.colorspace if ctx.colorspace in (1, 5, 9) else 5,
                    "dst_color_range": ctx.color_range or 1}
        if deep:
            rgbs = [rgb.astype(np.uint16) * 257 + np.uint16(i * 40) for i, rgb in enumerate(rgbs)]
        _encode_video(out, video, rgbs, "rgb48le" if deep else "rgb24", **reformat)
    return path


HDR10 = {"x265-params": "log-level=error:hdr10=1:master-display=G(13250,34500)B(7500,3000)R(34000,16000)"
                        "WP(15635,16450)L(10000000,50):max-cll=1000,400", "preset": "ultrafast"}


def hdr10(path: Path) -> Path:
    """HEVC Main10, BT.2020 / PQ, with mastering display and content light level metadata."""
    return tagged(path, "libx265", (96, 64), "yuv420p10le", deep=True, options=HDR10,
                  colorspace=9, color_primaries=9, color_trc=16, color_range=1)


def interlaced(path: Path) -> Path:
    """MPEG-2 in MPEG-TS, coded as interlaced, top field first."""
    rgbs = frames(96, 64, 6)
    with av.open(str(path), "w") as out:
        video = _video(out, "mpeg2video", (96, 64), "yuv420p", 25, {"flags": "+ilme+ildct", "top": "1"})
        video.codec_context.field_order = 2  # AV_FIELD_TT
        _encode_video(out, video, rgbs)
    return path
