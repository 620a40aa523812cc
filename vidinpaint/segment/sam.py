"""Segment Anything (Kirillov et al. 2023) with box prompts, via the ``segment-anything`` package.

The image embedding is computed once per frame (``set_image``) and all of the frame's boxes are
prompted in one batched ``predict_torch`` call.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch


@functools.lru_cache(maxsize=2)
def load_sam(checkpoint: Path, model_type: str, device: str) -> torch.nn.Module:
    """A cached SAM model: batch workers load a checkpoint once and keep it resident."""
    from segment_anything import sam_model_registry

    return sam_model_registry[model_type](checkpoint=str(checkpoint)).to(device).eval()


class SamSegmenter:
    """Tight masks from SAM for every box of a frame."""

    def __init__(self, checkpoint: Path | None, model_type: str = "vit_b", device: str = "cpu",
                 model: torch.nn.Module | None = None) -> None:
        from segment_anything import SamPredictor

        if model is None:
            if checkpoint is None:
                raise ValueError("SamSegmenter needs a checkpoint or a model")
            model = load_sam(Path(checkpoint), model_type, device)
        self.predictor = SamPredictor(model.to(device).eval())
        self.device = device
        self.backend = f"SAM {model_type} box prompts ({device}, one embedding per frame, boxes batched)"

    @torch.inference_mode()
    def segment(self, rgb: np.ndarray, boxes: np.ndarray, ids: list[int] | None = None) -> list[np.ndarray]:
        if len(boxes) == 0:
            return []
        self.predictor.set_image(np.ascontiguousarray(rgb), image_format="RGB")
        prompts = torch.as_tensor(np.asarray(boxes, np.float32), device=self.device)
        prompts = self.predictor.transform.apply_boxes_torch(prompts, rgb.shape[:2])
        masks, _, _ = self.predictor.predict_torch(point_coords=None, point_labels=None, boxes=prompts,
                                                   multimask_output=False)
        return [m[0].cpu().numpy().astype(bool) for m in masks]

    @torch.inference_mode()
    def segment_point(self, rgb: np.ndarray, x: int, y: int) -> np.ndarray:
        """The object under pixel ``(x, y)``: SAM's best-scored of its three masks for one point."""
        self.predictor.set_image(np.ascontiguousarray(rgb), image_format="RGB")
        masks, scores, _ = self.predictor.predict(point_coords=np.array([[x, y]], np.float32),
                                                  point_labels=np.array([1]), multimask_output=True)
        return masks[int(np.argmax(scores))].astype(bool)
