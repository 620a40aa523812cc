"""torchvision RAFT as the fill's optical flow, apart from :mod:`.flow` so that the flow tools
(imported by the CLI on every start) do not load torch: 2 of the 2.6 s it took to print ``--help``."""

from __future__ import annotations

import numpy as np
import torch

from .flow import downscale, resize_flow


class RaftFlow:
    """torchvision RAFT (Teed & Deng 2020, "RAFT: Recurrent All-Pairs Field Transforms")."""

    def __init__(self, model: torch.nn.Module, device: str = "cpu", max_side: int = 480, name: str = "RAFT") -> None:
        self.model, self.device, self.max_side = model.to(device).eval(), device, max_side
        self.backend = f"torchvision {name} ({device}) at <= {max_side}px"

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Flow from ``a`` to ``b`` (``HxWx3 uint8`` RGB), at ``a``'s full resolution."""
        h, w = a.shape[:2]
        return resize_flow(self.small(a, b), w, h)

    @torch.inference_mode()
    def small(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Flow from ``a`` to ``b`` at the working resolution (longer side <= ``max_side``)."""
        sa, sb = downscale(a, self.max_side), downscale(b, self.max_side)
        sh, sw = sa.shape[:2]
        # RAFT needs sides divisible by 8 and at least 128 px (its correlation pyramid)
        ph, pw = max((-sh) % 8, 128 - sh), max((-sw) % 8, 128 - sw)

        def tensor(img: np.ndarray) -> torch.Tensor:
            # a copy: ``img`` may be a decoded frame, which is read-only
            t = torch.tensor(img).permute(2, 0, 1)[None].float().to(self.device) / 127.5 - 1.0
            return torch.nn.functional.pad(t, (0, pw, 0, ph), mode="replicate")

        flow = self.model(tensor(sa), tensor(sb))[-1][0, :, :sh, :sw].permute(1, 2, 0).cpu().numpy()
        return np.ascontiguousarray(flow)
