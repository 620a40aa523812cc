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
  pixels just outside a mover's mask hold its soft edge, motion blur, compression bleed and shadow;
  for a slow mover they are exactly the temporally nearest view of the background behind it, so
  without the margin every hole pixel copies the mover's own edge colours (a dark ghost of the
  person inside the hole; see tests/test_ghost.py). Inside the boxes of the objects a frame removes
  (grown by ``box_margin``), a pixel that differs from the background the carry remembers there by
  more than ``limb`` levels and is joined to the hole is taken for a part of the object the
  segmenter left out of the mask (a hand, a shoe, legs the colour of the road): it is removed with
  the hole, and the carry keeps remembering the background behind it. On the frame where an object
  (a track id) appears, or appears again after a gap, the carry gives nothing inside its box where
  the previous frame did not mask it, unless the object has not moved: while the detector missed
  it, the object was background to the carry.
* Nothing crosses a shot boundary (``frame.shot``, set by :mod:`vidinpaint.shots`): the look-ahead
  stops at the shot's last frame, the carry restarts on each shot's first frame, and frames that
  mix two shots (``frame.mixed``, inside a dissolve or fade) neither take nor give sources.
* What no frame in reach reveals can, with a ``spatial`` inpainter, be invented where it first
  appears and then carried along the flow like real background, so that it does not flicker (as
  flow-guided video inpainters do, e.g. FGVC, Gao et al. 2020: "Flow-edge guided video
  completion"): ``stable`` 1 keeps the first invention, less blends it with a fresh one each
  frame. Real background, once some frame shows it, always takes precedence.

Memory: ``window`` frames of look-ahead and two flows per pair in it, whatever the clip length.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from ..detect.boxes import boxes_to_mask, expand_boxes
from ..frames import Frame
from ..masks import dilate
from .flow import sample_points
from .pairs import Pair, Pairs, same_shot
from .pairs import hole as _hole

Spatial = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (rgb, mask) -> rgb filled inside mask


@dataclass
class _Carry:
    """Background known for the previous frame: image, validity, age in frames, and which of it
    no frame showed (the spatial inpainter's, kept so that it is invented once, not every frame)."""

    rgb: np.ndarray
    valid: np.ndarray
    age: np.ndarray
    invented: np.ndarray


def sample_valid(image: np.ndarray, valid: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bilinear samples of ``image`` at the points ``(x, y)`` (``N`` floats) that use only
    valid source pixels (normalised convolution): ``N``x3 colours and ``N`` flags.

    Plain bilinear sampling next to a hole mixes the hole's colours into copied pixels, and
    through the recursive carry that leak compounds frame after frame; requiring all four
    neighbours to be valid instead erodes the valid region by a pixel per frame. Weighting by
    validity does neither: a sample counts where most of its weight is valid. Points, not maps:
    only the few pixels in and around the holes are ever asked for. Most points have only valid
    neighbours and are plain bilinear samples (:func:`sample_points`); the weights are worked
    out only for the few at the edge of a hole (which side of half a point lies on is read at
    OpenCV's 1/32 px, so one within a few hundredths of it may fall either way).
    """
    out = np.zeros((len(x), 3), np.uint8)
    weight = sample_points(valid.view(np.uint8) * np.uint8(255), x, y)  # share of valid neighbours, x 255
    whole, ok = weight == 255, weight > 127
    out[whole] = sample_points(image, x[whole], y[whole])
    edge = np.flatnonzero(ok & ~whole)
    if len(edge):
        out[edge], ok[edge] = _weighted(image, valid, x[edge], y[edge])
    return out, ok


def _weighted(image: np.ndarray, valid: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`sample_valid`'s normalised convolution, worked out point by point."""
    h, w = valid.shape
    x0, y0 = np.floor(x).astype(np.int32), np.floor(y).astype(np.int32)
    fx, fy = (x - x0).astype(np.float32), (y - y0).astype(np.float32)
    xs, ys = np.stack([x0, x0 + 1, x0, x0 + 1]), np.stack([y0, y0, y0 + 1, y0 + 1])  # the 4 neighbours
    share = np.stack([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy])
    flat = np.clip(ys, 0, h - 1) * w + np.clip(xs, 0, w - 1)  # one flat gather: faster than 2-D indexing
    share *= (xs >= 0) & (xs < w) & (ys >= 0) & (ys < h) & valid.reshape(-1).take(flat)
    weight = share.sum(axis=0)
    colour = (share[..., None] * image.reshape(-1, 3).take(flat, axis=0)).sum(axis=0)
    ok = weight > 0.5
    out = np.zeros((len(x), 3), np.uint8)
    out[ok] = np.clip(colour[ok] / weight[ok, None] + 0.5, 0, 255).astype(np.uint8)
    return out, ok


def _attached(hole: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """``HxW bool``: those of the pixels ``(ys, xs)`` that are joined to ``hole`` through each
    other (8-connected): a limb hangs from the body; a change of the background that merely
    falls inside the box, apart from the body, is left alone."""
    odd = np.zeros(hole.shape, np.uint8)
    odd[ys, xs] = 1
    count, labels = cv2.connectedComponents(odd | hole.view(np.uint8), connectivity=8)
    joined = np.zeros(count, bool)
    joined[np.unique(labels[hole])] = True
    joined[0] = False
    return joined[labels] & (odd > 0)


STILL = 0.02  # share of an arriving object's pixels that must have changed since the previous frame ...
STILL_LEVELS = 30  # ... by more than this many levels in some channel


def _arrived(frame: Frame, present: set[int]) -> np.ndarray:
    """``Nx4`` boxes of the objects ``frame`` removes whose ids were not in the previous frame
    (``present``): objects just found, or found again after a gap. Where one is now, the carry
    may remember the object itself, unmasked while the detector missed it, as background (the
    fill then painted the whole person back into his own hole, ``scripts/bench_removal.py``), so
    the carry gives nothing there on that frame, unless no more than ``STILL`` of what it
    remembers there differs from the frame: an object that has not moved at all is most often
    a false detection of something static (a post on the sample, from frame 118), which the
    carry then leaves as it is for as long as it does not move, rather than smearing it (and so
    does a person who stood perfectly still while missed). Frames without ids give no boxes."""
    if len(frame.ids) != len(frame.boxes):
        return np.zeros((0, 4), np.int32)
    return frame.boxes[[i not in present for i in frame.ids.tolist()]]


def _placed(part: np.ndarray, box: tuple[slice, slice], shape: tuple[int, int]) -> np.ndarray:
    """``HxW bool`` (``shape``) that is ``part`` inside ``box`` and False elsewhere."""
    whole = np.zeros(shape, bool)
    whole[box] = part
    return whole


class _Sources:
    """Each look-ahead frame's trusted sources (unmasked there and in both neighbours, kept
    ``margin`` px away), made once per frame and neighbours rather than once for every frame
    that looks ahead at it. Entries are keyed by the frame objects while they are in the window."""

    def __init__(self, margin: int) -> None:
        self.margin = margin
        self.known: dict[int, tuple[Frame, Frame, np.ndarray]] = {}

    def __call__(self, before: Frame, frame: Frame, after: Frame) -> np.ndarray:
        entry = self.known.get(id(frame))
        if entry is None or entry[0] is not before or entry[1] is not after:
            entry = (before, after, ~dilate(_hole(before) | _hole(frame) | _hole(after), self.margin))
            self.known[id(frame)] = entry
        return entry[2]

    def forget(self, frame: Frame) -> None:
        self.known.pop(id(frame), None)


class FlowFill:
    """Stage: fills ``frame.mask`` from other frames along optical flow; shrinks the mask to what
    is left for the spatial inpainter. ``flow`` (:mod:`.flow`) gives ``small(a, b)``, the flow
    from ``a`` to ``b`` at its working resolution, and its ``backend`` line."""

    name = "fill"

    def __init__(self, flow, window: int = 10, tolerance: float = 1.0, flow_margin: int = 8, note: str = "",
                 source_margin: int = 2, agree: float = 60.0, limb: float = 30.0, box_margin: int = 0,
                 spatial: Spatial | None = None, stable: float = 0.0) -> None:
        self.window, self.note = window, note
        self.pairs = Pairs(flow, tolerance, flow_margin)
        self.source_margin, self.agree, self.limb, self.box_margin = source_margin, agree, limb, box_margin
        self.spatial, self.stable = spatial, stable
        # The pairs the carry will ask for are made as their frames arrive, not when asked for:
        # they then overlap the stages upstream instead of waiting, with a core idle, for the
        # look-ahead to fill. Off for a preview, which stops at its middle frame: the look-ahead's
        # later pairs would be made for nothing. With a FlowAhead stage before the fill, it makes them.
        self.eager = True

    @property
    def backend(self) -> str:
        margin = f"sources >= {self.source_margin}px from masks, " if self.source_margin else ""
        stable = (f", what no frame shows inpainted and carried along the flow (weight {self.stable:g} on the "
                  "carried pixels)" if self.spatial else "")
        return (f"flow-guided propagation, forward carry + {self.window} frames ahead, completed flow from "
                f"{self.pairs.flow.backend}, {margin}within one shot, both directions agreeing within {self.agree:g}"
                + (f", unmasked parts of removed objects (off the background by > {self.limb:g}, in their boxes + "
                   f"{self.box_margin}px) removed too" if self.limb < 255 else "")
                + stable + (f" [{self.note}]" if self.note else ""))

    @staticmethod
    def _gap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """``N int16``: how far apart the ``Nx3`` colours ``a`` and ``b`` are, in levels, in the
        channel where they differ most."""
        return np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=1)

    def _pair(self, a: Frame, b: Frame) -> Callable[[], Pair]:
        """The pair of ``a`` and ``b``: the one the stage ahead made for them, else one made on
        first use, or now if :attr:`eager` and the carry will ask for it."""
        if b.flows is not None and b.flows[0] == a.index:
            return b.flows[1]
        return self.pairs.pending(a, b, self.eager)

    def _from_future(self, frames: list[Frame], pairs: list[Callable[[], Pair]], missing: np.ndarray,
                     source: Callable[[int], np.ndarray], origin: tuple[int, int]
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Colours, found-mask and distance (frames) of ``missing`` pixels of ``frames[0]`` seen
        in later frames, following chained forward flows. ``missing`` and the results cover the
        part of the frame whose top left corner is ``origin`` (row, column). Only the pixels still
        missing travel, as a list of points: the work follows the hole, not the frame."""
        h, w = frames[0].rgb.shape[:2]
        ys, xs = np.nonzero(missing)
        live = np.arange(len(xs))  # which hole pixels are still travelling
        x, y = (xs + origin[1]).astype(np.float32), (ys + origin[0]).astype(np.float32)  # where they are now
        colour = np.zeros((*missing.shape, 3), np.uint8)
        found = np.zeros(missing.shape, bool)
        hops = np.zeros(missing.shape, np.int32)
        for k, pair in enumerate(pairs, start=1):
            if not len(live):
                break
            x, y, ok = pair().follow(x, y)
            keep = ok & (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)
            live, x, y = live[keep], x[keep], y[keep]
            sample, visible = sample_valid(frames[k].rgb, source(k), x, y)
            rows, cols = ys[live[visible]], xs[live[visible]]
            colour[rows, cols] = sample[visible]
            found[rows, cols] = True
            hops[rows, cols] = k
            live, x, y = live[~visible], x[~visible], y[~visible]
        return colour, found, hops

    def _fill(self, frames: list[Frame], pairs: list[Callable[[], Pair]], carry: _Carry | None,
              previous: Callable[[], Pair] | None, before: np.ndarray | None, sources: _Sources,
              present: set[int]) -> _Carry:
        frame = frames[0]
        hole = _hole(frame)
        # A pixel is a trusted source only if it is unmasked in the neighbouring frames too (a
        # person missed by the detector for one frame must not be copied into the others), and
        # not right next to a mask (the mover's edge colours, see the module docstring).
        after = _hole(frames[1]) if len(frames) > 1 else hole
        own = ~dilate((before if before is not None else hole) | hole | after, self.source_margin)

        def source(k: int) -> np.ndarray:
            return sources(frames[k - 1], frames[k], frames[min(k + 1, len(frames) - 1)])

        rgb = frame.rgb.copy()
        memory = rgb.copy()  # what the carry remembers: trusted background only
        remembered = own.copy()
        invented = np.zeros(hole.shape, bool)  # the carry's invented pixels brought here
        age = np.zeros(hole.shape, np.int32)
        # Inside a removed object's box (grown by ``box_margin``, as the segmenter's region is: a
        # stepping foot reaches past a box that lags the walker, on the sample's frames 10-11),
        # outside its mask, a pixel may be a part of the object the segmenter left out (legs the
        # colour of the road): where the carry remembers background there that the pixel does not
        # match (within ``limb``) and it hangs from the hole, it is removed too, and the carry
        # keeps the background, so that such a part is neither shown nor becomes the background
        # every later hole is filled with.
        h, w = hole.shape
        boxed = boxes_to_mask(expand_boxes(frame.boxes, self.box_margin, w, h), w, h)
        # The carry only matters where this frame is a hole, not a trusted source itself, or boxed:
        # only those pixels look back (none at all, and no flow is needed, far from any object).
        # Everything below happens inside the box around them (``box``, at ``oy, ox``): on a 1080p
        # frame with a few people, full-frame masks and lookups cost more than the fill itself.
        need = hole | ~own | boxed
        x0, y0, bw, bh = cv2.boundingRect(need.view(np.uint8))
        box, oy, ox = np.s_[y0:y0 + bh, x0:x0 + bw], y0, x0
        hole = hole[box]  # all of the hole is inside the box
        best = np.full(hole.shape, np.iinfo(np.int32).max, np.int32)
        if carry is not None and previous is not None and bw:
            ys, xs = np.nonzero(need[box])
            ys, xs = ys + oy, xs + ox
            x, y, ok = previous().follow(xs.astype(np.float32), ys.astype(np.float32), back=True)
            if carry.invented.any():  # real background first; invented only where there is none
                made, from_made = sample_valid(carry.rgb, carry.invented, x, y)
                from_made &= ok
                memory[ys[from_made], xs[from_made]] = made[from_made]
                invented[ys[from_made], xs[from_made]] = True
            carried, valid = sample_valid(carry.rgb, carry.valid & ~carry.invented, x, y)
            valid &= ok
            for arrived in _arrived(frame, present):  # ... where the previous frame did not mask it
                suspect = boxes_to_mask(arrived[None], w, h) & (~before if before is not None else True)
                there = np.flatnonzero(suspect[ys, xs] & valid)
                if len(there) and (self._gap(carried[there], rgb[ys[there], xs[there]]) > STILL_LEVELS).mean() > STILL:
                    valid[there] = False
            invented[ys[valid], xs[valid]] = False
            carried_age = carry.age[np.clip(np.rint(y), 0, h - 1).astype(np.int32),
                                    np.clip(np.rint(x), 0, w - 1).astype(np.int32)] + 1
            ys, xs, carried, carried_age = ys[valid], xs[valid], carried[valid], carried_age[valid]
            ry, rx = ys - oy, xs - ox  # the same pixels in the box
            untrusted = ~own[ys, xs]  # keep remembering what is behind an edge or a missed person
            # ... or a part of a removed object left out of its mask, which is removed too if it
            # hangs from the hole
            doubt = np.flatnonzero(boxed[ys, xs] & ~hole[ry, rx])
            gap = self._gap(carried[doubt], rgb[ys[doubt], xs[doubt]])
            untrusted[doubt[gap > self.agree]] = True
            odd = doubt[gap > self.limb]
            if len(odd):
                odd = odd[_attached(hole, ry[odd], rx[odd])[ry[odd], rx[odd]]]
                untrusted[odd] = True
                hole = hole.copy()
                hole[ry[odd], rx[odd]] = True
            memory[ys[untrusted], xs[untrusted]] = carried[untrusted]
            remembered[ys[untrusted], xs[untrusted]] = True
            age[ys[untrusted], xs[untrusted]] = carried_age[untrusted]
            take = hole[ry, rx]
            rgb[ys[take], xs[take]] = carried[take]
            best[ry[take], rx[take]] = carried_age[take]
        if hole.any():
            colour, found, hops = self._from_future(frames, pairs, hole, source, (oy, ox))
            closer = found & (hops < best)
            # seen both before and after, but not alike: one of them is wrong (a moving
            # background, parallax, a flow error) and nothing says which; the spatial fill decides
            ys, xs = np.nonzero(found & (best < np.iinfo(np.int32).max))
            differ = self._gap(colour[ys, xs], rgb[box][ys, xs]) > self.agree
            rgb[box][closer] = colour[closer]
            best[closer] = hops[closer]
            best[ys[differ], xs[differ]] = np.iinfo(np.int32).max
        filled = hole & (best < np.iinfo(np.int32).max)
        memory[box][filled] = rgb[box][filled]
        remembered[box] |= filled
        age[box][filled] = best[filled]
        invented[box] &= ~own[box] & ~filled  # the carry brings invented pixels only inside the box
        left = hole & ~filled
        whole = left.shape == (h, w) and left.all()  # nothing to invent from
        if self.spatial is not None and left.any() and not whole:
            again = left & invented[box]  # invented in an earlier frame, brought here by the carry
            fresh = left
            if self.stable >= 1:  # keep the earlier invention; invent only what is new
                rgb[box][again] = memory[box][again]
                fresh = left & ~again
            if fresh.any():
                rgb = self.spatial(rgb, _placed(fresh, box, (h, w)))
            if self.stable < 1 and again.any():
                mix = self.stable * memory[box][again] + (1 - self.stable) * rgb[box][again].astype(np.float32)
                rgb[box][again] = np.clip(mix + 0.5, 0, 255).astype(np.uint8)
            memory[box][left] = rgb[box][left]
            invented[box] |= left
            remembered[box] |= left
            age[box][left] = 0
            left = np.zeros_like(left)
        remembered[box] |= invented[box]
        # Nothing was written where the frame has no hole: it keeps its own picture (the decoder's,
        # which the encoder then knows is unchanged), and no copy of it is held until it is encoded.
        if hole.any():
            frame.rgb = rgb
        frame.mask = _placed(left, box, (h, w))
        return _Carry(memory, remembered, age, invented)

    def __call__(self, frames: Iterable[Frame]) -> Iterator[Frame]:
        ahead: deque[Frame] = deque()
        pairs: deque[Callable[[], Pair] | None] = deque()  # None across a shot boundary
        sources = _Sources(self.source_margin)
        carry: _Carry | None = None
        previous: Callable[[], Pair] | None = None
        before: np.ndarray | None = None  # the previous frame's hole
        present: set[int] = set()  # the previous frame's object ids
        source = iter(frames)
        exhausted = False
        while True:
            while not exhausted and len(ahead) <= self.window:
                nxt = next(source, None)
                if nxt is None:
                    exhausted = True
                    break
                if ahead:  # no flow across a shot boundary: it would match unrelated pictures
                    pairs.append(self._pair(ahead[-1], nxt) if same_shot(ahead[-1], nxt) else None)
                ahead.append(nxt)
            if not ahead:
                return
            frame = ahead[0]
            before_next = _hole(frame).copy()
            shot = list(itertools.takewhile(lambda f: f.shot == frame.shot, ahead)) if not frame.mixed else [frame]
            carry = self._fill(shot, list(pairs)[:len(shot) - 1], carry, previous, before, sources, present)
            present = set(frame.ids.tolist())
            before = before_next
            sources.forget(frame)
            frame.flow_back = frame.flows = None  # its pair holds them, if it has one
            yield ahead.popleft()
            previous = pairs.popleft() if pairs else None
            if not ahead or ahead[0].shot != frame.shot or ahead[0].mixed:  # a boundary: start afresh
                carry, previous, before, present = None, None, None, set()
