"""Box arithmetic shared by every detector: margins, clamping, rasterising."""

from __future__ import annotations

import cv2
import numpy as np


def expand_boxes(boxes: np.ndarray, margin: int, width: int, height: int) -> np.ndarray:
    """Grow ``Nx4`` XYXY boxes by ``margin`` px on every side, clamped to the frame.

    Returns ``Nx4 int32``; ``x2``/``y2`` are exclusive, so a box never exceeds ``(width, height)``.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    out = np.empty_like(boxes)
    out[:, 0] = np.floor(boxes[:, 0]) - margin
    out[:, 1] = np.floor(boxes[:, 1]) - margin
    out[:, 2] = np.ceil(boxes[:, 2]) + margin
    out[:, 3] = np.ceil(boxes[:, 3]) + margin
    out[:, [0, 2]] = out[:, [0, 2]].clip(0, width)
    out[:, [1, 3]] = out[:, [1, 3]].clip(0, height)
    return out.astype(np.int32)


def boxes_to_mask(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    """``HxW bool`` mask that is True inside any of the ``Nx4`` XYXY (exclusive end) boxes."""
    mask = np.zeros((height, width), bool)
    for x1, y1, x2, y2 in np.asarray(boxes, dtype=np.int64).reshape(-1, 4):
        mask[max(y1, 0):max(y2, 0), max(x1, 0):max(x2, 0)] = True
    return mask


def nms(boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, iou: float) -> np.ndarray:
    """Indices of the ``Nx4`` XYXY boxes that greedy non-maximum suppression keeps within each
    class (a box goes if it overlaps a higher-scored box of its class by IoU over ``iou``),
    highest score first, as torchvision's ``batched_nms`` (tests/test_detect.py compares them).
    OpenCV's: importing torchvision on the default path pulled in ``torch._dynamo`` at every
    start of the program."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    if not len(boxes):
        return np.zeros(0, np.int64)
    scores = np.asarray(scores, np.float32)
    xywh = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)
    kept = np.asarray(cv2.dnn.NMSBoxesBatched(xywh, scores, np.asarray(classes, np.int32), -np.inf, iou),
                      np.int64).reshape(-1)
    return kept[np.argsort(-scores[kept], kind="stable")]
