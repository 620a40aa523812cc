"""`vidinpaint tracks`: every tracked object of a clip, to choose what `clean` removes.

The tracks come from the same stages `clean` and `masks` run before selection (shots, detect
with track ids), so one config gives the same ids in all three. The JSON lists each track's
per-frame boxes; a thumbnail sheet shows one picture per id, taken where the object is largest.
Objects the detector left alone as still (``detect.still``) are listed too, marked ``"still":
true`` and ``"remove": false``, so that one can be chosen like any other track.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

from .atomic import atomic_path, check_output_path
from .config import Config, as_dict
from .detect.coco import COCO_CLASSES, class_ids
from .devices import start_device
from .frames import Frame
from .errors import OutputError
from .images import IMAGE_EXTENSIONS, is_image, write_image
from .preview import label
from .prompts import PROMPT_BASE
from .selection import Selection, tracking_key
from .video import VideoReader

THUMB = 96  # px, side of a thumbnail cell on the sheet
COLUMNS = 8


@dataclass
class Track:
    """One tracked object: its id, class, first and last frame, and its box on each frame
    (``x0, y0, x1, y1``, end exclusive, frame pixels); ``still``: left alone on every frame it
    was seen on, which a run keeps unless the selection names it; ``why``: for such a one, "still"
    (``detect.still``) or "no body" (``detect.pose``)."""

    id: int
    cls: str
    first: int
    last: int
    boxes: dict[int, tuple[int, int, int, int]] = field(default_factory=dict)
    still: bool = False
    why: str = ""
    thumb: np.ndarray | None = field(default=None, repr=False, compare=False)  # RGB, where its box was largest
    thumb_area: int = field(default=0, repr=False, compare=False)

    def add(self, index: int, box: tuple[int, int, int, int], rgb: np.ndarray) -> None:
        """Record the box on frame ``index``; keep a thumbnail if this is its largest box yet."""
        self.first, self.last = min(self.first, index), max(self.last, index)
        self.boxes[index] = box
        x0, y0, x1, y1 = box
        area = (x1 - x0) * (y1 - y0)
        if area > self.thumb_area:
            self.thumb_area, self.thumb = area, _thumbnail(rgb, box)


class Listing(NamedTuple):
    """A clip's tracks (those left alone as still among them), the line naming what was left
    alone (empty if nothing), and the boxes left alone, frame -> id -> box."""

    tracks: list[Track]
    still: str
    left: dict[int, dict[int, tuple[int, ...]]]


def _thumbnail(rgb: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The box with a little context, scaled to fit a ``THUMB`` px square."""
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = box
    pad = max(2, (x1 - x0 + y1 - y0) // 10)
    crop = rgb[max(y0 - pad, 0):min(y1 + pad, h), max(x0 - pad, 0):min(x1 + pad, w)]
    scale = min(THUMB / crop.shape[0], THUMB / crop.shape[1])
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    return cv2.resize(crop, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)


def object_class(config: Config, detector: object, track: int) -> str:
    """What a track is: the class its detector gave it, else the configured class when there is
    one, else 'object' (the motion detector finds what moves)."""
    from .detect.motion import MotionDetector

    if track >= PROMPT_BASE:
        return "prompt"
    tracking = getattr(detector, "tracking", None)
    if tracking is not None and track in tracking.classes:
        return COCO_CLASSES[tracking.classes[track]]
    names = [n.strip() for n in config.detect.classes.split(",") if n.strip()]
    return names[0] if len(names) == 1 and class_ids(names) and not isinstance(detector, MotionDetector) else "object"


def list_tracks(input: str | Path, config: Config, progress: Callable[[Frame], None] | None = None,
                on_start: Callable[[list[tuple[str, str]], int | None], None] | None = None) -> Listing:
    """Every track of the video ``input`` under ``config``, ordered by id, and what the detector
    left alone as still (``detect.still``). Nothing is selected: the ids are those the select
    options refer to."""
    from .pipeline import _chain, tracking_stages

    reader = VideoReader(Path(input), queue_size=config.decode.queue_size, threads=config.decode.threads)
    named = Selection.from_config(config.select).named  # checked before torch loads, as for clean
    device, line = start_device(config.device, config.torch_threads)
    stages = tracking_stages(config, device, Path(input), named=named)
    detector = next(s for s in stages if s.name == "detect")
    still = getattr(getattr(detector, "tracking", None), "still", None)
    if still is not None:
        still.boxes = {}
    if on_start:
        on_start([("device", line), *((s.name, s.backend) for s in stages)], reader.info.estimated_frames)
    tracks: dict[int, Track] = {}
    left: dict[int, Track] = {}
    with closing(_chain(reader, stages)) as chain:  # the stage threads stop even if this fails
        for frame in chain:
            for box, i in zip(frame.boxes.tolist(), frame.ids.tolist()):
                tracks.setdefault(i, Track(i, "", frame.index, frame.index)).add(frame.index, tuple(box), frame.rgb)
            # the detect stage records a frame's boxes left alone before it hands the frame on
            for i, box in (still.boxes.get(frame.index, {}) if still is not None else {}).items():
                left.setdefault(i, Track(i, "", frame.index, frame.index, still=True)).add(frame.index, box, frame.rgb)
            if progress:
                progress(frame)
    # an object removed on some frames is a track as it was: the run leaves it alone where it was still
    tracks.update((i, track) for i, track in left.items() if i not in tracks)
    for track in left.values():
        track.why = "no body" if track.id in still.bodiless else "still"
    for i, track in tracks.items():
        track.cls = object_class(config, detector, i)
    ordered = [tracks[i] for i in sorted(tracks)]
    return Listing(ordered, still.report, still.boxes) if still is not None else Listing(ordered, "", {})


def tracks_json(tracks: list[Track], **info: object) -> dict:
    """The tracks.json document: ``info`` (input, size, frames) then a ``"tracks"`` list; each
    entry says ``"remove": true``, which a person (or the UI) may turn to false; an object left
    alone as still says ``"still": true, "remove": false``, and is removed if turned to true."""
    return {**info, "tracks": [
        {"id": t.id, "class": t.cls, "first": t.first, "last": t.last,
         "boxes": {str(k): list(v) for k, v in sorted(t.boxes.items())}, "remove": not t.still,
         **({"still": True, "why": t.why} if t.still else {})}
        for t in tracks]}


def tracks_sheet(tracks: list[Track]) -> np.ndarray:
    """One ``THUMB`` px cell per track with its id, ``COLUMNS`` to a row (``HxWx3 uint8`` RGB)."""
    rows = max(1, -(-len(tracks) // COLUMNS))
    cols = min(max(len(tracks), 1), COLUMNS)
    sheet = np.full((rows * THUMB, cols * THUMB, 3), 40, np.uint8)
    for n, track in enumerate(tracks):
        top, left = (n // COLUMNS) * THUMB, (n % COLUMNS) * THUMB
        if track.thumb is not None:
            th, tw = track.thumb.shape[:2]
            y, x = top + (THUMB - th) // 2, left + (THUMB - tw) // 2
            sheet[y:y + th, x:x + tw] = track.thumb
        cv2.rectangle(sheet, (left, top), (left + THUMB - 1, top + THUMB - 1), (90, 90, 90), 1)
        label(sheet, f"{track.id} {track.why or 'still'}" if track.still else str(track.id), (left + 4, top + 16))
    return sheet


def dumps(document: dict) -> str:
    """JSON with one line per track, so a person can flip a ``"remove"`` in any editor."""
    head = {k: v for k, v in document.items() if k != "tracks"}
    lines = [json.dumps(t) for t in document["tracks"]]
    return json.dumps(head)[:-1] + (", " if head else "") + '"tracks": [\n' + ",\n".join(lines) + "\n]}\n"


def write_tracks(input: str | Path, output: Path, config: Config, *, sheet: Path | None = None,
                 overwrite: bool = False, progress: Callable[[Frame], None] | None = None,
                 on_start: Callable[[list[tuple[str, str]], int | None], None] | None = None) -> Listing:
    """List the tracks of ``input`` and write them as JSON to ``output`` (and the sheet), atomically;
    returns the listing."""
    input = Path(input)
    check_output_path(output, [input], overwrite)
    if sheet is not None:
        check_output_path(sheet, [input, output], overwrite)
        if not is_image(sheet):  # found before the work, not after the JSON was written
            raise OutputError(f"--sheet {sheet}: must be an image file ({', '.join(IMAGE_EXTENSIONS)})")
    last: list[Frame] = []

    def seen(frame: Frame) -> None:
        last[:] = [frame]
        if progress:
            progress(frame)

    listing = list_tracks(input, config, seen, on_start)
    tracks = listing.tracks
    height, width = last[0].rgb.shape[:2] if last else (0, 0)
    document = tracks_json(tracks, input=str(input), width=width, height=height,
                           frames=last[0].index + 1 if last else 0, tracking=tracking_key(as_dict(config)))
    with atomic_path(output, replace=overwrite) as tmp:
        tmp.write_text(dumps(document))
    if sheet is not None:
        write_image(sheet, tracks_sheet(tracks), replace=overwrite)
    return listing
