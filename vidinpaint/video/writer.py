"""Encode RGB frames with PyAV in a background thread, with every other stream of the input.

Video frames keep the pts/time base they were decoded with, and are converted back to YUV with
the input's colour matrix and range, then tagged like the input (see ``colour.py``). The other
streams (audio, subtitles, data, chapters, metadata: see ``streams.py``) are read from the input
a second time and interleaved by timestamp. Rotation metadata and the pixel shape are written back
(AVI and MPEG-TS keep no rotation: there the pictures are written upright).
"""

from __future__ import annotations

import warnings
from fractions import Fraction
from pathlib import Path

import av

from ..config import EncodeConfig
from ..errors import OutputError, VidinpaintWarning
from ..frames import Frame
from ..threads import Sink
from . import encoders
from .reader import VideoInfo, _open, stored
from .streams import Passthrough, kept_metadata


MOV_MUXERS = {"mp4", "mov", "ipod", "3gp", "3g2", "psp", "ismv", "f4v"}  # FFmpeg's movenc, one timeline rule
ROTATING_MUXERS = MOV_MUXERS | {"matroska", "webm"}  # those that keep a display rotation
AVI_MAX_RATE = 120  # fps: a finer base rate (a variable-rate clip's) would fill AVI with empty frames


class VideoWriter:
    """Write :class:`Frame` objects to ``path`` with the timing, rotation, colour and other streams of ``info``.

    Args:
        path: the file to create (normally a temporary path; see :func:`vidinpaint.atomic.atomic_path`).
        info: the input's :class:`VideoInfo`; its other streams are copied from ``info.path``.
        config: encoder settings.
        container_format: muxer name, when ``path``'s extension does not say it.
        picture_only: write the picture alone, none of the input's other streams (mask videos).
        comment: the file's comment (metadata), if any.

    Raises:
        OutputError: an extension that is not a video container, a requested encoder that does not
            work, or a stream the container cannot hold (unless ``config.drop`` names its kind).
    """

    def __init__(self, path: Path, info: VideoInfo, config: EncodeConfig,
                 container_format: str | None = None, picture_only: bool = False, gpu: bool = False,
                 comment: str = "") -> None:
        self.info = info
        self.config = config
        self.frames_written = 0
        self._period: Fraction | None = None  # where the output counts frames (AVI): a frame's time
        self._tick = -1  # there, the latest frame's pts (both set before the video stream is placed)
        self._moved, self._moved_most = 0, 0.0  # there, how many frames could not keep their time, and how far (s)
        fmt = container_format or encoders.container_format(path)
        # where the container keeps no rotation (AVI, MPEG-TS) the pictures are written upright, as
        # players show the input: stored as the input stores them, untagged, they played sideways
        self._rotation = info.rotation if fmt in ROTATING_MUXERS else 0
        self._size = (info.width, info.height) if self._rotation == info.rotation else info.display_size
        self.encoder = encoders.choose_encoder(config, fmt, info.colour, info.codec, self._size, gpu)
        if not picture_only:
            for lost in encoders.lost_precision(info.colour, self.encoder, config, self._size):
                warnings.warn(f"{info.path}: {lost}", VidinpaintWarning, stacklevel=2)
        self._src = _open(info.path)
        try:
            # AVI counts frames and cannot start a stream before 0: FFmpeg's default shift for an
            # audio stream that does (AAC's priming, -1024 samples) moved the video by part of a
            # frame, and rounded into frame slots every frame but the first came out a frame late
            self._out = av.open(str(path), mode="w", format=fmt, options={"avoid_negative_ts": "disabled"}
                                if fmt == "avi" else {})
        except (av.FFmpegError, OSError, ValueError) as err:
            self._src.close()
            raise OutputError(f"cannot create {path}: {err}") from None
        try:
            self.others = Passthrough(self._src, self._out, info.index, config, picture_only, self._place_video)
        except BaseException:
            self._out.close()
            self._src.close()
            raise
        if comment:
            self._out.metadata["comment"] = comment
        self._other_packets = self.others.packets()
        self._pending: av.Packet | None = None
        self._durations: dict[int, int] = {}  # pts -> duration of frames the encoder holds
        self._first_dts: int | None = None  # of the first video packet muxed
        self._sink: Sink[Frame] = Sink(self._encode, config.queue_size, name="encode")

    @property
    def codec(self) -> str:
        return self.encoder.codec

    @property
    def backend(self) -> str:
        """One line saying what the encoder really does, and what happened to every other stream."""
        upright = (f", rotation {self.info.rotation} applied to the pictures ({self._out.format.name} keeps no rotation "
                   "tag)" if self._rotation != self.info.rotation else "")
        return f"{self.encoder.describe()}{upright}; {self.others.summary}"

    def _place_video(self) -> None:
        self._video = self._add_video()

    def _add_video(self) -> av.video.stream.VideoStream:
        info = self.info
        rate = info.average_rate or Fraction(25)
        if self._out.format.name == "avi" and info.base_rate and rate <= info.base_rate <= AVI_MAX_RATE:
            # AVI's one rate is the rate its frames are on: the average counts how long the last
            # frame is held too, and a clip whose last frame lasts a second played at half speed.
            # Not below the average: FFmpeg reads the base rate off the start of the file only
            rate = info.base_rate
        stream = self._out.add_stream(self.encoder.codec, rate=rate, options=self.encoder.options)
        stream.width, stream.height = self._size
        stream.pix_fmt = self.encoder.pix_fmt
        # AVI stores no timestamps: its time base is its frame rate, and a gap in the pts is filled
        # with empty frames. With the input's (1/1000 from Matroska) the file declared 1000 fps and
        # held 39 empty frames for each of a 25 fps clip's.
        # (MPEG-4 Part 2, AVI's default, takes no time base denominator over 65535: a 14.99985 fps
        # AVI, time base 66667/1000000, failed to open it)
        self._period = (1 / rate).limit_denominator(65535) if self._out.format.name == "avi" else None
        stream.time_base = self._period or info.time_base
        ctx = stream.codec_context
        ctx.time_base = stream.time_base
        if self.encoder.codec == "libx265" and self._out.format.name in MOV_MUXERS:
            ctx.codec_tag = "hvc1"  # FFmpeg's default, hev1, is refused by QuickTime and Safari
        self.encoder.colour.tag(ctx)
        if info.sample_aspect:  # anamorphic footage (DV, broadcast SD) keeps its pixel shape
            turned = (self._size != (info.width, info.height))
            ctx.sample_aspect_ratio = 1 / info.sample_aspect if turned else info.sample_aspect
        if info.colour.interlaced:
            ctx.field_order = info.colour.field_order
        source = self._src.streams[info.index]
        stream.metadata.update(kept_metadata(dict(source.metadata), info.format_name.startswith("mov")))
        stream.disposition = source.disposition
        if self._rotation:
            stream.set_display_rotation(self._rotation)
        return stream

    def _mux_others_until(self, seconds: float | None) -> None:
        """Mux pending packets of the other streams up to ``seconds`` (None = all), keeping the file interleaved."""
        while True:
            packet = self._pending or next(self._other_packets, None)
            if packet is None:
                return
            if seconds is not None and packet.pts is not None and packet.time_base is not None \
                    and float(packet.pts * packet.time_base) > seconds:
                self._pending = packet
                return
            self._pending = None
            self._out.mux(packet)

    def _encode(self, frame: Frame | None) -> None:
        if frame is None:
            packets = self._ending(self._timed(self._video.encode(None)))
        else:
            rotation, colour = self._rotation, self.encoder.colour
            deep = stored(frame.deep, rotation) if frame.deep is not None else None
            rgb = stored(frame.rgb, rotation)
            pix_fmt = self.encoder.pix_fmt
            vf = colour.over_source(rgb, deep, pix_fmt, frame.source, frame.decoded) if frame.source is not None \
                and colour == self.info.colour and rotation == self.info.rotation else None
            if vf is None:
                vf = colour.from_rgb(rgb, deep, pix_fmt)
            vf.pts, vf.time_base = self._pts(frame), self._period or frame.time_base
            if frame.duration:
                self._durations[vf.pts] = max(round(frame.duration * frame.time_base / vf.time_base), 1)
            packets = self._timed(self._video.encode(vf))
            self._mux_others_until(frame.seconds)
        self._out.mux(packets)

    def _pts(self, frame: Frame) -> int:
        """``frame``'s pts, or where the output counts frames (AVI) the nearest frame slot after the
        previous frame's (a variable-rate input's frames may round to the same one)."""
        if self._period is None:
            return frame.pts
        time = frame.pts * frame.time_base
        self._tick = max(round(time / self._period), self._tick + 1)
        moved = float(abs(self._tick * self._period - time))
        if moved > self._period / 2:
            self._moved, self._moved_most = self._moved + 1, max(self._moved_most, moved)
        return self._tick

    def _timed(self, packets: list[av.Packet]) -> list[av.Packet]:
        """``packets`` with the durations of their frames. Encoders leave them unsaid, and the
        muxer then gives a frame one period of the average rate: the held last frame of a
        variable-rate clip, and so the whole clip, came out longer or shorter than the input."""
        for packet in packets:
            if self._first_dts is None and packet.dts is not None:
                self._first_dts = packet.dts
            if packet.pts is not None and (duration := self._durations.pop(packet.pts, 0)):
                packet.duration = duration
        return packets

    def _ending(self, packets: list[av.Packet]) -> list[av.Packet]:
        """The encoder's last ``packets``, the very last one lasting until the input's video ends
        where both are MP4/MOV. Their samples last from one decode timestamp to the next, and
        the last one as its packet says, but an encoder that reorders frames ends on a picture
        shown earlier: with its own length the track came out longer or shorter (a variable-rate
        clip, 0.88 -> 0.92 s). The input's own length is counted the same way."""
        info, last = self.info, packets[-1] if packets else None
        if last is None or last.dts is None or self._first_dts is None or not info.duration_s \
                or not info.format_name.startswith("mov") or self._out.format.name not in MOV_MUXERS:
            return packets
        length = round(info.duration_s / info.time_base) - (last.dts - self._first_dts)
        if length > 0:
            last.duration = length
        return packets

    def write(self, frame: Frame) -> None:
        """Queue one frame (RGB, display orientation) for encoding; blocks if the encoder lags."""
        self._sink.put(frame)
        self.frames_written += 1

    def close(self) -> None:
        """Flush the encoder and the remaining audio, and finish the file."""
        try:
            self._sink.put(None)
            self._sink.close()
            self._mux_others_until(None)
        finally:
            self._out.close()
            self._src.close()
        if self._moved:  # a variable frame rate, which AVI cannot hold
            warnings.warn(f"{self.info.path}: AVI holds one frame rate ({float(1 / self._period):.3g} fps): "
                          f"{self._moved} of {self.frames_written} frames moved to the nearest free frame slot, "
                          f"up to {self._moved_most * 1000:.0f} ms from their time (an .mkv or .mp4 output keeps "
                          "every timestamp)", VidinpaintWarning, stacklevel=2)

    def abort(self) -> None:
        """Stop without finishing the file (the caller deletes it)."""
        try:
            self._sink.close()
        except BaseException:  # noqa: BLE001 - the original error matters, not this one
            pass
        finally:
            self._out.close()
            self._src.close()
