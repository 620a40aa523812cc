"""The segmentation stage: refine boxes into tight masks on keyframes, move them in between.

Segmenting every frame is what costs (SAM's image embedding most of all), so ``every`` > 1
segments every object on keyframes only, plus an object whose track id is new on the frame where
it appears (that object alone); in between, each object's mask follows the optical flow, or its
box (shifted and scaled with it) without a flow.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple, Protocol

import cv2
import numpy as np

from ..detect.boxes import expand_boxes
from ..frames import Frame
from ..temporal.flow import resize_flow, warp


class Segmenter(Protocol):
    backend: str

    def segment(self, rgb: np.ndarray, boxes: np.ndarray, ids: list[int] | None = None) -> list[np.ndarray]: ...


def move_mask(mask: np.ndarray, old_box: np.ndarray, new_box: np.ndarray) -> np.ndarray:
    """Map ``mask`` (``HxW bool``) by the scale + shift that takes ``old_box`` onto ``new_box``."""
    ox1, oy1, ox2, oy2 = (float(v) for v in old_box)
    nx1, ny1, nx2, ny2 = (float(v) for v in new_box)
    sx = (nx2 - nx1) / max(ox2 - ox1, 1.0)
    sy = (ny2 - ny1) / max(oy2 - oy1, 1.0)
    # Boxes are pixel edges, warpAffine works on pixel centres: shift by half a pixel each way.
    tx, ty = nx1 - sx * ox1 + 0.5 * (sx - 1), ny1 - sy * oy1 + 0.5 * (sy - 1)
    matrix = np.array([[sx, 0, tx], [0, sy, ty]], np.float32)
    h, w = mask.shape
    return cv2.warpAffine(mask.astype(np.uint8), matrix, (w, h), flags=cv2.INTER_NEAREST) > 0


class _Previous(NamedTuple):
    """What following needs of the previous frame. Held here rather than read back from the
    frame, so that the mask stage can drop ``object_masks`` once it has merged them."""

    rgb: np.ndarray
    masks: dict[int, np.ndarray]
    shot: int


class SegmentStage:
    """Stage: sets ``frame.object_masks`` (one ``HxW bool`` per box) from ``segmenter``.

    Between keyframes each object's mask comes from the previous frame: warped along optical
    flow when ``flow`` (a :class:`~vidinpaint.temporal.flow.DisFlow`) is given (limbs move, boxes
    do not say how; the flow is left on the frame as ``flow_back`` for the fill), kept inside the
    object's box grown by ``margin``; otherwise the keyframe mask is scaled and shifted with the box.
    """

    name = "segment"

    def __init__(self, segmenter: Segmenter, every: int = 1, note: str = "", flow=None, margin: int = 8) -> None:
        self.segmenter, self.every, self.note, self.flow, self.margin = segmenter, every, note, flow, margin

    @property
    def backend(self) -> str:
        how = f"masks follow {self.flow.backend} between" if self.flow else "boxes move masks between"
        when = "every frame" if self.every == 1 else f"keyframes every {self.every} frames + new tracks, {how}"
        return f"{self.segmenter.backend}, {when}" + (f" [{self.note}]" if self.note else "")

    def _follow(self, frame: Frame, previous: _Previous, keyed: dict) -> list[np.ndarray]:
        """Each object's mask brought from the previous frame; objects new since the latest
        keyframe are segmented here, alone (the others keep following)."""
        ids = frame.ids.tolist()
        new = {i for i in ids if i not in keyed}
        if new:
            which = [k for k, i in enumerate(ids) if i in new]
            for k, mask in zip(which, self.segmenter.segment(frame.rgb, frame.boxes[which], [ids[k] for k in which])):
                keyed[ids[k]] = (frame.boxes[k], mask)

        def moved(i: int, box: np.ndarray) -> np.ndarray:  # a new object's own mask, else its keyframe's moved
            return keyed[i][1] if i in new else move_mask(keyed[i][1], keyed[i][0], box)

        if self.flow is None:
            return [moved(i, b) for i, b in zip(ids, frame.boxes)]
        h, w = frame.rgb.shape[:2]
        back = None  # current -> previous, at frame size
        if len(new) < len(ids):
            small = self.flow.small(frame.rgb, previous.rgb)
            frame.flow_back = (self.flow.backend, small)  # the fill's backward flow of this pair
            back = resize_flow(small, w, h)
        before = previous.masks
        masks = []
        for i, box in zip(ids, frame.boxes):
            source = before.get(i)
            if i in new or source is None:
                masks.append(moved(i, box))
                continue
            x0, y0, x1, y1 = (int(v) for v in expand_boxes(box[None], self.margin, w, h)[0])
            mask = np.zeros((h, w), bool)
            if x1 > x0 and y1 > y0:  # what came in over the frame's edge continues the object there
                mask[y0:y1, x0:x1] = warp(np.ascontiguousarray(source).view(np.uint8), back, cv2.INTER_NEAREST,
                                          (x0, y0, x1, y1), cv2.BORDER_REPLICATE) > 0
            masks.append(mask)
        return masks

    def __call__(self, frames: Iterable[Frame]) -> Iterator[Frame]:
        keyed: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # id -> (box, mask) at its keyframe
        previous: _Previous | None = None
        for frame in frames:
            ids = frame.ids.tolist()
            if previous is not None and previous.shot != frame.shot:  # no mask is carried across a boundary
                previous, keyed = None, {}
            if frame.index % self.every == 0 or previous is None or len(ids) != len(frame.boxes):
                frame.object_masks = self.segmenter.segment(frame.rgb, frame.boxes,
                                                            ids if len(ids) == len(frame.boxes) else None)
                keyed = {i: (b, m) for i, b, m in zip(ids, frame.boxes, frame.object_masks)}
            else:
                frame.object_masks = self._follow(frame, previous, keyed)
            previous = _Previous(frame.rgb, dict(zip(ids, frame.object_masks)), frame.shot)
            yield frame
