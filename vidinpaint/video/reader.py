"""Decode a video into RGB frames in display orientation, in a background thread.

YUV is converted with the input's own matrix and range (``colour.py``); deeper than 8-bit
input also yields a 16-bit copy on ``Frame.deep``.

Frames keep the input's pts and time base, so variable frame rate survives the round trip.
Rotation metadata (display matrix) is applied so that stages see people upright; the writer
rotates back and writes the same metadata.
"""

from __future__ import annotations

import heapq
import itertools
import warnings
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ..errors import InputError, VidinpaintWarning
from ..frames import Frame
from ..threads import prefetch
from .colour import Colour, colour_of, detached
from .streams import Chapter, StreamInfo, chapters_of, stream_infos


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about the video stream to clean (``index``) and the rest of the file.

    ``width``/``height`` are the stored (coded) size; ``display_size`` applies ``rotation``.
    ``frames`` is the count the container declares (0 when it does not say); ``end_s`` where it
    says the video ends, in seconds on its timeline (None when it does not say). ``sample_aspect``: the
    shape of a pixel (width over height), None when square or not said. ``average_rate`` is the
    frame count over the stream's length (a held last frame lowers it); ``base_rate`` the rate
    its timestamps are on (FFmpeg's ``r_frame_rate``). ``colour`` comes from
    the first decoded frame; ``streams`` lists every stream (this one too), ``metadata`` the
    container's tags.
    """

    path: Path
    format_name: str
    codec: str
    width: int
    height: int
    pix_fmt: str
    rotation: int
    time_base: Fraction
    average_rate: Fraction | None
    frames: int
    duration_s: float | None
    index: int = 0
    end_s: float | None = None
    sample_aspect: Fraction | None = None
    colour: Colour = Colour()
    base_rate: Fraction | None = None
    streams: tuple[StreamInfo, ...] = ()
    chapters: tuple[Chapter, ...] = ()
    metadata: tuple[tuple[str, str], ...] = ()

    @property
    def display_size(self) -> tuple[int, int]:
        """``(width, height)`` of the pictures turned upright (the stages' frames, the masks' size)."""
        if self.rotation % 180:
            return self.height, self.width
        return self.width, self.height

    @property
    def shown_size(self) -> tuple[int, int]:
        """``(width, height)`` as a player shows the video: its pixels' shape, then turned."""
        width = round(self.width * self.sample_aspect) if self.sample_aspect else self.width
        return (self.height, width) if self.rotation % 180 else (width, self.height)

    @property
    def estimated_frames(self) -> int | None:
        """Declared frame count, or duration x rate when the container does not declare it."""
        if self.frames:
            return self.frames
        if self.duration_s and self.average_rate:
            return max(1, round(self.duration_s * float(self.average_rate)))
        return None


def _check_path(path: Path) -> None:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, expected a video file")
    if not path.is_file():  # its size says nothing: a pipe's is 0, as an empty file's
        raise InputError(f"{path}: not a regular file (a pipe or a device); give a video file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: file is empty")


def _open(path: Path) -> av.container.InputContainer:
    _check_path(path)
    try:
        return av.open(str(path), mode="r", metadata_errors="ignore")
    except av.FFmpegError as err:
        raise InputError(f"{path}: not a readable video: corrupt, truncated or unsupported ({_reason(err)})") from None
    except OSError as err:
        raise InputError(f"{path}: cannot open ({err.strerror or err})") from None


def _reason(err: Exception) -> str:
    """FFmpeg's message without PyAV's errno and file-name decorations."""
    text = getattr(err, "strerror", None) or str(err)
    return str(text).split(":")[0].strip() or type(err).__name__


def _first_frame(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
                 height: int) -> tuple[int, Colour]:
    """Counter-clockwise display rotation in degrees (0/90/180/270) and colour, from the first frame
    (the codec context knows less: side data and field order arrive with decoded frames)."""
    try:
        for frame in container.decode(stream):
            return int(round(frame.rotation / 90.0)) * 90 % 360, colour_of(frame, stream.codec_context.field_order)
    except av.FFmpegError:
        pass
    return 0, Colour(height=height)


def _main_video(container: av.container.InputContainer) -> av.video.stream.VideoStream:
    """The picture to clean: the first video stream that is not cover art (an attached picture)."""
    videos = container.streams.video
    return next((s for s in videos if av.stream.Disposition.attached_pic not in s.disposition), videos[0])


def probe(path: str | Path) -> VideoInfo:
    """Read the container header (and the first frame, for rotation) of ``path``.

    Raises:
        InputError: missing file, directory, not a media file, or no video stream.
    """
    path = Path(path)
    with _open(path) as container:
        if not container.streams.video:
            kind = "audio-only file" if container.streams.audio else "no video stream or no video frames"
            raise InputError(f"{path}: {kind}; nothing to clean")
        stream = _main_video(container)
        ctx = stream.codec_context
        duration = None
        end = _declared_end(stream)
        if stream.duration and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        elif end is not None and end > (start := float((stream.start_time or 0) * (stream.time_base or 0))):
            duration = end - start  # Matroska's track end: the container's is the longest stream's (sound after)
        elif container.duration:
            duration = container.duration / av.time_base
        info = VideoInfo(
            path=path,
            format_name=container.format.name,
            codec=ctx.name,
            width=ctx.width,
            height=ctx.height,
            pix_fmt=ctx.pix_fmt or "unknown",
            rotation=0,
            time_base=stream.time_base or Fraction(1, 25),
            average_rate=stream.average_rate or stream.guessed_rate,
            frames=stream.frames or 0,
            duration_s=duration,
            index=stream.index,
            end_s=end,
            sample_aspect=_sample_aspect(stream),
            base_rate=stream.base_rate,
            streams=stream_infos(container),
            chapters=chapters_of(container),
            metadata=tuple(container.metadata.items()),
        )
        if info.width <= 0 or info.height <= 0:
            raise InputError(f"{path}: video stream has no frame size (corrupt header?)")
        rotation, colour = _first_frame(container, stream, info.height)
        return replace(info, rotation=rotation, colour=colour)


def _declared_end(stream: av.video.stream.VideoStream) -> float | None:
    """Where the container says the video ends, in seconds on its timeline: its start + duration,
    else Matroska's per-track DURATION tag (which its muxers write as the end of the last
    frame); None when it does not say."""
    if stream.duration and stream.time_base:
        return float(((stream.start_time or 0) + stream.duration) * stream.time_base)
    text = next((v for k, v in stream.metadata.items() if k.upper().startswith("DURATION")), "")  # DURATION-eng too
    try:
        hours, minutes, seconds = text.split(":")
        return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    except ValueError:
        return None


def _sample_aspect(stream: av.video.stream.VideoStream) -> Fraction | None:
    """The container's pixel shape (it overrides the bitstream's, square too), else the
    bitstream's; None when square or unknown (0/1)."""
    for sar in (stream.sample_aspect_ratio, stream.codec_context.sample_aspect_ratio):
        if sar and sar.numerator > 0:
            return None if sar == 1 else Fraction(sar)
    return None


def upright(rgb: np.ndarray, rotation: int) -> np.ndarray:
    """Rotate a stored frame to display orientation (``rotation`` is counter-clockwise degrees)."""
    k = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(rgb, k)) if k else rgb


