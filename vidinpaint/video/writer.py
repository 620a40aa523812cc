"""Encode RGB frames with PyAV in a background thread, copying the input's audio alongside.

Video frames keep the pts/time base they were decoded with. Audio packets are read from the
input a second time and interleaved by timestamp, copied as they are when the output container
accepts the codec, re-encoded to AAC otherwise. Rotation metadata is written back.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av

from ..config import EncodeConfig
from ..errors import OutputError
from ..frames import Frame
from ..threads import Sink
from .reader import VideoInfo, _open, stored

# Tried in order when the configured encoder is not in this FFmpeg build.
FALLBACK_CODECS = ("libx264", "libopenh264", "mpeg4")


def encoder_opens(name: str, config: EncodeConfig, width: int = 64, height: int = 64) -> str | None:
    """None if encoder ``name`` opens here, else FFmpeg's reason. Hardware encoders can be
    compiled in and still fail (no NVENC in the driver or container, too many sessions)."""
    try:
        ctx = av.CodecContext.create(name, "w")
        ctx.width, ctx.height, ctx.pix_fmt = width, height, "yuv420p"
        ctx.time_base = Fraction(1, 25)
        ctx.options = encoder_options(name, config)
        ctx.open()
        return None
    except (av.FFmpegError, ValueError) as err:
        return str(err).split(";")[0]


def choose_codec(requested: str, config: EncodeConfig | None = None) -> tuple[str, str]:
    """The encoder to use and why: ``requested`` if this FFmpeg build has it and it opens,
    else the first fallback that does."""
    config = config or EncodeConfig()
    reasons = []
    for name in dict.fromkeys((requested, *FALLBACK_CODECS)):
        if name not in av.codecs_available:
            reasons.append(f"{name} not in this FFmpeg build")
            continue
        failure = encoder_opens(name, config)
        if failure is None:
            return name, "; ".join(reasons)
        reasons.append(f"{name} does not open: {failure}")
    raise OutputError(f"no usable video encoder: {'; '.join(reasons)}")


def encoder_options(codec: str, config: EncodeConfig) -> dict[str, str]:
    """Quality/speed options in the dialect of each encoder family."""
    if codec in ("libx264", "libx265"):
        return {"crf": str(config.crf), "preset": config.preset}
    if codec.endswith("_nvenc"):
        preset = config.preset if config.preset.startswith("p") else "p4"
        return {"preset": preset, "rc": "vbr", "cq": str(config.crf)}
    return {}


class VideoWriter:
    """Write :class:`Frame` objects to ``path`` with the timing, rotation and audio of ``info``.

    Args:
        path: the file to create (normally a temporary path; see :func:`vidinpaint.atomic.atomic_path`).
        info: the input's :class:`VideoInfo`; its audio stream is copied from ``info.path``.
        config: encoder settings.
        container_format: muxer name, when ``path``'s extension does not say it.
    """

    def __init__(self, path: Path, info: VideoInfo, config: EncodeConfig,
                 container_format: str | None = None) -> None:
        self.info = info
        self.config = config
        self.frames_written = 0
        try:
            self._out = av.open(str(path), mode="w", format=container_format)
        except (av.FFmpegError, OSError, ValueError) as err:
            raise OutputError(f"cannot create {path}: {err}") from None
        try:
            self.codec, self.fallback_reason = choose_codec(config.codec, config)
            self._video = self._add_video()
            self.audio_mode, self._audio = self._add_audio()
        except BaseException:
            self._out.close()
            raise
        self._audio_packets = self._audio_source()
        self._pending_audio: av.Packet | None = None
        self._sink: Sink[Frame] = Sink(self._encode, config.queue_size, name="encode")

    @property
    def backend(self) -> str:
        """One line saying what the encoder really does."""
        opts = encoder_options(self.codec, self.config)
        detail = ", ".join(f"{k} {v}" for k, v in opts.items())
        fallback = "" if self.codec == self.config.codec else f" (fallback: {self.fallback_reason})"
        return f"{self.codec}{fallback} {self._video.pix_fmt}" + (f" [{detail}]" if detail else "") + \
            f", audio: {self.audio_mode}"

    def _add_video(self) -> av.video.stream.VideoStream:
        info = self.info
        rate = info.average_rate or Fraction(25)
        stream = self._out.add_stream(self.codec, rate=rate, options=encoder_options(self.codec, self.config))
        stream.width, stream.height = info.width, info.height
        pix_fmt = self.config.pix_fmt
        if (info.width % 2 or info.height % 2) and pix_fmt in ("yuv420p", "nv12", "yuv422p"):
            pix_fmt = "yuv444p"  # 4:2:0 / 4:2:2 cannot represent odd sizes; keep every pixel
        stream.pix_fmt = pix_fmt
        stream.time_base = info.time_base
        stream.codec_context.time_base = info.time_base
        if info.rotation:
            stream.set_display_rotation(info.rotation)
        return stream

    def _add_audio(self) -> tuple[str, av.audio.stream.AudioStream | None]:
        audio = self.info.audio
        if audio is None or self.config.audio == "none":
            return "none", None
        if self.config.audio == "copy" and self._accepts_copy():
            with _open(self.info.path) as src:
                stream = self._out.add_stream_from_template(src.streams.audio[0])
            return f"copy ({audio.codec})", stream
        if "aac" not in self._out.supported_codecs:
            return f"dropped ({self._out.format.name} accepts neither {audio.codec} nor aac)", None
        stream = self._out.add_stream("aac", rate=audio.sample_rate or 48000)
        how = "re-encoded to aac" + ("" if self.config.audio == "aac" else f" ({self._out.format.name} refuses {audio.codec})")
        return how, stream

    def _accepts_copy(self) -> bool:
        """Whether the muxer takes the input's audio packets as they are.

        ``supported_codecs`` alone is not enough (FFmpeg lists PCM for MP4, then refuses its
        channel layout when the file is finished), so a tiny file with the first audio packet is
        written to memory first.
        """
        if self.info.audio is None or self.info.audio.codec not in self._out.supported_codecs:
            return False
        try:
            with _open(self.info.path) as src, av.open(io.BytesIO(), "w", format=self._out.format.name) as trial:
                stream = trial.add_stream_from_template(src.streams.audio[0])
                for packet in src.demux(src.streams.audio[0]):
                    if packet.dts is not None:
                        packet.stream = stream
                        trial.mux(packet)
                        break
            return True
        except (av.FFmpegError, ValueError):
            return False

    def _audio_source(self) -> Iterator[av.Packet]:
        """Audio packets for the output, in order, copied or re-encoded."""
        if self._audio is None:
            return iter(())
        return self._copy_audio() if self.audio_mode.startswith("copy") else self._transcode_audio()

    def _copy_audio(self) -> Iterator[av.Packet]:
        with _open(self.info.path) as src:
            for packet in src.demux(src.streams.audio[0]):
                if packet.dts is None:
                    continue
                packet.stream = self._audio
                yield packet

    def _transcode_audio(self) -> Iterator[av.Packet]:
        with _open(self.info.path) as src:
            for frame in src.decode(src.streams.audio[0]):
                yield from self._audio.encode(frame)
        yield from self._audio.encode(None)

    def _mux_audio_until(self, seconds: float | None) -> None:
        """Mux pending audio up to ``seconds`` (None = all), keeping the file interleaved."""
        while True:
            packet = self._pending_audio or next(self._audio_packets, None)
            if packet is None:
                return
            if seconds is not None and packet.pts is not None and packet.time_base is not None \
                    and float(packet.pts * packet.time_base) > seconds:
                self._pending_audio = packet
                return
            self._pending_audio = None
            self._out.mux(packet)

    def _encode(self, frame: Frame | None) -> None:
        if frame is None:
            packets = self._video.encode(None)
        else:
            vf = av.VideoFrame.from_ndarray(stored(frame.rgb, self.info.rotation), format="rgb24")
            vf.pts = frame.pts
            vf.time_base = frame.time_base
            packets = self._video.encode(vf)
            self._mux_audio_until(frame.seconds)
        self._out.mux(packets)

    def write(self, frame: Frame) -> None:
        """Queue one frame (RGB, display orientation) for encoding; blocks if the encoder lags."""
        self._sink.put(frame)
        self.frames_written += 1

    def close(self) -> None:
        """Flush the encoder and the remaining audio, and finish the file."""
        try:
            self._sink.put(None)
            self._sink.close()
            self._mux_audio_until(None)
        finally:
            self._out.close()

    def abort(self) -> None:
        """Stop without finishing the file (the caller deletes it)."""
        try:
            self._sink.close()
        except BaseException:  # noqa: BLE001 - the original error matters, not this one
            pass
        finally:
            self._out.close()
