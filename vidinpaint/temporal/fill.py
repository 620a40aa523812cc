"""Flow-guided background filling: copy real background into each hole from the frames where
it is visible, before any spatial inpainting invents pixels.

Recursive propagation in both directions (as ProPainter's, Zhou et al. 2023, "ProPainter:
Improving propagation and transformer for video inpainting"): flows between consecutive frames
only (flow to distant frames is unreliable), completed inside the holes first, checked forward
against backward at every step.

* Forward: a carry image holds, for every pixel of the previous frame, real background
  (observed or already propagated) and its age; it is warped to the current frame and fills
  what it can. It reaches back arbitrarily far, in constant memory.
* Backward: the next ``window`` frames are chained frame to frame; a hole pixel takes the first
  future frame where its scene point is visible.
* Each hole pixel takes the temporally nearest source, provided the sources before and after it
  agree (within ``agree`` levels) where both exist. What no frame in reach reveals, or what the
  two directions disagree on, stays in ``frame.mask`` for the spatial inpainter.
* Sources keep ``source_margin`` px away from every mask of their frame and its neighbours. The
  pixels just outside a mover's mask hold its soft edge, motion blur, compression bleed and
  shadow; for a slow mover they are exactly the temporally nearest view of the background
  behind it, so without the margin every hole pixel copies the mover's own edge colours (a dark
  ghost of the person inside the hole; see tests/test_ghost.py).
* Nothing crosses a shot boundary (``frame.shot``, set by :mod:`vidinpaint.shots`): the look-ahead
  stops at the shot's last frame, the carry restarts on each shot's first frame, and frames that
  mix two shots (``frame.mixed``, inside a dissolve or fade) neither take nor give sources.

Memory: ``window`` frames of look-ahead and two flows per pair in it, whatever the clip length.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from ..frames import Frame
from ..masks import dilate
from .flow import complete, consistent, pixel_grid, resize_flow, warp


@dataclass
class _Pair:
    """Completed flows between frames k and k+1, and where each one can be trusted, stored at
    the flow's working resolution (a 720p pair at full resolution would take 16 MB; the
    look-ahead holds ``window`` of them) and brought to frame size when used."""

    forward_small: np.ndarray  # k -> k+1, on frame k's pixels
    backward_small: np.ndarray  # k+1 -> k, on frame k+1's pixels
    forward_ok_small: np.ndarray
    backward_ok_small: np.ndarray
    size: tuple[int, int]  # frame (width, height)

    @classmethod
    def store(cls, forward, backward, forward_ok, backward_ok, max_side: int) -> _Pair:
        h, w = forward.shape[:2]
        scale = min(1.0, max_side / max(h, w))
        small = (max(1, round(w * scale)), max(1, round(h * scale)))

        def shrink_ok(ok: np.ndarray) -> np.ndarray:  # a small pixel is trusted only if all of it is
            return cv2.resize(ok.astype(np.float32), small, interpolation=cv2.INTER_AREA) > 0.999

        return cls(resize_flow(forward, *small), resize_flow(backward, *small), shrink_ok(forward_ok),
                   shrink_ok(backward_ok), (w, h))

    def _ok(self, ok: np.ndarray) -> np.ndarray:
        return cv2.resize(ok.astype(np.uint8), self.size, interpolation=cv2.INTER_NEAREST) > 0

    @property
    def forward(self) -> np.ndarray:
        return resize_flow(self.forward_small, *self.size)

    @property
    def backward(self) -> np.ndarray:
        return resize_flow(self.backward_small, *self.size)

    @property
    def forward_ok(self) -> np.ndarray:
        return self._ok(self.forward_ok_small)

    @property
    def backward_ok(self) -> np.ndarray:
        return self._ok(self.backward_ok_small)


@dataclass
class _Carry:
    """Background known for the previous frame: image, validity and age in frames."""

    rgb: np.ndarray
    valid: np.ndarray
    age: np.ndarray


def sample_valid(image: np.ndarray, valid: np.ndarray, map_x: np.ndarray, map_y: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Bilinear sampling that uses only valid source pixels (normalised convolution).

    Plain bilinear sampling next to a hole mixes the hole's colours into copied pixels, and
    through the recursive carry that leak compounds frame after frame; requiring all four
    neighbours to be valid instead erodes the valid region by a pixel per frame. Weighting by
    validity does neither: a sample counts where most of its weight is valid.
    """
    weight = cv2.remap(valid.astype(np.float32), map_x, map_y, cv2.INTER_LINEAR, borderValue=0)
    colour = cv2.remap(image.astype(np.float32) * valid[..., None], map_x, map_y, cv2.INTER_LINEAR, borderValue=0)
    ok = weight > 0.5
    out = np.zeros(image.shape, np.uint8)
    out[ok] = np.clip(colour[ok] / weight[ok, None] + 0.5, 0, 255).astype(np.uint8)
    return out, ok