def stored(rgb: np.ndarray, rotation: int) -> np.ndarray:
    """Inverse of :func:`upright`: back to the orientation the file stores."""
    k = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(rgb, -k)) if k else rgb


def to_frame(vf: av.VideoFrame, info: VideoInfo, index: int, pts: int) -> Frame:
    """A decoded picture as the pipeline sees it: RGB in the input's colour matrix, upright."""
    source = detached(vf)
    rgb, deep = info.colour.to_rgb(source)
    rgb.flags.writeable = False  # stages replace a frame's picture: one that wrote into it fails here, loudly
    return Frame(index=index, pts=int(pts), time_base=info.time_base, rgb=upright(rgb, info.rotation),
                 deep=None if deep is None else upright(deep, info.rotation), source=source,
                 decoded=None if info.rotation % 360 else rgb, duration=vf.duration or 0)


REORDER = 16  # pictures: the most an H.264 decoder holds back to put B-frames in order


def decoding_order(stamps: list[int]) -> bool:
    """Whether the timestamps of the first pictures out of a decoder are out of order as decoding
    times are (each at least the smallest before it): a timestamp below all those before it is a
    reset (a splice), not reordering."""
    return stamps != sorted(stamps) and not any(p < min(stamps[:k]) for k, p in enumerate(stamps) if k)


