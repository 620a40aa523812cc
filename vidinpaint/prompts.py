"""Objects given by hand (``select.points``, ``select.boxes``), followed through their shot.

A prompt names one frame. Before the main pass, a cheap pre-pass decodes the clip up to the end
of the prompt's shot: on the prompt frame the segment stage's backend cuts the object out (SAM
point/box prompt, else GrabCut), then its mask is carried along DIS flow on downscaled frames,
forwards as frames arrive and backwards to the shot's start in blocks of ``BLOCK`` frames decoded
after a seek, re-cut with GrabCut every few frames. Only a box per frame is kept, so memory does
not grow with the clip beyond that. The main pass then gets the boxes as a track with its own id
(``PROMPT_BASE + n``, never a detector's), segmented like any other.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from .config import Config, SelectConfig
from .errors import ConfigError, VidinpaintWarning
from .frames import Frame
from .images import is_image
from .selection import check_inside, check_overlaps, parse_numbers
from .temporal.flow import dis_calc, downscale
from .video import probe

PROMPT_BASE = 1_000_000  # prompt n has id PROMPT_BASE + n: detectors count from 1 and never get there
SIDE = 480  # px, longest side of the frames the pre-pass follows objects on
BLOCK = 32  # frames decoded at a time when following backwards
RECUT = 4  # frames between GrabCut re-cuts of a followed mask
TINY = 16  # px: a prompted object smaller than this is most likely a failed cut
LATE = 2  # a prompt this many frames past the count the video declares is refused before decoding (a
# declared count can be a frame off the decoded one; nearer ones are checked as the clip decodes)

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Prompt:
    """One object given by hand: a point or a box (frame pixels) on frame ``frame``."""

    id: int
    frame: int
    text: str
    point: tuple[int, int] | None = None
    box: Box | None = None


def parse_prompts(config: SelectConfig) -> list[Prompt]:
    """Points then boxes, in the order given; ids ``PROMPT_BASE + 1, + 2...``."""
    items = [("select.points", t.strip(), 2, "320,200@15") for t in config.points.split(";") if t.strip()]
    items += [("select.boxes", t.strip(), 4, "300,150,360,260@15") for t in config.boxes.split(";") if t.strip()]
    prompts = []
    for n, (key, text, count, example) in enumerate(items, start=1):
        where, at, frame = text.partition("@")
        if not at or not re.fullmatch(r"[0-9]+", frame.strip()):  # isdigit() takes "²", int() does not
            raise ConfigError(f"{key}: {text!r} must look like {example} (pixels, then @ and a frame number)")
        values = parse_numbers(where, count, key, example)
        if count == 4 and (values[2] <= values[0] or values[3] <= values[1]):
            raise ConfigError(f"{key}: {text!r} is not a box x0,y0,x1,y1 with x0 < x1 and y0 < y1")
        prompts.append(Prompt(PROMPT_BASE + n, int(frame), f"{key} {text}",
                              point=values if count == 2 else None, box=values if count == 4 else None))
    return prompts


def _bbox(mask: np.ndarray, scale: float, width: int, height: int) -> Box:
    """The box (frame pixels, end exclusive) around a mask computed at ``scale`` times the frame."""
    ys, xs = np.nonzero(mask)
    return (max(0, int(xs.min() / scale)), max(0, int(ys.min() / scale)),
            min(width, int(np.ceil((xs.max() + 1) / scale))), min(height, int(np.ceil((ys.max() + 1) / scale))))


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """The median of ``values`` where each counts ``weights`` times (plain median if all are 0)."""
    if weights.sum() <= 0:
        return float(np.median(values))
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


class Follower:
    """Carries one object's mask from frame to frame on downscaled frames: moved and scaled as
    the DIS flow inside it says (its median weighted by the image gradient: flow is measured
    where there is texture, a flat object moves only at its edges; a per-pixel warp smeared the
    mask wherever the flow of a flat interior is near zero), re-cut with
    GrabCut in its box every ``RECUT`` frames so it keeps the object's shape; lost when it
    shrinks below a tenth of its first size."""

    def __init__(self, small: np.ndarray, mask: np.ndarray, cutter) -> None:
        self.grey, self.mask, self.cutter = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), mask, cutter
        self.area, self.steps = int(mask.sum()), 0
        self.dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)

    def step(self, small: np.ndarray) -> bool:
        """Move to the next frame (``small``, same size); False once the object is lost."""
        grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
        flow = dis_calc(self.dis, self.grey, grey)
        ys, xs = np.nonzero(self.mask)
        moved = flow[ys, xs]
        edges = cv2.magnitude(cv2.Sobel(self.grey, cv2.CV_32F, 1, 0), cv2.Sobel(self.grey, cv2.CV_32F, 0, 1))[ys, xs]
        dx, dy = _weighted_median(moved[:, 0], edges), _weighted_median(moved[:, 1], edges)
        spread = np.median(np.abs(xs - np.median(xs)) + np.abs(ys - np.median(ys)))
        new_x, new_y = xs + moved[:, 0], ys + moved[:, 1]
        after = np.median(np.abs(new_x - np.median(new_x)) + np.abs(new_y - np.median(new_y)))
        scale = float(np.clip(after / spread, 0.9, 1.1)) if spread > 0 else 1.0
        cx, cy = xs.mean(), ys.mean()
        matrix = np.array([[scale, 0, cx + dx - scale * cx], [0, scale, cy + dy - scale * cy]], np.float32)
        h, w = grey.shape
        mask = cv2.warpAffine(self.mask.astype(np.float32), matrix, (w, h), flags=cv2.INTER_LINEAR) > 0.5
        self.steps += 1
        if self.steps % RECUT == 0 and mask.any():
            cut = self.cutter.segment(small, np.array([_bbox(mask, 1.0, w, h)]))[0]
            if 0.5 * mask.sum() < cut.sum() < 2 * mask.sum():
                mask = cut
        self.grey, self.mask = grey, mask
        return bool(mask.sum() >= max(4, 0.1 * self.area))


def first_mask(rgb: np.ndarray, prompt: Prompt, segmenter, cutter) -> np.ndarray:
    """The prompted object on its frame: the segment backend's point (or box) prompt; backends
    without a point prompt (box, selfie) leave points to GrabCut."""
    if prompt.box is not None:
        h, w = rgb.shape[:2]
        x0, y0, x1, y1 = prompt.box
        return segmenter.segment(rgb, np.array([[max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)]]))[0]
    x, y = prompt.point
    return (segmenter if hasattr(segmenter, "segment_point") else cutter).segment_point(rgb, x, y)


@dataclass
class _Pending:
    """A prompt in the pre-pass: where its shot starts, the pts of its frames so far, its
    forward follower and the boxes found."""

    prompt: Prompt
    shot: int = -1
    start: int = 0
    pts: list[int] | None = None
    ahead: Follower | None = None
    back: Follower | None = None
    boxes: dict[int, Box] | None = None


def follow_prompts(frames: Iterable[Frame], prompts: list[Prompt], segmenter, cutter,
                   source: Path | None = None) -> dict[int, dict[int, Box]]:
    """``{prompt id: {frame index: box}}`` for every prompt, from ``frames`` (the decoded clip
    with shots marked) and, to follow backwards, seeks into the video ``source``."""
    pending = [_Pending(p, boxes={}) for p in prompts]
    shot, start, shot_pts, size, count = -1, 0, [], (0, 0), 0
    for frame in frames:
        h, w = frame.rgb.shape[:2]
        if frame.index == 0:
            size = (w, h)
            for p in prompts:
                check_inside(*p.point, w, h, p.text) if p.box is None else check_overlaps(p.box, w, h, p.text)
        if frame.shot != shot:
            shot, start, shot_pts = frame.shot, frame.index, []
        shot_pts.append(frame.pts)
        count = frame.index + 1
        small = None
        for item in pending:
            if item.prompt.frame == frame.index:
                mask = first_mask(frame.rgb, item.prompt, segmenter, cutter)
                if not mask.any():
                    raise ConfigError(f"{item.prompt.text}: nothing to segment there")
                if mask.sum() < TINY:  # a point on a walker's edge cut out one pixel, followed for one frame
                    advice = "put the point inside it or give a box" if item.prompt.box is None else "give a closer box"
                    warnings.warn(f"{item.prompt.text}: the object there is only {int(mask.sum())} px; if it "
                                  f"is more, {advice}", VidinpaintWarning, stacklevel=2)
                small = downscale(frame.rgb, SIDE) if small is None else small
                little = cv2.resize(mask.astype(np.uint8), small.shape[1::-1], interpolation=cv2.INTER_AREA) > 0
                little = little if little.any() else cv2.resize(mask.astype(np.uint8), small.shape[1::-1],
                                                                interpolation=cv2.INTER_LINEAR) > 0
                item.shot, item.start, item.pts = shot, start, list(shot_pts)
                item.ahead, item.back = Follower(small, little, cutter), Follower(small, little, cutter)
                item.boxes[frame.index] = _bbox(mask, 1.0, w, h)
            elif item.ahead is not None and frame.index > item.prompt.frame:
                small = downscale(frame.rgb, SIDE) if small is None else small
                if frame.shot == item.shot and item.ahead.step(small):
                    item.boxes[frame.index] = _bbox(item.ahead.mask, small.shape[1] / w, w, h)
                else:
                    item.ahead = None
        if all(i.prompt.frame < frame.index and i.ahead is None for i in pending):
            break
    for item in pending:
        if item.pts is None:
            raise ConfigError(f"{item.prompt.text}: the clip has {count} frames (0 to {count - 1})")
        if item.prompt.frame > item.start:
            _follow_back(item, source, size)
    return {i.prompt.id: i.boxes for i in pending}


def _follow_back(item: _Pending, source: Path | None, size: tuple[int, int]) -> None:
    """Follow ``item``'s object from its frame back to its shot's start, ``BLOCK`` frames at a time."""
    w, h = size
    end = item.prompt.frame
    while end > item.start and item.back is not None:
        begin = max(item.start, end - BLOCK)
        block = _decode(source, item.pts[begin - item.start:end - item.start]) if source else None
        if block is None:
            warnings.warn(f"{item.prompt.text}: cannot seek in the video, so the object is followed forwards only",
                          VidinpaintWarning, stacklevel=2)
            return
        for index in range(end - 1, begin - 1, -1):
            small = block[index - begin]
            if not item.back.step(small):
                item.back = None
                break
            item.boxes[index] = _bbox(item.back.mask, small.shape[1] / w, w, h)
        end = begin


def _decode(path: Path, pts: list[int]) -> list[np.ndarray] | None:
    """The downscaled upright frames with these ``pts`` (consecutive), after a seek; None if the
    stream cannot deliver exactly them (no timestamps, an inexact seek)."""
    from .video.colour import detached
    from .video.reader import probe, upright

    info = probe(path)
    wanted = {p: n for n, p in enumerate(pts)}
    found: list[np.ndarray | None] = [None] * len(pts)
    with av.open(str(path)) as container:
        stream = container.streams[info.index]
        container.seek(pts[0], stream=stream, backward=True)
        for vf in container.decode(stream):
            if vf.pts in wanted:
                rgb, _ = info.colour.to_rgb(detached(vf))
                found[wanted[vf.pts]] = downscale(upright(rgb, info.rotation), SIDE)
            if vf.pts is not None and vf.pts >= pts[-1]:
                break
    return None if any(f is None for f in found) else found


class PromptStage:
    """Stage: adds the followed boxes of the prompted objects, with their ids, to each frame."""

    name = "prompts"

    def __init__(self, boxes: dict[int, dict[int, Box]], prompts: list[Prompt]) -> None:
        self.boxes, self.prompts = boxes, prompts

    @property
    def backend(self) -> str:
        spans = [f"{p.id}: {min(b)}-{max(b)}" for p in self.prompts if (b := self.boxes[p.id])]
        return f"{len(self.prompts)} object(s) given by hand, followed along DIS flow (frames {', '.join(spans)})"

    def __call__(self, frames: Iterable[Frame]) -> Iterator[Frame]:
        for frame in frames:
            extra = [(i, b[frame.index]) for i, b in self.boxes.items() if frame.index in b]
            if extra:
                frame.boxes = np.concatenate([frame.boxes, np.array([b for _, b in extra], np.int32)])
                frame.ids = np.concatenate([frame.ids, np.array([i for i, _ in extra], np.int64)])
            yield frame


def prompt_stage(config: Config, device: str, frames: Iterable[Frame], source: Path | None) -> PromptStage:
    """Run the pre-pass over ``frames`` (a fresh decode with shots marked) for ``config``'s prompts."""
    from .backends import build_segmenter
    from .segment import GrabCutSegmenter

    prompts = parse_prompts(config.select)
    declared = probe(source).frames if source is not None and not is_image(source) else 0
    for prompt in prompts:  # a typo'd frame number, found now, not after decoding the whole clip
        if declared and prompt.frame >= declared + LATE:
            raise ConfigError(f"{prompt.text}: the video declares {declared} frames (0 to {declared - 1})")
    # a user's box or point may hold any object, loosely: GrabCut's rules for a detector's boxes of
    # people (a collapsed cut keeps the box, a cut reaches the box's bottom) are off; margin, iterations
    # and ring as measured for prompts before the detector's ring became 0.15
    cutter = GrabCutSegmenter(margin=2, iterations=2, context=0.3, min_share=0.0, feet=False)
    segmenter = build_segmenter(config, device, person_rules=False).segmenter
    return PromptStage(follow_prompts(frames, prompts, segmenter, cutter, source), prompts)
