"""Everything in the input besides the picture: audio, subtitles, data, chapters, metadata.

Before, only the first audio stream survived. Now every other stream is planned one by one:
copied as it is when the output container takes its packets (a trial mux decides, because
FFmpeg's codec lists over-promise), converted when it is text in a subtitle format the container
lacks (SRT/ASS -> mov_text for MP4, mov_text -> SRT for MKV, -> WebVTT for WebM), re-encoded to
AAC for audio. A stream the container truly cannot hold stops the run with an error naming a
container that can, unless the user asked to ``--drop`` that kind (then a VidinpaintWarning,
which the CLI prints as ``warning:`` even with ``-q``).
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

from ..config import EncodeConfig
from ..errors import OutputError, VidinpaintWarning

KINDS = ("audio", "subtitle", "data", "video", "attachment", "chapters")
# Muxers that write chapters (FFmpeg has no flag for it; the others drop them without a word).
CHAPTER_MUXERS = frozenset({"mp4", "mov", "matroska", "webm", "ipod", "ismv", "ogg"})
TEXT_SUBTITLES = frozenset({"mov_text", "subrip", "srt", "ass", "ssa", "webvtt", "text"})
# The text subtitle encoder each muxer takes, tried when copying is refused.
SUBTITLE_ENCODERS = {"mp4": ("mov_text",), "mov": ("mov_text",), "matroska": ("ass", "srt"),
                     "webm": ("webvtt",)}
# Audio re-encoders (encoder, codec) in order of preference, when copying is refused.
AUDIO_ENCODERS = (("aac", "aac"), ("libopus", "opus"), ("opus", "opus"))
# Muxers that write an attached picture (cover art) from its packet, as MP4's 'covr'. Matroska's
# writes it as a one-frame video track and MOV's drops it without a word.
COVER_MUXERS = frozenset({"mp4", "ipod"})
# A cover picture's name and MIME type in a Matroska attachment, when its input did not say them (MP4).
COVER_FILES = {"mjpeg": ("cover.jpg", "image/jpeg"), "png": ("cover.png", "image/png"),
               "bmp": ("cover.bmp", "image/bmp")}
# Containers suggested, in this order, when the output cannot hold a stream.
ALTERNATIVES = {"matroska": ".mkv", "mov": ".mov", "mp4": ".mp4", "mpegts": ".ts"}
# Tags a muxer writes for itself; copying them would describe the input's encode, not ours.
_OWN_TAGS = re.compile(r"^(encoder|major_brand|minor_version|compatible_brands|vendor_id|duration|bps.*|"
                       r"number_of_.*|_statistics_.*)$", re.IGNORECASE)
_DISCARD_ALL = 48  # AVDISCARD_ALL: MP4 chapter text tracks (the chapters are copied as chapters)
_MATROSKA_DURATION = re.compile(r"^(\d+):(\d\d):(\d\d(?:\.\d+)?)$")  # a track's 'DURATION' tag, 00:00:00.821000000


@dataclass(frozen=True)
class StreamInfo:
    """One stream of a file, as ``info`` lists it."""

    index: int
    kind: str
    codec: str
    language: str
    title: str
    disposition: tuple[str, ...]
    detail: str


@dataclass(frozen=True)
class Chapter:
    start_s: float
    end_s: float
    title: str


def kept_metadata(metadata: dict[str, str], mov: bool = False) -> dict[str, str]:
    """Metadata worth carrying over (not the muxer's own tags); MP4 track names become titles."""
    kept = {k: v for k, v in metadata.items() if not _OWN_TAGS.match(k)}
    if mov and "name" in kept:
        kept.setdefault("title", kept.pop("name"))
    return kept


def _detail(stream: av.stream.Stream) -> str:
    ctx = stream.codec_context
    if stream.type == "audio" and ctx is not None:
        return f"{ctx.sample_rate} Hz, {ctx.channels} ch"
    if stream.type == "video" and ctx is not None:
        return f"{ctx.width}x{ctx.height} {ctx.pix_fmt}"
    tag = getattr(ctx, "codec_tag", "") if ctx is not None else ""
    return tag if tag and tag.isprintable() else ""


def codec_name(stream: av.stream.Stream) -> str:
    ctx = stream.codec_context
    name = ctx.name if ctx is not None else None
    return name or stream.metadata.get("handler_name", "unknown")


def stream_infos(container: av.container.InputContainer) -> tuple[StreamInfo, ...]:
    """Every stream of ``container`` except MP4 chapter tracks (listed as chapters instead)."""
    mov = container.format.name.startswith("mov")
    out = []
    for s in container.streams:
        if s.discard == _DISCARD_ALL:
            continue
        meta = kept_metadata(dict(s.metadata), mov)
        flags = tuple(name for name, flag in av.stream.Disposition.__members__.items() if flag and flag in s.disposition)
        out.append(StreamInfo(s.index, s.type, codec_name(s), meta.get("language", ""), meta.get("title", ""),
                              flags, _detail(s)))
    return tuple(out)


def chapters_of(container: av.container.InputContainer) -> tuple[Chapter, ...]:
    return tuple(Chapter(float(c["start"] * c["time_base"]), float(c["end"] * c["time_base"]),
                         c.get("metadata", {}).get("title", "")) for c in container.chapters())


STANDARD_LAYOUTS = {1: "mono", 2: "stereo", 3: "3.0", 4: "quad", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}


def _opens(encoder: str, fmt: str, rate: int, layout: str) -> bool:
    """Whether ``encoder`` opens for ``layout`` sound at ``rate`` in a ``fmt`` file."""
    try:
        with av.open(io.BytesIO(), "w", format=fmt) as trial:
            stream = trial.add_stream(encoder, rate=rate)
            stream.layout = layout
            trial.start_encoding()
        return True
    except (av.FFmpegError, ValueError):
        return False


def _attached(stream: av.stream.Stream) -> bool:
    return av.stream.Disposition.attached_pic in stream.disposition


def _holds(packet: av.Packet) -> bool:
    """Whether a demuxed packet is one to copy: it has data (the demuxer's end-of-stream packets have
    none, nor any timestamp) and a timestamp, or it is its stream's attached picture (demuxers give
    that none; it was skipped, and cover art was lost while the log said copied). A presentation time
    is enough: Matroska gives the first packets of a stream with B-frames no decoding time, and
    their loss (the keyframe among them) left a copied video track that decoded to nothing."""
    return packet.size > 0 and (packet.dts is not None or packet.pts is not None or _attached(packet.stream))


def _first_packet(stream: av.stream.Stream) -> av.Packet | None:
    """``stream``'s first packet with a timestamp (or its attached picture), from a second opening
    of its file (opened as the reader opens it: tags that are not UTF-8 are skipped); None when
    there is none or the file does not open again the same way (then the header check alone decides)."""
    try:
        with av.open(stream.container.name, metadata_errors="ignore") as again:
            if len(again.streams) <= stream.index or again.streams[stream.index].type != stream.type:
                return None
            return next((p for p in again.demux(again.streams[stream.index]) if _holds(p)), None)
    except (av.FFmpegError, OSError, ValueError):
        return None


def _accepts(fmt: str, stream: av.stream.Stream) -> bool:
    """Whether a ``fmt`` muxer takes ``stream``'s packets as they are (first packet in memory).

    The packet is read from a second opening of the input: seeking the input back to its start
    afterwards would land on the first video keyframe, and every packet of the other streams
    before it (an audio encoder's priming, sound that starts before the picture) would be lost.
    Subtitles and attachments get the header check only: a subtitle stream's first packet can
    be minutes into the file, and their muxers refuse codecs when writing the header.
    """
    try:
        with av.open(io.BytesIO(), "w", format=fmt) as trial:
            out = trial.add_stream_from_template(stream)
            trial.start_encoding()
            packet = _first_packet(stream) if stream.type not in ("subtitle", "attachment") else None
            if packet is not None:
                packet.stream = out
                trial.mux(packet)
        return True
    except (av.FFmpegError, ValueError, TypeError):
        return False


def _stated_end(stream: av.stream.Stream) -> int | None:
    """Where the container says ``stream`` ends, in its time base on the demuxer's timeline; None
    where it says nothing. An audio track's last packet often holds more sound than the track
    plays: MP4 trims it in the edit list (FFmpeg's start and duration), Matroska in the track's
    ``DURATION`` tag (on the file's timeline, which the demuxer shifts back by the codec delay)."""
    fmt, base = stream.container.format.name, stream.time_base
    if fmt.startswith("mov"):
        return stream.start_time + stream.duration if stream.start_time is not None and stream.duration else None
    found = _MATROSKA_DURATION.match(stream.metadata.get("DURATION", "")) if "matroska" in fmt else None
    if found is None or not base:
        return None
    hours, minutes, seconds = found.groups()
    delay = Fraction(stream.codec_context.delay, stream.codec_context.sample_rate or 1)
    return round((Fraction(int(hours) * 3600 + int(minutes) * 60) + Fraction(seconds)) / base) - round(delay / base)


def _trimmed(packet: av.Packet, end: int) -> av.Packet:
    """A stream's last ``packet``, made to end at ``end`` where that falls inside it. The demuxer
    gives it its full length, and the copy played a few milliseconds longer than the input."""
    if packet.pts is not None and packet.duration and packet.pts < end < packet.pts + packet.duration:
        packet.duration = end - packet.pts
    return packet


def _cut(frame: av.AudioFrame, end: Fraction) -> av.AudioFrame | None:
    """``frame`` without its samples from ``end`` (seconds) on; None when all are. Decoders give
    the padding of a source's last packet as sound, and re-encoding it made the output's audio
    end up to a frame later than the input's (AAC in MP4: 0.400 s became 0.405 s). A frame
    without a timestamp is left whole: nothing says where it lies."""
    if frame.pts is None or frame.time_base is None:
        return frame
    keep = round((end - frame.pts * frame.time_base) * frame.sample_rate)
    if keep >= frame.samples:
        return frame
    if keep <= 0:
        return None
    width = keep if frame.format.is_planar else keep * frame.layout.nb_channels
    cut = av.AudioFrame.from_ndarray(np.ascontiguousarray(frame.to_ndarray()[:, :width]),
                                     format=frame.format.name, layout=frame.layout)
    cut.sample_rate, cut.pts, cut.time_base = frame.sample_rate, frame.pts, frame.time_base
    return cut


NO_LANGUAGES = ("avi", "flv")  # muxers that write no stream's language tag (FFmpeg 7's, checked by writing one)


@dataclass
class _Plan:
    source: av.stream.Stream
    mode: str  # copy, convert, encode
    out: av.stream.Stream


class Passthrough:
    """The output streams for everything but the picture, and their packets in file order.

    Args:
        src: the input, opened for this (its packets are read once, in order).
        out: the output container, before its header is written.
        video_index: the input stream that is re-encoded (skipped here).
        config: ``audio`` (copy/aac/none) and ``drop`` (kinds to leave out) are read.
        picture_only: plan nothing (a mask video holds the masks alone).
        place_video: adds the picture's output stream; called where the input has it, so that the
            output's streams come in the input's order (scripts pick tracks by index: an input with
            its sound first came out with the picture first).
    """

    def __init__(self, src: av.container.InputContainer, out: av.container.OutputContainer, video_index: int,
                 config: EncodeConfig, picture_only: bool = False,
                 place_video: Callable[[], object] = lambda: None) -> None:
        self.src, self.out = src, out
        self.fmt = out.format.name
        self.mov = src.format.name.startswith("mov")
        self.drop = {k.strip() for k in config.drop.split(",") if k.strip()}
        if unknown := sorted(self.drop - set(KINDS)):
            raise OutputError(f"--drop {unknown[0]}: not a stream kind; use one of {', '.join(KINDS)}")
        self.notes: list[str] = []
        self.plans: dict[int, _Plan] = {}
        video = src.streams[video_index]
        if picture_only:
            self.notes.append("picture only")
            place_video()
            return
        for stream in src.streams:
            if stream.index == video_index:
                place_video()
                continue
            if stream.discard == _DISCARD_ALL:
                continue
            if stream.type == "data" and "timecode" in stream.metadata and "timecode" in video.metadata:
                # A QuickTime timecode track: MOV/MP4 muxers rebuild it from the video's tag.
                self.notes.append(f"timecode {video.metadata['timecode']} kept as the video's tag")
                continue
            self._plan(stream, config.audio)
        if chapters := src.chapters():
            self._chapters(chapters)
        out.metadata.update(kept_metadata(dict(src.metadata)))
        named = [self._label(p.source) for p in self.plans.values()
                 if p.source.metadata.get("language", "und") not in ("", "und")]  # MP4's untagged tracks read "und"
        if named and self.fmt in NO_LANGUAGES:  # two audio tracks, eng and fra, came out alike without a word
            warnings.warn(f"{self.fmt} keeps no stream languages: {', '.join(named)} "
                          f"{'come' if len(named) > 1 else 'comes'} out without "
                          f"{'theirs' if len(named) > 1 else 'its'}; -o out.mkv or out.mp4 keeps them",
                          VidinpaintWarning, stacklevel=2)

    def _chapters(self, chapters: list[dict]) -> None:
        if "chapters" in self.drop:
            warnings.warn(f"dropped {len(chapters)} chapters as --drop chapters asked", VidinpaintWarning, stacklevel=2)
        elif self.fmt in CHAPTER_MUXERS:
            self.out.set_chapters(chapters)
            self.notes.append(f"{len(chapters)} chapters")
        else:
            raise OutputError(f"{self.fmt} cannot hold the input's {len(chapters)} chapters; write to a "
                              f"container that can (-o out.mkv) or pass --drop chapters")

    def _label(self, stream: av.stream.Stream) -> str:
        """What the user knows a stream by: an attachment by its file name (it has no codec: 'unknown')."""
        lang = stream.metadata.get("language")
        name = stream.metadata.get("filename") if stream.type == "attachment" else None
        return f"{stream.type} stream {stream.index} ({name or codec_name(stream)}{', ' + lang if lang else ''})"

    def _plan(self, stream: av.stream.Stream, audio: str) -> None:
        label = self._label(stream)
        if stream.type in self.drop or (stream.type == "audio" and audio == "none"):
            why = f"--drop {stream.type}" if stream.type in self.drop else "encode.audio=none"
            warnings.warn(f"dropped {label} as {why} asked", VidinpaintWarning, stacklevel=2)
            return
        if _attached(stream) and self.fmt not in COVER_MUXERS:
            self._cover(stream, label)
        elif stream.type == "audio" and audio == "aac" and "aac" in self.out.supported_codecs:
            out, note = self._audio_stream("aac", stream)
            self._add(stream, "encode", out, f"re-encoded to aac{note}")
        elif _accepts(self.fmt, stream):
            self._add(stream, "copy", self.out.add_stream_from_template(stream), "copied")
        elif stream.type == "audio" and (encoder := self._audio_encoder()):
            out, note = self._audio_stream(encoder, stream)
            self._add(stream, "encode", out, f"re-encoded to {encoder} ({self.fmt} refuses {codec_name(stream)}{note})")
        elif stream.type == "subtitle" and codec_name(stream) in TEXT_SUBTITLES and (target := self._subtitle_encoder()):
            out = self.out.add_stream(target)
            stream.codec_context.open(strict=False)  # text decoders make the ASS header encoders need
            out.codec_context.subtitle_header = stream.codec_context.subtitle_header
            self._add(stream, "convert", out, f"converted to {target}")
        else:
            other = next((ext for fmt, ext in ALTERNATIVES.items() if fmt != self.fmt and _accepts(fmt, stream)), None)
            where = f"write to a container that can (-o out{other}) or " if other else ""
            raise OutputError(f"{self.fmt} cannot hold {label}; {where}pass --drop {stream.type}")

    def _cover(self, stream: av.stream.Stream, label: str) -> None:
        """Cover art kept as a Matroska attachment, the form Matroska gives it; other muxers lose it."""
        picture = _first_packet(stream)
        if self.fmt != "matroska" or picture is None:
            raise OutputError(f"{self.fmt} cannot hold {label}, a cover picture; write to a container that can "
                              f"(-o out.mkv or out.mp4) or pass --drop {stream.type}")
        name, mimetype = COVER_FILES.get(codec_name(stream), ("cover", "application/octet-stream"))
        name = stream.metadata.get("filename", name)
        self.out.add_attachment(name, stream.metadata.get("mimetype", mimetype), bytes(picture))
        self.notes.append(f"{label} kept as attachment {name}")

    def _audio_encoder(self) -> str | None:
        """AAC where the container takes it, else Opus (WebM)."""
        return next((enc for enc, codec in AUDIO_ENCODERS
                     if codec in self.out.supported_codecs and enc in av.codecs_available), None)

    def _audio_stream(self, encoder: str, source: av.stream.Stream) -> tuple[av.stream.Stream, str]:
        """An ``encoder`` stream with ``source``'s rate (Opus: 48 kHz) and channels, and a note on
        any change of them. Without a layout PyAV's encoders default to stereo, and 5.1 sound was
        mixed down unannounced; a layout the encoder refuses (Opus and 5.1(side), common from
        AC-3) becomes the standard one of as many channels, or else stereo, with a warning."""
        rate = 48000 if "opus" in encoder else source.codec_context.sample_rate or 48000
        layout = source.codec_context.layout
        channels = layout.nb_channels
        chosen = next((name for name in (layout.name, STANDARD_LAYOUTS.get(channels), "stereo")
                       if name and _opens(encoder, self.fmt, rate, name)), "stereo")
        stream = self.out.add_stream(encoder, rate=rate)
        stream.layout = chosen
        if chosen == layout.name or (layout.name == f"{channels} channels"  # no order said: nothing changed
                                     and av.AudioLayout(chosen).nb_channels == channels):
            return stream, ""
        if av.AudioLayout(chosen).nb_channels < channels:
            warnings.warn(f"{self._label(source)}: {encoder} takes no {layout.name} layout ({channels} channels); "
                          f"mixed down to {chosen}", VidinpaintWarning, stacklevel=2)
        return stream, f", {layout.name} as {chosen}"

    def _subtitle_encoder(self) -> str | None:
        return next((c for c in SUBTITLE_ENCODERS.get(self.fmt, ()) if c in av.codecs_available), None)

    def _add(self, stream: av.stream.Stream, mode: str, out: av.stream.Stream, how: str) -> None:
        out.metadata.update(kept_metadata(dict(stream.metadata), self.mov))
        out.disposition = stream.disposition
        self.plans[stream.index] = _Plan(stream, mode, out)
        self.notes.append(f"{self._label(stream)} {how}")

    @property
    def summary(self) -> str:
        return "; ".join(self.notes) or "no other streams"

    def packets(self) -> Iterator[av.Packet]:
        """Output packets of every planned stream, in the input's order, then the encoders' tails."""
        if not self.plans:
            return
        # Sound whose container states its end: a copied packet waits for the next, so the last can
        # be trimmed; re-encoded sound is cut there before the encoder. Only sound: subtitles are
        # sparse (one would wait for minutes) and pictures are reordered (their stated duration is no end).
        ends = {index: end for index, plan in self.plans.items() if plan.mode in ("copy", "encode")
                and plan.source.type == "audio" and (end := _stated_end(plan.source)) is not None}
        held: dict[int, av.Packet] = {}
        for packet in self.src.demux(*(p.source for p in self.plans.values())):
            index = packet.stream.index
            plan = self.plans[index]
            if plan.mode == "copy":
                if _holds(packet):
                    packet.stream = plan.out
                    if index in ends:  # send the one before: this one may be the last
                        packet, held[index] = held.get(index), packet
                    if packet is not None:
                        yield packet
            elif plan.mode == "encode":
                for frame in packet.decode():
                    if index in ends:
                        frame = _cut(frame, ends[index] * plan.source.time_base)
                    if frame is not None:
                        yield from plan.out.encode(frame)
            elif packet.dts is not None:
                yield from self._convert(packet, plan)
        for index, packet in held.items():
            yield _trimmed(packet, ends[index])
        for plan in self.plans.values():
            if plan.mode == "encode":
                yield from plan.out.encode(None)

    @staticmethod
    def _convert(packet: av.Packet, plan: _Plan) -> Iterator[av.Packet]:
        """Decode a text subtitle packet to ASS events and encode them for the output format."""
        pts, duration, time_base = packet.pts, packet.duration, packet.time_base
        for rect in packet.decode():
            text = getattr(rect, "ass", None)
            if not text:
                continue
            ms = int(duration * time_base * 1000) if duration else 0
            out = plan.out.codec_context.encode_subtitle(
                av.subtitles.subtitle.SubtitleSet.create(bytes(text), 0, ms, pts=0))
            out.pts = out.dts = pts
            out.duration = duration or 0
            out.time_base = time_base or Fraction(1, 1000)
            out.stream = plan.out
            yield out
