"""Masks the user drew: one image for every frame, a folder of per-frame images, or a video.

What counts as "remove": a pixel whose brightest colour channel is >= 128 (of 255); in an image
with transparency that is not fully opaque, the alpha channel is the mask (alpha >= 128 removes),
as editors export a drawn layer. Masks are in display orientation, as a player shows the clip (a
mask video's own rotation is applied). Another size with the same aspect ratio is resized
(nearest); another aspect ratio is an error, since stretching a landscape mask over a portrait
clip puts it in the wrong place. A mask video is matched to the clip by time, not by index: each
frame takes the last mask frame at or before its time (both counted from their first frame), so a
50 fps mask fits a 25 fps clip. A mask that removes nothing, or everything, on every frame is
almost certainly a mistake (a grey of 100 reads as "keep"), and gets a warning.

Masks that `vidinpaint masks` wrote are what a run removed, already grown by ``mask.dilate``: they
say so, and by how much, in a comment (the video's container metadata, each PNG's ``tEXt`` chunk),
and are grown only by what ``mask.dilate`` asks beyond that. Grown again, every round trip through
``masks`` and ``clean --mask`` widened them (by 12 px at the default) and the output was not the one
``clean`` gave. An editor that drops the comment (of any PNG of a folder) makes them masks drawn by
hand again, grown like any other.
"""

from __future__ import annotations

import itertools
import re
import warnings
import zlib
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from ..errors import InputError, VidinpaintWarning
from ..frames import Frame
from ..images import is_image
from ..video import VideoInfo, VideoReader, probe

THRESHOLD = 128
"""Grey level (of 255) from which a mask pixel means "remove"."""

ASPECT_TOLERANCE = 0.01
"""Relative aspect-ratio difference still taken as the same shape (rounding of scaled sizes)."""

EXPORTED = "vidinpaint masks"
"""How the comment of masks `vidinpaint masks` wrote begins (it goes on with their dilation)."""


def exported_comment(dilate: int) -> str:
    """The comment written into exported masks."""
    return f"{EXPORTED}, as removed (mask.dilate {dilate}px applied)"


def tagged_png(grey: np.ndarray, comment: str) -> bytes:
    """``grey`` as PNG bytes with a ``tEXt`` chunk ``Comment`` right after the header (OpenCV
    writes no text chunks)."""
    data = cv2.imencode(".png", grey)[1].tobytes()
    body = b"tEXt" + b"Comment\0" + comment.encode("latin-1")
    chunk = (len(body) - 4).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")
    return data[:33] + chunk + data[33:]  # 8 bytes of signature, then the 25 of the IHDR chunk


def png_comment(path: Path) -> str:
    """The ``Comment`` text chunk of a PNG among its first 4 KiB, before its image data ("" if
    none, or not a PNG). Exported masks have it right after the header; every mask of a folder is
    asked before the run, so not the whole file."""
    with open(path, "rb") as file:
        head = file.read(4096)
    pos = 8
    while head.startswith(b"\x89PNG") and pos + 8 <= len(head) and head[pos + 4:pos + 8] != b"IDAT":
        size = int.from_bytes(head[pos:pos + 4], "big")
        if head[pos + 4:pos + 8] == b"tEXt":
            key, _, value = head[pos + 8:pos + 8 + size].partition(b"\0")
            if key == b"Comment":
                return value.decode("latin-1")
        pos += 12 + size
    return ""


def _video_comment(path: Path) -> str:
    try:
        with av.open(str(path)) as container:
            # MP4 says "comment", Matroska "COMMENT"
            return next((str(v) for k, v in container.metadata.items() if k.lower() == "comment"), "")
    except (av.FFmpegError, OSError):
        return ""  # the reader says what is wrong with it


