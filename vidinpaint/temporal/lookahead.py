"""The fill's look-ahead on a torch device (a GPU): each hole pixel followed through the chain of
flows to the first later frame where its scene point is a trusted source, as
:meth:`~vidinpaint.temporal.fill.FlowFill._from_future` does with OpenCV and NumPy on the CPU.

On the CPU the points still travelling are compacted after every hop, so that the work follows
the hole; here every point stays in place and carries a flag instead: a hop is then a few dozen
kernels whatever the hole's size, with no copy back to the host until the end, and one check per
hop of whether any point still travels. Frames, their source masks and the pairs' flows are
copied to the device once each and kept while the look-ahead holds them. The samples are the
same normalised convolution as :func:`~vidinpaint.temporal.fill.sample_valid`, worked out exactly
where OpenCV reads positions at 1/32 px: a colour may differ by a level, and a point within a
few hundredths of half a valid neighbour may fall the other way.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import numpy as np
import torch

from ..frames import Frame
from .pairs import Pair


class _Uploads:
    """Device copies of host arrays, keyed by the array (its ``id``, the array held so that the
    ``id`` stays its own), the ``size`` most recently asked for kept."""

    def __init__(self, device: torch.device, size: int) -> None:
        self.device, self.size = device, size
        self.kept: OrderedDict[int, tuple[object, tuple[torch.Tensor, ...]]] = OrderedDict()

    def __call__(self, key: object, *arrays: np.ndarray) -> tuple[torch.Tensor, ...]:
        entry = self.kept.get(id(key))
        if entry is None:
            entry = (key, tuple(torch.from_numpy(np.ascontiguousarray(a)).to(self.device, non_blocking=True)
                                for a in arrays))
            self.kept[id(key)] = entry
            if len(self.kept) > self.size:
                self.kept.popitem(last=False)
        else:
            self.kept.move_to_end(id(key))
        return entry[1]


def _bilinear_clamped(field: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """``field`` (``HxWxC``) at the points ``(u, v)``, bilinear, the edge repeated outside it
    (OpenCV's ``BORDER_REPLICATE``)."""
    h, w = field.shape[:2]
    u, v = u.clamp(0, w - 1), v.clamp(0, h - 1)
    x0, y0 = u.floor().clamp(max=max(w - 2, 0)), v.floor().clamp(max=max(h - 2, 0))
    fx, fy = (u - x0)[:, None], (v - y0)[:, None]
    x0, y0 = x0.long(), y0.long()
    x1, y1 = (x0 + 1).clamp(max=w - 1), (y0 + 1).clamp(max=h - 1)
    return ((field[y0, x0] * (1 - fx) + field[y0, x1] * fx) * (1 - fy)
            + (field[y1, x0] * (1 - fx) + field[y1, x1] * fx) * fy)


def _follow(flow: torch.Tensor, ok: torch.Tensor, x: torch.Tensor, y: torch.Tensor, width: int, height: int
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:meth:`Pair.follow` (forward) on the device."""
    hs, ws = ok.shape
    sx, sy = ws / width, hs / height
    d = _bilinear_clamped(flow, (x + 0.5) * sx - 0.5, (y + 0.5) * sy - 0.5)
    col = torch.round(x).clamp(0, width - 1).long() * ws // width
    row = torch.round(y).clamp(0, height - 1).long() * hs // height
    return x + d[:, 0] / sx, y + d[:, 1] / sy, ok[row, col]


def _sample_valid(image: torch.Tensor, valid: torch.Tensor, x: torch.Tensor, y: torch.Tensor
                  ) -> tuple[torch.Tensor, torch.Tensor]:  # image: HxWx3 uint8, read at the points only
    """:func:`~vidinpaint.temporal.fill.sample_valid` on the device: ``N``x3 uint8 colours from
    the valid ones of each point's four neighbours, weighted bilinearly, and where more than half
    the weight is valid."""
    h, w = valid.shape
    x0, y0 = x.floor(), y.floor()
    fx, fy = x - x0, y - y0
    x0, y0 = x0.long(), y0.long()
    colour = torch.zeros((len(x), 3), dtype=torch.float32, device=x.device)
    weight = torch.zeros(len(x), dtype=torch.float32, device=x.device)
    for dx, dy, share in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        xs, ys = x0 + dx, y0 + dy
        inside = (xs >= 0) & (xs < w) & (ys >= 0) & (ys < h)
        xs, ys = xs.clamp(0, w - 1), ys.clamp(0, h - 1)
        share = share * (inside & valid[ys, xs])
        weight += share
        colour += share[:, None] * image[ys, xs]
    ok = weight > 0.5
    out = (colour / weight.clamp(min=1e-6)[:, None] + 0.5).clamp(0, 255).to(torch.uint8)
    return out, ok


class DeviceLookAhead:
    """:meth:`~vidinpaint.temporal.fill.FlowFill._from_future` on ``device``; keeps the device
    copies of up to ``keep`` frames (the fill's look-ahead and one more)."""

    def __init__(self, device: str, keep: int) -> None:
        self.device = torch.device(device)
        self.backend = f"look-ahead followed on {self.device} (torch)"
        self._frames = _Uploads(self.device, keep)
        self._sources = _Uploads(self.device, keep)
        self._pairs = _Uploads(self.device, keep)

    def __call__(self, frames: list[Frame], pairs: list[Callable[[], Pair]], missing: np.ndarray,
                 source: Callable[[int], np.ndarray], origin: tuple[int, int]
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        h, w = frames[0].rgb.shape[:2]
        ys, xs = np.nonzero(missing)
        x = torch.from_numpy((xs + origin[1]).astype(np.float32)).to(self.device)
        y = torch.from_numpy((ys + origin[0]).astype(np.float32)).to(self.device)
        travelling = torch.ones(len(xs), dtype=torch.bool, device=self.device)
        colour = torch.zeros((len(xs), 3), dtype=torch.uint8, device=self.device)
        hops = torch.zeros(len(xs), dtype=torch.int32, device=self.device)
        for k, made in enumerate(pairs, start=1):
            if not len(xs) or not bool(travelling.any()):
                break
            pair = made()
            flow, ok = self._pairs(pair, pair.forward_small, pair.forward_ok_small)
            x, y, trusted = _follow(flow, ok, x, y, w, h)
            travelling &= trusted & (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)
            (image,) = self._frames(frames[k].rgb, frames[k].rgb)
            (valid,) = self._sources(source(k), source(k))
            sample, visible = _sample_valid(image, valid, x, y)
            now = travelling & visible
            colour[now] = sample[now]
            hops[now] = k
            travelling &= ~visible
        out = np.zeros((*missing.shape, 3), np.uint8)
        found = np.zeros(missing.shape, bool)
        steps = np.zeros(missing.shape, np.int32)
        hops_host = hops.cpu().numpy()
        out[ys, xs], steps[ys, xs] = colour.cpu().numpy(), hops_host
        found[ys, xs] = hops_host > 0
        return out, found, steps
