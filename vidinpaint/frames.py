"""The unit of data that flows through the pipeline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

import av
import numpy as np

if TYPE_CHECKING:
    from .temporal.pairs import Pair


def _no_boxes() -> np.ndarray:
    return np.zeros((0, 4), dtype=np.int32)


def _no_ids() -> np.ndarray:
    return np.zeros(0, dtype=np.int64)


@dataclass
class Frame:
    """One decoded frame and what the stages learned about it.

    Attributes:
        index: position in decode order, from 0.
        pts: presentation timestamp in ``time_base`` units, as in the input stream.
        time_base: seconds per ``pts`` tick.
        rgb: ``HxWx3 uint8`` RGB image in display orientation (rotation already applied).
        mask: ``HxW bool``, True = pixel to remove; None until a mask stage sets it.
        boxes: ``Nx4 int32`` XYXY pixel boxes of the detected objects, as detected (no margin).
        ids: ``N int64`` track ids of those objects (stable across frames).
        object_masks: ``N`` tight ``HxW bool`` masks of those objects, when a segmenter made them;
            the mask stage merges them into ``mask`` and drops them.
        shot: which shot of the edit the frame belongs to (0, 1, ...; set by the shots stage).
            Stages that keep context across frames (tracks, masks carried by flow, hysteresis,
            the fill's carry and look-ahead) start afresh where it changes.
        mixed: the frame mixes two shots (inside a dissolve or fade): a source for no other frame.
        deep: ``HxWx3 uint16`` RGB of the decoded frame for inputs deeper than 8 bits, so the
            encoder keeps the full precision of pixels the stages did not change; else None.
        source: the decoded picture itself (PyAV frame, stored orientation), so the encoder can
            reuse its samples where the stages changed nothing; None for frames not from a video.
        decoded: the RGB the decoder made of ``source`` (read-only; the same array as ``rgb``
            until a stage replaces it, as stages do instead of writing into it), so the encoder
            finds the pixels the stages changed without converting ``source`` again; None for
            rotated video (``rgb`` is then a turned copy) and frames not from a video.
        flow_back: ``(backend, flow)``: optical flow from this frame to the previous one of its
            shot, at the flow's working resolution, as the stage that measured it (the segment
            stage, carrying masks) named its method; the fill takes it for that pair instead of
            measuring it again. None where no stage measured it.
        flows: ``(index, pair)``: the fill's flows between the frame ``index`` before this one
            (same shot) and this one, made (or to be made on first use) by the stage ahead of
            the fill (:class:`~vidinpaint.temporal.pairs.FlowAhead`); None where it did not run.
        duration: how long it shows, in ``time_base`` units, as its packet said (0: not said); the
            encoder gives it to the output's packet, so a held last frame keeps its length.
    """

    index: int
    pts: int
    time_base: Fraction
    rgb: np.ndarray
    mask: np.ndarray | None = None
    boxes: np.ndarray = field(default_factory=_no_boxes)
    ids: np.ndarray = field(default_factory=_no_ids)
    object_masks: list[np.ndarray] | None = None
    shot: int = 0
    mixed: bool = False
    deep: np.ndarray | None = None
    source: av.VideoFrame | None = None
    decoded: np.ndarray | None = None
    flow_back: tuple[str, np.ndarray] | None = None
    flows: tuple[int, Callable[[], Pair]] | None = None
    duration: int = 0

    @property
    def seconds(self) -> float:
        return float(self.pts * self.time_base)