def mask_files(folder: Path) -> list[Path]:
    """Image files of ``folder`` in natural order (``2.png`` before ``10.png``); hidden files
    (a Mac's ``._0.png``) are not masks, as they are not stills in a folder of stills."""
    def key(p: Path) -> list[tuple[int, int, str]]:  # numbers before text wherever they meet: one order
        return [(0, int(t), "") if t.isascii() and t.isdigit() else (1, 0, t)  # "²".isdigit(), int("²") fails
                for t in re.split(r"([0-9]+)", p.stem) if t]
    return sorted((p for p in folder.iterdir() if is_image(p) and not p.name.startswith(".")), key=key)


def binarize(image: np.ndarray) -> np.ndarray:
    """``HxW bool`` from a grey ``HxW`` or colour ``HxWxC`` uint8/uint16 image (brightest channel)."""
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    return (image.max(axis=2) if image.ndim == 3 else image) >= THRESHOLD


def read_mask(path: Path) -> np.ndarray:
    """``HxW bool`` mask from an image file: its alpha if it has transparency, else its brightness."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise InputError(f"{path}: not a readable mask image")
    if image.ndim == 3 and image.shape[2] == 4:
        alpha = image[..., 3]
        if alpha.min() < np.iinfo(alpha.dtype).max:
            return binarize(alpha)
        image = image[..., :3]
    return binarize(image)


def fit(mask: np.ndarray, width: int, height: int, source: Path) -> np.ndarray:
    """``mask`` at the frame's ``width x height``; raises :class:`InputError` on another aspect ratio."""
    mh, mw = mask.shape
    if (mh, mw) == (height, width):
        return mask
    if abs(mw * height - mh * width) > ASPECT_TOLERANCE * mh * width:
        raise InputError(f"--mask {source}: masks are {mw}x{mh} but the video is shown at {width}x{height}, "
                         f"another shape (stretching would move the mask); draw masks over the video as a "
                         f"player shows it (same aspect ratio; rotation applied)")
    return cv2.resize(mask.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST).astype(bool)


SHORT = 0.9
"""Masks for less than this share of the frames (or the time) the video declares are refused up front."""


def _declared_s(info: VideoInfo) -> float | None:
    """How long the video stream says it is, from its own frame count and rate (a container's
    duration may be its longest stream's, the sound's)."""
    return info.frames / float(info.average_rate) if info.frames and info.average_rate else None


def check_length(path: Path, video: VideoInfo) -> None:
    """Refuse, before any frame is decoded, masks far shorter than ``video`` declares it is:
    masks for another clip would otherwise fail only where they ran out, after all the work
    before. Masks a few frames short (a declared count can be off the decoded one) are not
    refused here: they run, and fail at the frame where they end."""
    if path.is_dir():
        count = len(mask_files(path))
        if count and video.frames and count < SHORT * video.frames:
            raise InputError(f"--mask {path}: holds {count} masks but the video declares {video.frames} frames; "
                             f"give one mask per frame (in natural order: 0.png, 1.png, ... 10.png)")
    elif path.is_file() and not is_image(path) and (clip_s := _declared_s(video)):
        try:
            masks_s = _declared_s(probe(path))
        except InputError:  # said by the mask stage, as about any --mask
            return
        if masks_s and masks_s < SHORT * clip_s:
            raise InputError(f"--mask {path}: the mask video lasts {masks_s:.3f} s but the clip {clip_s:.3f} s; "
                             f"masks are matched to the clip by time")


def _start(frame: Frame, origin: Fraction | None) -> tuple[Fraction, Fraction]:
    """``(origin, time since origin)`` of ``frame``; the first frame seen sets the origin."""
    t = Fraction(frame.pts) * frame.time_base
    origin = t if origin is None else origin
    return origin, t - origin


