"""Decode any one frame (or a short run of frames) of a video by seeking, never from the start.

A review page scrubbing a 10-minute clip must neither decode everything before the frame it
shows nor hold the clip in memory. The frame index is the pipeline's (decode order from 0):
reading the packets once, without decoding, gives every frame's timestamp in presentation
order, so frame ``n`` is found by seeking to the key frame before its timestamp.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left
from collections.abc import Iterator
from pathlib import Path

import av

from ..errors import InputError
from ..frames import Frame
from .reader import REORDER, VideoInfo, _open, _reason, decoding_order, presented, probe, to_frame


def _timestamps(path: Path, info: VideoInfo) -> list[int] | None:
    """Every frame's pts, sorted (presentation order); None when the stream has no timestamps,
    or when its pictures carry decoding times (:func:`~.reader.decoding_order`)."""
    stamps: list[int] = []
    with _open(path) as container:
        stream = container.streams[info.index]
        try:
            for packet in container.demux(stream):
                if packet.size == 0:
                    continue  # the demuxer's end-of-stream flush packet
                if packet.pts is None:
                    return None
                stamps.append(packet.pts)
        except av.FFmpegError as err:
            raise InputError(f"{path}: corrupt or truncated video, reading it failed ({_reason(err)})") from None
    if not stamps:
        raise InputError(f"{path}: the video has no frames")
    with _open(path) as container:
        try:
            first = [p.pts for p in itertools.islice(container.decode(container.streams[info.index]), REORDER)]
        except av.FFmpegError:
            first = []  # a damaged start: the frame asked for says so, with the path
    if decoding_order([p for p in first if p is not None]):
        return None  # the pictures do not carry their own timestamps: found by counting, as the reader gives them
    return sorted(stamps)


class FrameSeeker:
    """Random access to the frames of a video, as the pipeline would decode them.

    Each call opens the file afresh, so calls from several threads (the page's scrubber while a
    preview runs) need no lock. Streams without timestamps (raw, some AVI), and those whose
    pictures carry their decoding times (:func:`~.reader.presented`), are decoded from the
    start: correct, only slower.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.info = probe(self.path)
        self._pts = _timestamps(self.path, self.info)
        self._count = len(self._pts) if self._pts is not None else self._count_decoded()

    def __len__(self) -> int:
        return self._count

    def _count_decoded(self) -> int:
        return sum(1 for _ in self._decode(0, None))

    def frame(self, index: int) -> Frame:
        """Frame ``index`` (0-based, clamped to the clip)."""
        index = min(max(index, 0), self._count - 1)
        frame = next(self.frames(index, index + 1), None)
        if frame is None:  # counted, but the decoder gives no picture for it (box.mp4's last of 456)
            raise InputError(f"{self.path}: frame {index} does not decode (the file counts {self._count} frames)")
        return frame

    def frames(self, start: int, stop: int) -> Iterator[Frame]:
        """Frames ``start`` to ``stop - 1`` (clamped to the clip), each with its pipeline index."""
        start, stop = max(start, 0), min(stop, self._count)
        if start >= stop:
            return
        for vf, index, pts in self._decode(start, stop):
            yield to_frame(vf, self.info, index, pts if pts is not None else index)

    def _decode(self, start: int, stop: int | None, seek: bool = True
                ) -> Iterator[tuple[av.VideoFrame, int, int | None]]:
        """Pictures from frame ``start`` to ``stop - 1``, each with its index and timestamp."""
        with _open(self.path) as container:
            stream = container.streams[self.info.index]
            stream.thread_type = "AUTO"
            index = 0
            seek = seek and self._pts is not None and start > 0
            if seek:
                container.seek(self._pts[start], stream=stream, backward=True, any_frame=False)
            pictures = (((p, p.pts) for p in container.decode(stream)) if self._pts is not None
                        else presented(container.decode(stream), self.path, warn=False))
            try:
                for vf, pts in pictures:
                    if self._pts is not None and vf.pts is not None:
                        index = self._position(vf.pts)
                    if seek and index > start:  # landed past the frame (no key frame index): from the start
                        yield from self._decode(start, stop, seek=False)
                        return
                    seek = False
                    if stop is not None and index >= stop:
                        return
                    if index >= start:
                        yield vf, index, pts
                    index += 1
            except av.FFmpegError as err:
                raise InputError(f"{self.path}: corrupt or truncated video, decoding failed near frame {index} "
                                 f"({_reason(err)})") from None

    def _position(self, pts: int) -> int:
        """Index of the frame with timestamp ``pts`` (the first at or after it)."""
        return bisect_left(self._pts, pts)
