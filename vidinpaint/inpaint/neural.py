"""The gated-convolution inpainting stage: crops from many frames, one batched network call.

The model is loaded once per process (cached by path and device) and stays resident. Crops
(:mod:`.crops`) from up to ``batch`` crops' worth of frames are stacked into one tensor; on CUDA
the network runs channels-last under fp16/bf16 autocast. If CUDA runs out of memory the batch is
halved and the same crops are retried, and the smaller batch is kept for the rest of the run.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import torch

from ..config import InpaintConfig
from ..devices import autocast_dtype, precision_name
from ..frames import Frame
from .checkpoint import load_generator
from .crops import Crop, paste, plan_crops, to_network
from .gated import Generator

PUBLISHED_SIZE = 256  # DeepFillv2's Places2 model was trained on 256x256 crops


@functools.lru_cache(maxsize=4)
def resident_generator(path: str, device: str) -> tuple[Generator, tuple]:
    """The generator at ``path`` on ``device``, loaded once per process; also returns its meta items."""
    model, meta = load_generator(Path(path))
    model = model.to(device)
    if device == "cuda":
        model = model.to(memory_format=torch.channels_last)
    return model, tuple(sorted(meta.items()))


class GatedInpainter:
    """Stage: fills ``frame.mask`` with the DeepFillv2 generator, on crops, batched across frames."""

    name = "inpaint"

    def __init__(self, model: Generator, config: InpaintConfig, device: str, source: str,
                 trained_size: int = PUBLISHED_SIZE) -> None:
        self.model, self.config, self.device, self.source = model.eval(), config, device, source
        self.size = config.size or trained_size
        self.batch = config.batch
        self.dtype = autocast_dtype(config.precision, device)

    @property
    def backend(self) -> str:
        return (f"DeepFillv2 gated conv ({self.source}) on {self.size}px crops, batch {self.batch}, "
                f"{precision_name(self.dtype)} on {self.device}")

    def _forward(self, images: np.ndarray, holes: np.ndarray) -> np.ndarray:
        """(N, S, S, 3) uint8 + (N, S, S) bool -> (N, S, S, 3) uint8 network output, everywhere (not
        composited: :func:`.crops.paste` compares it with the known pixels around the hole)."""
        fmt = torch.channels_last if self.device == "cuda" else torch.contiguous_format
        x = torch.from_numpy(images).to(self.device).permute(0, 3, 1, 2).float().div(127.5).sub(1)
        m = torch.from_numpy(holes).to(self.device)[:, None].float()
        x, m = x.contiguous(memory_format=fmt), m.contiguous(memory_format=fmt)
        with torch.inference_mode(), torch.autocast(self.device, self.dtype or torch.float32,
                                                    enabled=self.dtype is not None):
            _, refined = self.model(x, m)
        return refined.float().add(1).mul(127.5).round().clamp(0, 255).byte().permute(0, 2, 3, 1).cpu().numpy()

    def infer(self, images: np.ndarray, holes: np.ndarray) -> np.ndarray:
        """Run ``images`` through the network ``self.batch`` at a time, halving the batch on CUDA OOM."""
        out, start = [], 0
        while start < len(images):
            stop = start + self.batch
            try:
                out.append(self._forward(images[start:stop], holes[start:stop]))
            except torch.cuda.OutOfMemoryError:
                if self.batch == 1:
                    raise
                torch.cuda.empty_cache()
                self.batch //= 2
                continue
            start = stop
        return np.concatenate(out) if out else images

    def fill(self, items: list[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
        """Inpaint several (rgb, mask) pairs with one batched pass over all their crops."""
        size = self.size
        plans: list[tuple[int, Crop]] = [(i, crop) for i, (rgb, mask) in enumerate(items)
                                         for crop in plan_crops(mask, size, self.config.context)]
        outputs = [rgb.copy() for rgb, _ in items]
        if not plans:
            return outputs
        pairs = [to_network(items[i][0], items[i][1], crop, size) for i, crop in plans]
        filled = self.infer(np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs]))
        for (i, crop), result in zip(plans, filled):
            paste(outputs[i], items[i][1], crop, result, self.config.feather)
        return outputs

    def inpaint(self, rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """``rgb`` filled inside ``mask`` on its own: the fill calls this for what no frame shows
        (one frame per call: with ``fill.stable`` the network is not batched across frames)."""
        return self.fill([(rgb, mask)])[0] if mask.any() and not mask.all() else rgb

    def __call__(self, frames: Iterable[Frame]) -> Iterator[Frame]:
        pending: list[Frame] = []
        todo: list[Frame] = []  # the pending frames with something to fill
        for frame in frames:
            pending.append(frame)
            if frame.mask is not None and frame.mask.any() and not frame.mask.all():
                todo.append(frame)
            if len(todo) >= self.batch or len(pending) >= 2 * self.batch:
                yield from self._flush(pending, todo)
                pending, todo = [], []
        yield from self._flush(pending, todo)

    def _flush(self, frames: list[Frame], todo: list[Frame]) -> Iterator[Frame]:
        for frame, rgb in zip(todo, self.fill([(f.rgb, f.mask) for f in todo])):
            frame.rgb = rgb
        yield from frames