class UserMasks:
    """Stage: sets ``frame.mask`` from user-supplied masks, bypassing detection.

    Args:
        path: an image (used for every frame), a folder of images (one per frame, natural
            order), or a video (matched by time, see the module docstring).
    """

    name = "detect"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise InputError(f"--mask {self.path}: no such file or folder")
        if self.path.is_dir():
            self.kind = "folder"
            self.files = mask_files(self.path)
            if not self.files:
                raise InputError(f"--mask {self.path}: folder holds no mask images")
            comments = {png_comment(p) for p in self.files}  # one frame redrawn in an editor drops its comment
            comment = comments.pop() if len(comments) == 1 else ""
        elif is_image(self.path):
            self.kind = "image"
            self.still = read_mask(self.path)
            comment = png_comment(self.path)
        else:
            self.kind = "video"
            comment = _video_comment(self.path)
        grown = re.search(r"mask\.dilate (\d+)px", comment) if comment.startswith(EXPORTED) else None
        self.grown = int(grown.group(1)) if grown else None  # exported masks: px they were grown by already

    @property
    def backend(self) -> str:
        matched = ", matched by time" if self.kind == "video" else ""
        whose = "masks exported by `vidinpaint masks`" if self.grown is not None else "user masks"
        return f"skipped: {whose} from {self.kind} {self.path}{matched} (>= {THRESHOLD} of 255 removes)"

    def _by_index(self, frames: Iterable[Frame]) -> Iterator[tuple[Frame, np.ndarray]]:
        masks = itertools.repeat(self.still) if self.kind == "image" else (read_mask(p) for p in self.files)
        count = 0
        for frame in frames:
            mask = next(masks, None)
            if mask is None:
                raise InputError(f"--mask {self.path}: has fewer masks than the video has frames "
                                 f"(ran out at frame {frame.index})")
            count += 1
            yield frame, mask
        if self.kind == "folder" and len(self.files) > count:  # masks for another clip, or misnumbered
            warnings.warn(f"--mask {self.path}: holds {len(self.files)} masks for {count} frames; the last "
                          f"{len(self.files) - count} (from {self.files[count].name}) were not used",
                          VidinpaintWarning, stacklevel=2)

    def _by_time(self, frames: Iterable[Frame]) -> Iterator[tuple[Frame, np.ndarray]]:
        try:
            reader = VideoReader(self.path)
        except InputError as error:  # the reader's line names the file, not that it is the mask
            raise InputError(f"--mask {error}") from None
        rate = reader.info.average_rate
        masks = iter(reader)
        try:
            current = next(masks)
            mask_origin, current_t = _start(current, None)
            upcoming = next(masks, None)
            step = Fraction(1) / Fraction(rate) if rate else Fraction(1, 25)
            origin = None
            for frame in frames:
                origin, t = _start(frame, origin)
                while upcoming is not None and (upcoming_t := _start(upcoming, mask_origin)[1]) <= t:
                    step, current, current_t = upcoming_t - current_t, upcoming, upcoming_t
                    upcoming = next(masks, None)
                if upcoming is None and t >= current_t + step:
                    raise InputError(f"--mask {self.path}: the mask video ends at {float(current_t + step):.3f} s, "
                                     f"before the clip (frame {frame.index} at {float(t):.3f} s)")
                yield frame, binarize(current.rgb)
        finally:
            getattr(masks, "close", lambda: None)()

    def __call__(self, frames: Iterable[Frame]) -> Iterator[Frame]:
        pairs = self._by_time(frames) if self.kind == "video" else self._by_index(frames)
        marked = unmarked = False
        for frame, mask in pairs:
            h, w = frame.rgb.shape[:2]
            frame.mask = fit(mask, w, h, self.path)
            marked = marked or bool(frame.mask.any())
            unmarked = unmarked or not frame.mask.all()
            yield frame
        if not marked:
            warnings.warn(f"--mask {self.path}: marks nothing to remove on any frame (a pixel is removed "
                          f"from grey {THRESHOLD} of 255 up, or alpha {THRESHOLD} up), so nothing is removed",
                          VidinpaintWarning, stacklevel=2)
        elif not unmarked:
            warnings.warn(f"--mask {self.path}: covers the whole frame on every frame, so there is nothing "
                          f"left to fill from and the picture stays as it was", VidinpaintWarning, stacklevel=2)
