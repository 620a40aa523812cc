"""Which detected objects are removed: by track id, by a tracks.json, by place and by size.

Selection runs after the detect stage has given every object its track id, so the ids are the
same whether or not anything is selected (`vidinpaint tracks` lists them with the same config),
and before segmentation, so objects that stay are never segmented. Criteria combine: an object
is removed only if every given criterion removes it. Region and height are judged on each
frame's box, so an object is removed while it is inside the region (or tall enough).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .config import SelectConfig
from .detect.still import StillObjects
from .errors import ConfigError, VidinpaintWarning
from .frames import Frame


def parse_ids(text: str, key: str) -> frozenset[int]:
    """``"3,7"`` -> ``{3, 7}``; anything else is an error naming ``key``."""
    try:
        ids = frozenset(int(part) for part in text.split(","))
    except ValueError:
        raise ConfigError(f"{key}: {text!r} is not a list of track ids such as 3,7") from None
    if any(i < 0 for i in ids):
        raise ConfigError(f"{key}: {text!r} holds a negative track id")
    return ids


def parse_numbers(text: str, count: int, key: str, example: str) -> tuple[int, ...]:
    """``count`` comma-separated integers (pixels or frames); an error naming ``key`` otherwise."""
    parts = text.split(",")
    try:
        values = tuple(int(round(float(p))) for p in parts)
    except (ValueError, OverflowError):  # not a number; inf or 1e999 (no pixel is that far)
        values = ()
    if len(values) != count or len(parts) != count:
        raise ConfigError(f"{key}: {text!r} must be {count} numbers such as {example}")
    return values


def parse_region(text: str, key: str = "select.region") -> tuple[int, int, int, int]:
    """``"x0,y0,x1,y1"`` -> a box with ``x0 < x1`` and ``y0 < y1`` (pixels, end exclusive)."""
    x0, y0, x1, y1 = parse_numbers(text, 4, key, "0,0,640,200")
    if x1 <= x0 or y1 <= y0 or min(x0, y0) < 0:
        raise ConfigError(f"{key}: {text!r} is not a box x0,y0,x1,y1 with 0 <= x0 < x1 and 0 <= y0 < y1")
    return x0, y0, x1, y1


def check_overlaps(box: tuple[int, int, int, int], width: int, height: int, what: str) -> None:
    """An error if the box ``x0, y0, x1, y1`` has no pixel in the frame; one reaching past any
    edge is cut there (one past the top or left was refused, one past the bottom or right cut)."""
    x0, y0, x1, y1 = box
    if x1 <= 0 or y1 <= 0 or x0 >= width or y0 >= height:
        raise ConfigError(f"{what} lies outside the {width}x{height} frame")


def check_inside(x: int, y: int, width: int, height: int, what: str) -> None:
    """An error if the pixel ``x, y`` (a point, a box's top-left corner) is not in the frame."""
    if not (0 <= x < width and 0 <= y < height):
        raise ConfigError(f"{what} lies outside the {width}x{height} frame")


FRAMES_SLACK = 2  # frames a tracks file's count may differ by: the review page counts packets, a few more than frames


class TracksFile(NamedTuple):
    """What a tracks.json asks for: ids to remove (entries without ``"remove": false``, objects
    left alone as still among them when turned to true), ids to keep, the objects left alone as
    still that it leaves alone, and what it says of the clip it was made from (``input``,
    ``width``, ``height``, ``frames``, ``tracking``: :func:`tracking_key` of its settings)."""

    remove: frozenset[int]
    keep: frozenset[int]
    idle: frozenset[int]
    made: dict


NOT_IDS = ("margin", "batch", "precision", "still", "still_frames", "still_score", "pose", "pose_height",
           "pose_every")  # detect settings ids do not follow: the box margin and batch act after tracking, the
# precision is the machine's, still objects and people without a body are judged after


def tracking_key(sections: dict) -> str:
    """A short hash of the settings that decide track ids (the ``shots`` and ``detect`` sections
    of a config as a dict, but ``NOT_IDS``): another value gives other ids to the same objects."""
    chosen = {"shots": sections["shots"], "detect": {k: v for k, v in sections["detect"].items() if k not in NOT_IDS}}
    return hashlib.sha256(json.dumps(chosen, sort_keys=True).encode()).hexdigest()[:12]


def read_tracks_file(path: str) -> TracksFile:
    """The ids a tracks.json removes and keeps. An entry marked ``"still": true`` (an object the
    detector left alone, listed with ``"remove": false``) is not a kept track: it was never one,
    and the run would warn that it is missing; flipped to ``true``, it is removed."""
    key = "select.tracks_file"
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))  # Notepad's byte-order mark
    except FileNotFoundError:
        raise ConfigError(f"{key}: no such file {path}") from None
    except OSError as err:
        raise ConfigError(f"{key}: cannot read {path}: {err.strerror or err}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{key}: {path} is not JSON ({err})") from None
    entries = data.get("tracks") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) and type(e.get("id")) is int
                                                for e in entries):  # type: true is an int to isinstance
        raise ConfigError(f"{key}: {path} has no \"tracks\" list of entries with an integer \"id\" "
                          f"(write one with `vidinpaint tracks`)")
    for flag in ("remove", "still"):
        odd = next((e for e in entries if not isinstance(e.get(flag, True), bool)), None)
        if odd is not None:  # "false" in quotes would be read as true, and the track removed
            raise ConfigError(f"{key}: {path}: track {odd['id']} has \"{flag}\": {json.dumps(odd[flag])}; "
                              f"write true or false, without quotes")
    twice = sorted(i for i, n in Counter(e["id"] for e in entries).items() if n > 1)
    if twice:  # which of the two entries counts was left to chance
        raise ConfigError(f"{key}: {path} lists track {twice[0]} twice; keep one entry per id")
    removed = frozenset(e["id"] for e in entries if e.get("remove", True))
    still = frozenset(e["id"] for e in entries if e.get("still", False))
    made = {k: v for k, v in data.items() if k != "tracks"}
    return TracksFile(removed, frozenset(e["id"] for e in entries) - removed - still, still - removed, made)