def _same_shot(a: Frame, b: Frame) -> bool:
    """Whether pixels may travel between ``a`` and ``b``: same shot, neither a mix of two shots."""
    return a.shot == b.shot and not a.mixed and not b.mixed


def _hole(frame: Frame) -> np.ndarray:
    return frame.mask if frame.mask is not None else np.zeros(frame.rgb.shape[:2], bool)


class FlowFill:
    """Stage: fills ``frame.mask`` from other frames along optical flow; shrinks the mask to what
    is left for the spatial inpainter."""

    name = "fill"

    def __init__(self, flow, window: int = 10, tolerance: float = 1.0, flow_margin: int = 8, note: str = "",
                 store_side: int = 480, source_margin: int = 2, agree: float = 60.0) -> None:
        self.flow, self.window, self.tolerance, self.flow_margin, self.note = flow, window, tolerance, flow_margin, note
        self.store_side, self.source_margin, self.agree = store_side, source_margin, agree

    @property
    def backend(self) -> str:
        margin = f"sources >= {self.source_margin}px from masks, " if self.source_margin else ""
        return (f"flow-guided propagation, forward carry + {self.window} frames ahead, completed flow from "
                f"{self.flow.backend}, {margin}within one shot, both directions agreeing within {self.agree:g}"
                + (f" [{self.note}]" if self.note else ""))

    def _pair(self, a: Frame, b: Frame) -> _Pair:
        # Flow measured on an object follows the object, and flow measured where the object is
        # about to cover the background (or has just uncovered it) has no true match: complete
        # both flows from the background around the union of the two holes, slightly grown.
        hole = dilate(_hole(a) | _hole(b), self.flow_margin)
        forward = complete(self.flow(a.rgb, b.rgb), hole)
        backward = complete(self.flow(b.rgb, a.rgb), hole)
        return _Pair.store(forward, backward, consistent(forward, backward, self.tolerance),
                     consistent(backward, forward, self.tolerance), self.store_side)

    def _from_future(self, frames: list[Frame], pairs: list[_Pair], missing: np.ndarray,
                     sources: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Colours, found-mask and distance (frames) of ``missing`` pixels of ``frames[0]`` seen
        in later frames, following chained forward flows."""
        h, w = missing.shape
        px, py = pixel_grid(h, w)
        alive = missing.copy()
        colour = np.zeros((h, w, 3), np.uint8)
        found = np.zeros((h, w), bool)
        hops = np.zeros((h, w), np.int32)
        for k, pair in enumerate(pairs, start=1):
            if not alive.any():
                break
            forward = pair.forward
            fx = cv2.remap(forward[..., 0], px, py, cv2.INTER_LINEAR)
            fy = cv2.remap(forward[..., 1], px, py, cv2.INTER_LINEAR)
            ok = cv2.remap(pair.forward_ok.astype(np.uint8), px, py, cv2.INTER_NEAREST) > 0
            px, py = px + fx, py + fy
            inside = (px >= 0) & (px <= w - 1) & (py >= 0) & (py <= h - 1)
            alive &= ok & inside
            target = frames[k]
            sample, visible = sample_valid(target.rgb, sources[k], px, py)
            take = alive & visible
            if take.any():
                colour[take] = sample[take]
                found |= take
                hops[take] = k
                alive &= ~take
        return colour, found, hops

    def _fill(self, frames: list[Frame], pairs: list[_Pair], carry: _Carry | None,
              previous: _Pair | None, before: np.ndarray | None) -> _Carry:
        frame = frames[0]
        hole = _hole(frame)
        holes = [before if before is not None else hole] + [_hole(f) for f in frames] + [_hole(frames[-1])]
        # A pixel is a trusted source only if it is unmasked in the neighbouring frames too (a
        # person missed by the detector for one frame must not be copied into the others), and
        # not right next to a mask (the mover's edge colours, see the module docstring).
        sources = [~dilate(holes[i] | holes[i + 1] | holes[i + 2], self.source_margin) for i in range(len(frames))]
        rgb = frame.rgb.copy()
        memory = rgb.copy()  # what the carry remembers: trusted background only
        remembered = sources[0].copy()
        age = np.zeros(hole.shape, np.int32)
        best = np.full(hole.shape, np.iinfo(np.int32).max, np.int32)
        if carry is not None and previous is not None:
            back = previous.backward  # current -> previous frame
            xs, ys = pixel_grid(*hole.shape)
            carried, valid = sample_valid(carry.rgb, carry.valid, xs + back[..., 0], ys + back[..., 1])
            valid &= previous.backward_ok
            carried_age = warp(carry.age, back, cv2.INTER_NEAREST) + 1
            untrusted = ~sources[0] & valid  # keep remembering what is behind an edge or a missed person
            memory[untrusted] = carried[untrusted]
            remembered |= untrusted
            age[untrusted] = carried_age[untrusted]
            take = hole & valid
            rgb[take] = carried[take]
            best[take] = carried_age[take]
        if hole.any():
            colour, found, hops = self._from_future(frames, pairs, hole, sources)
            closer = found & (hops < best)
            # seen both before and after, but not alike: one of them is wrong (a moving
            # background, parallax, a flow error) and nothing says which; the spatial fill decides
            both = found & (best < np.iinfo(np.int32).max)
            differ = both & (np.abs(colour.astype(np.int16) - rgb.astype(np.int16)).max(axis=2) > self.agree)
            rgb[closer] = colour[closer]
            best[closer] = hops[closer]
            best[differ] = np.iinfo(np.int32).max
        filled = hole & (best < np.iinfo(np.int32).max)
        memory[filled] = rgb[filled]
        remembered |= filled
        age[filled] = best[filled]
        frame.rgb = rgb
        frame.mask = hole & ~filled
        return _Carry(memory, remembered, age)

    def __call__(self, frames: Iterable[Frame]) -> Iterator[Frame]:
        ahead: deque[Frame] = deque()
        pairs: deque[_Pair | None] = deque()  # None across a shot boundary
        carry: _Carry | None = None
        previous: _Pair | None = None
        before: np.ndarray | None = None  # the previous frame's hole
        source = iter(frames)
        exhausted = False
        while True:
            while not exhausted and len(ahead) <= self.window:
                nxt = next(source, None)
                if nxt is None:
                    exhausted = True
                    break
                if ahead:  # no flow across a shot boundary: it would match unrelated pictures
                    pairs.append(self._pair(ahead[-1], nxt) if _same_shot(ahead[-1], nxt) else None)
                ahead.append(nxt)
            if not ahead:
                return
            frame = ahead[0]
            before_next = _hole(frame).copy()
            shot = list(itertools.takewhile(lambda f: f.shot == frame.shot, ahead)) if not frame.mixed else [frame]
            carry = self._fill(shot, list(pairs)[:len(shot) - 1], carry, previous, before)
            before = before_next
            yield ahead.popleft()
            previous = pairs.popleft() if pairs else None
            if not ahead or ahead[0].shot != frame.shot or ahead[0].mixed:  # a boundary: start afresh
                carry, previous, before = None, None, None
