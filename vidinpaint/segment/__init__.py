"""Segmenters: turn detection boxes into tight per-object masks."""

from .classical import BoxSegmenter, GrabCutSegmenter
from .stage import SegmentStage, move_mask

__all__ = ["BoxSegmenter", "GrabCutSegmenter", "SegmentStage", "move_mask"]