def chooses(config: SelectConfig) -> bool:
    """Whether ``config`` chooses among the detected objects (by id, place or size): objects
    given by hand then add to its choice; alone, they are all that is removed."""
    return bool(any((config.tracks, config.keep_tracks, config.tracks_file, config.region, config.min_height)))


@dataclass(frozen=True)
class Selection:
    """Parsed ``select`` options (None: that criterion is not given).

    Objects given by hand (``prompted`` ids) are removed unless ``--keep-tracks`` or the tracks
    file keeps them; the other criteria choose among detected objects. With prompts and no other
    criterion only the prompted objects go (``detected`` False; ``--tracks all`` adds the rest).
    """

    tracks: frozenset[int] | None = None
    keep: frozenset[int] = frozenset()
    listed: frozenset[int] | None = None
    named: frozenset[int] = frozenset()  # ids asked for one by one: removed even if the detector left them alone
    # the tracks file and what it says of the clip it was made from (a dict: not part of the hash)
    made: tuple[str, dict] | None = field(default=None, hash=False)
    region: tuple[int, int, int, int] | None = None
    min_height: int = 0
    prompted: frozenset[int] = frozenset()
    detected: bool = True

    @classmethod
    def from_config(cls, config: SelectConfig) -> Selection:
        """Parse and check every option now, so a bad value fails before any frame is decoded."""
        from .prompts import PROMPT_BASE, parse_prompts

        file = read_tracks_file(config.tracks_file) if config.tracks_file else None
        listed, kept = (file.remove, file.keep) if file else (None, frozenset())
        everything = config.tracks.strip() == "all"
        prompted = frozenset(p.id for p in parse_prompts(config))
        by_hand = sorted(i for i in listed or () if i >= PROMPT_BASE and i not in prompted)
        if by_hand:  # the file lists what a prompt found; it cannot find it again (nothing was removed)
            raise ConfigError(f"select.tracks_file: track {by_hand[0]} is an object given by hand (--point or "
                              f"--box, with `vidinpaint tracks`); give the same prompts again with the tracks file")
        tracks = parse_ids(config.tracks, "select.tracks") if config.tracks and not everything else None
        keep = parse_ids(config.keep_tracks, "select.keep_tracks") if config.keep_tracks else frozenset()
        both = sorted((tracks or frozenset()) & (keep | kept | (file.idle if file else frozenset())))
        if both:
            raise ConfigError(f"select.tracks and select.keep_tracks (or the tracks file) both name track "
                              f"{','.join(map(str, both))}; give each id to one of them")
        idle = sorted(keep - prompted) if tracks is not None else []
        if idle:  # "remove only 3" keeps 4 already: the user meant one of the two
            raise ConfigError(f"select.keep_tracks {','.join(map(str, idle))} does nothing with select.tracks, which "
                              f"keeps every track it does not name: give --tracks (remove only these) or "
                              f"--keep-tracks (remove all but these)")
        return cls(
            tracks=tracks,
            keep=keep | kept,
            listed=listed,
            named=(tracks or frozenset()) | (listed or frozenset()),
            made=(config.tracks_file, file.made) if file else None,
            region=parse_region(config.region) if config.region else None,
            min_height=config.min_height,
            prompted=prompted,
            detected=not prompted or everything or chooses(config),
        )

    @property
    def active(self) -> bool:
        return self != Selection()

    def describe(self) -> str:
        parts = [f"{len(self.prompted)} object(s) given by hand"] if self.prompted else []
        if not self.detected:
            return parts[0] + " (no detection)"
        if self.tracks is not None:
            parts.append(f"only tracks {','.join(map(str, sorted(self.tracks)))}")
        if self.keep:
            parts.append(f"keeping tracks {','.join(map(str, sorted(self.keep)))}")
        if self.listed is not None:
            parts.append(f"{len(self.listed)} tracks from the tracks file")
        if self.region is not None:
            parts.append("box centre inside {},{},{},{}".format(*self.region))
        if self.min_height:
            parts.append(f"at least {self.min_height}px tall")
        return "; ".join(parts) or "every detected object"

    def removes(self, boxes: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """``N bool``: which of a frame's ``Nx4`` XYXY boxes with track ``ids`` are removed."""
        boxes = np.asarray(boxes).reshape(-1, 4)
        ids = np.asarray(ids).reshape(-1)
        keep = np.full(len(boxes), self.detected)
        for allowed, wanted in ((self.tracks, True), (self.listed, True), (self.keep, False)):
            if allowed is not None:
                keep &= np.isin(ids, list(allowed)) == wanted
        if self.region is not None:
            x0, y0, x1, y1 = self.region
            cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
            keep &= (cx >= x0) & (cx < x1) & (cy >= y0) & (cy < y1)
        keep &= boxes[:, 3] - boxes[:, 1] >= self.min_height
        prompted = np.isin(ids, list(self.prompted))
        return np.where(prompted, ~np.isin(ids, list(self.keep)), keep)


class SelectStage:
    """Stage: drops the boxes and ids of objects the selection keeps in the video."""

    name = "select"

    def __init__(self, selection: Selection, still: StillObjects | None = None, tracking: str | None = None) -> None:
        self.selection, self.still = selection, still  # ``still``: the detect stage's, whose ids it never sees
        # :func:`tracking_key` of this run's settings; None for an excerpt of a clip (the review page's
        # preview), on which neither the tracks file's clip nor a selection that removes nothing is judged
        self.tracking = tracking

    @property
    def backend(self) -> str:
        return self.selection.describe()

    def _check_made(self, width: int, height: int) -> None:
        """An error if the tracks file lists another size of video, a warning if its ids came
        from other settings: either way its ids name other objects (a walker was kept because
        another clip's file marked his id still, with no word but a missing id)."""
        path, made = self.selection.made
        size = (made.get("width"), made.get("height"))
        if all(isinstance(v, int) and v > 0 for v in size) and size != (width, height):
            raise ConfigError(f"select.tracks_file: {path} lists the tracks of a {size[0]}x{size[1]} video "
                              f"({made.get('input', 'unnamed')}), this one is {width}x{height}: its ids name other "
                              f"objects; run `vidinpaint tracks` on this clip")
        if made.get("tracking") not in (None, self.tracking):
            warnings.warn(f"select.tracks_file: {path} was made with other shots/detect settings than this run's, "
                          f"which give the same objects other ids; run `vidinpaint tracks` with the settings you "
                          f"clean with", VidinpaintWarning, stacklevel=3)

    def __call__(self, frames: Iterable[Frame]) -> Iterator[Frame]:
        seen: set[int] = set()
        count, removed = 0, False
        for frame in frames:
            if frame.index == 0 and self.selection.region is not None:
                h, w = frame.rgb.shape[:2]
                x0, y0, x1, y1 = self.selection.region
                check_inside(x0, y0, w, h, f"select.region {x0},{y0},{x1},{y1}")
            if count == 0 and self.selection.made is not None and self.tracking is not None:
                self._check_made(frame.rgb.shape[1], frame.rgb.shape[0])
            count += 1
            seen.update(frame.ids.tolist())
            chosen = self.selection.removes(frame.boxes, frame.ids)
            removed |= bool(chosen.any())
            frame.boxes, frame.ids = frame.boxes[chosen], frame.ids[chosen]
            yield frame
        frames = self.selection.made[1].get("frames") if self.selection.made is not None else None
        if self.tracking is not None and isinstance(frames, int) and abs(frames - count) > FRAMES_SLACK:
            path, made = self.selection.made
            warnings.warn(f"select.tracks_file: {path} lists the tracks of a video of {made['frames']} frames "
                          f"({made.get('input', 'unnamed')}), this one has {count}: its ids may name other objects",
                          VidinpaintWarning, stacklevel=2)
        seen.update(self.still.left if self.still is not None else ())  # there, but left alone before this stage
        named = (("select.tracks", self.selection.tracks), ("select.keep_tracks / the tracks file", self.selection.keep),
                 ("the tracks file", self.selection.listed))
        if seen and not removed and self.tracking is not None:  # the output is the input re-encoded: say so
            warnings.warn(f"the selection ({self.selection.describe()}) removes none of the {len(seen)} objects "
                          f"found, so the video is only re-encoded", VidinpaintWarning, stacklevel=2)
        for key, ids in named:
            missing = sorted((ids or frozenset()) - seen)
            # a track kept that is not there keeps nothing: the user should know; a few frames of
            # the clip (a review page's preview, ``tracking`` None) need not show every track
            if missing and self.tracking is not None:
                warnings.warn(f"{key}: no track {','.join(map(str, missing))} in this video "
                              f"(list them with `vidinpaint tracks`)", VidinpaintWarning, stacklevel=2)