def presented(pictures: Iterable[av.VideoFrame], path: Path, warn: bool = True
              ) -> Iterator[tuple[av.VideoFrame, int | None]]:
    """Each decoded picture with its presentation timestamp. Some files carry their decoding
    times as presentation times (pts = dts, in a stream with B-frames: opencv-doc's ``box.mp4``),
    so the pictures, which the decoder puts in order, come out with their timestamps out of it:
    made monotonic one by one, they stuttered (frames 1 ms apart) and the clip ran longer. Where
    the first ``REORDER`` pictures show that, the k-th picture shown takes the k-th smallest
    timestamp, ``REORDER`` pictures behind the decoder, and a warning says so (unless not to
    ``warn``: a second reading of the same file). A timestamp below
    all those before it is no reordering but a reset (a splice): such a stream is read as it
    comes, and a disorder that starts later is made monotonic one by one, as before."""
    stream = iter(pictures)
    head = list(itertools.islice(stream, REORDER))
    known = [p.pts for p in head if p.pts is not None]
    if not decoding_order(known):
        yield from ((p, p.pts) for p in itertools.chain(head, stream))
        return
    if warn:
        warnings.warn(f"{path}: the video's timestamps come out of order (decoding times written as presentation "
                      "times?): each picture takes them in the order it is shown", VidinpaintWarning, stacklevel=2)
    waiting, times = deque(head), known
    heapq.heapify(times)
    for picture in stream:
        waiting.append(picture)
        if picture.pts is not None:
            heapq.heappush(times, picture.pts)
        if len(waiting) > REORDER:
            yield waiting.popleft(), heapq.heappop(times) if times else None
    while waiting:
        yield waiting.popleft(), heapq.heappop(times) if times else None


class VideoReader:
    """Iterate the frames of a video as :class:`Frame` objects, decoded in a background thread.

    Errors while decoding (corrupt or truncated data) and videos that end before the frame count
    their container declares raise :class:`InputError`; a video without frames too. One that ends
    early in a container that counts no frames gets a warning (see ``_check_end``).

    Example:
        >>> for frame in VideoReader("clip.mp4"):
        ...     frame.rgb.shape  # (H, W, 3) uint8, upright
    """

    def __init__(self, path: str | Path, queue_size: int = 8, threads: int = 0) -> None:
        self.path = Path(path)
        self.info = probe(self.path)
        self.queue_size = queue_size
        self.threads = threads

    def _decode(self) -> Iterator[Frame]:
        info = self.info
        count = 0
        last_pts, last_duration = -1, 0
        back, first_back = 0, 0  # how many frames' timestamps went back or repeated, and the first
        with _open(self.path) as container:
            stream = container.streams[info.index]
            stream.thread_type = "AUTO"
            if self.threads:
                stream.codec_context.thread_count = self.threads
            try:
                for vf, pts in presented(container.decode(stream), self.path):
                    if pts is None or pts <= last_pts:
                        # Streams without timestamps (raw, some AVI): synthesise from the rate.
                        if pts is not None and count:
                            first_back = first_back if back else count
                            back += 1
                        step = (1 / (info.average_rate or 25)) / info.time_base
                        pts = last_pts + max(1, round(step)) if count else 0
                    last_pts, last_duration = pts, vf.duration or 0
                    yield to_frame(vf, info, count, pts)
                    count += 1
            except av.FFmpegError as err:
                raise InputError(
                    f"{self.path}: corrupt or truncated video, decoding failed after frame {count} "
                    f"({_reason(err)})") from None
        if count == 0:
            raise InputError(f"{self.path}: the video has no frames")
        if back:  # the output's timestamps are not the input's: said, as every other change is
            warnings.warn(f"{self.path}: {back} of {count} frames' timestamps went back or repeated (the first "
                          f"at frame {first_back}); each was given the next frame's time", VidinpaintWarning,
                          stacklevel=2)
        self._check_end(count, float(last_pts * info.time_base), float(last_duration * info.time_base))

    def _check_end(self, count: int, last_s: float, held_s: float) -> None:
        """Whether the video ends where its container says. Fewer frames than it counts is a
        truncated file (an error), unless the last one ends where it says the video does: an
        AVI's index counts dropped frames, empty chunks that hold no picture. A container that
        counts no frames (Matroska) and says the video ends later than it does gets a warning:
        what decodes is cleaned, and the output is as long as the input plays."""
        info = self.info
        # the last frame lasts as long as its packet says (a held last frame of a variable-rate
        # clip), at least one frame at the average rate; two frames more are allowed for rounding
        step = float(1 / (info.average_rate or 25))
        end = last_s + max(step, held_s)
        short = info.end_s is not None and end < info.end_s - 2 * step
        if info.frames and count < info.frames and (short or info.end_s is None):
            raise InputError(f"{self.path}: truncated video, decoded {count} of {info.frames} frames")
        if short and not info.frames:
            warnings.warn(f"{self.path}: the video ends at {end:.3f} s, {info.end_s - end:.3f} s before the "
                          f"{info.end_s:.3f} s its container declares: a truncated file? Only what decodes is "
                          "cleaned", VidinpaintWarning, stacklevel=2)

    def __iter__(self) -> Iterator[Frame]:
        return prefetch(self._decode, self.queue_size, name="decode")
