"""Detectors: find the objects to remove, as boxes per frame."""

from .boxes import boxes_to_mask, expand_boxes
from .motion import MotionDetector

__all__ = ["MotionDetector", "boxes_to_mask", "expand_boxes"]
