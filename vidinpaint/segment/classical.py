"""Offline segmenters that need no weights: the box itself, and GrabCut inside the box.

GrabCut (Rother et al. 2004, "GrabCut: interactive foreground extraction using iterated graph
cuts") fits colour models to the box interior and a ring of context around it, then cuts along
strong edges: a tight silhouette when the person differs in colour from the background.
"""

from __future__ import annotations

from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

from ..detect.boxes import boxes_to_mask, expand_boxes


class BoxSegmenter:
    """The box (plus margin) as the mask: the safe fallback, loses background at the edges."""

    def __init__(self, margin: int = 8) -> None:
        self.margin = margin
        self.backend = f"box (detector boxes + {margin}px margin)"

    def segment(self, rgb: np.ndarray, boxes: np.ndarray, ids: list[int] | None = None) -> list[np.ndarray]:
        h, w = rgb.shape[:2]
        return [boxes_to_mask(b[None], w, h) for b in expand_boxes(boxes, self.margin, w, h)]


FEET = 0.1  # a cut that ends more than this share of its box's height above the box's bottom lost the legs


def reach_feet(mask: np.ndarray, box: np.ndarray) -> None:
    """Extend ``mask`` (``HxW bool``, in place) down to the bottom of ``box`` (XYXY, the detector's
    own), across the box's width, where it ends more than ``FEET`` of the box's height above it.
    A detector's box reaches the feet; GrabCut drops legs the colour of the road and legs below
    a sign the person stands behind, and on the sample those legs stayed in the output
    (docs/ARCHITECTURE.md). The whole width, not the columns the mask ends on: a walker's legs
    spread to the box's corners, and only the coat of a woman in mid-stride was kept."""
    x1, y1, x2, y2 = (max(int(v), 0) for v in box)
    rows = np.flatnonzero(mask[y1:y2, x1:x2].any(axis=1))
    if not len(rows) or (y2 - y1) - (rows[-1] + 1) <= FEET * (y2 - y1):
        return
    mask[y1 + rows[-1] + 1:y2, x1:x2] = True


EDGE_CONTEXT = 0.3  # background ring of a box at the frame's edge, whose ring the frame cuts: with 0.15 a
# person entering at the sample's right edge was left far less masked than with 0.3 (issue #11's notes)


MAX_THREADS = 16  # GrabCut threads at most, whatever the cores
MODELS = 256  # tracks whose colour models are kept for their next cut (the most recently cut)


class GrabCutSegmenter:
    """GrabCut on a crop around each box; the box + ``margin`` is the 'probably foreground' region
    (``iterations``: see ``segment.grabcut_iterations``). Around it, ``context`` x the box's size
    each side is the background GrabCut learns from: 0.15 gives tighter masks than 0.3 (higher IoU
    at the same recall, ``scripts/bench_masks.py --grabcut 1x256,1x256x0.3``) from fewer pixels.
    (It once cost cast shadows: a mask ending a few px higher at the feet lost shadows that
    start a few px below them, until the shadow step allowed for that gap, :mod:`..masks.shadow`.)
    Two rules for a detector's boxes of people (off for a user's box around any object, as
    :mod:`..prompts` makes): a cut that keeps no more than ``min_share`` of the detector's own box
    has collapsed (a person fills about a third to three quarters of their box), and the box +
    ``margin`` is the mask then, as when the cut keeps nothing (on the sample's frame 141 a
    walker entering at the right edge kept 1 % of his box, ``tests/test_segment.py``; in a run
    before the seeding below, a woman walking beside a man lost hers the same way and the fill
    showed her for the rest of the clip); and with ``feet`` a cut is extended to the box's
    bottom (:func:`reach_feet`)."""

    def __init__(self, margin: int = 8, iterations: int = 1, context: float = 0.15, max_side: int = 256,
                 min_share: float = 0.15, feet: bool = True, warm: bool = False) -> None:
        self.margin, self.iterations, self.context, self.max_side = margin, iterations, context, max_side
        self.min_share, self.feet, self.warm = min_share, feet, warm
        self._threads: ThreadPoolExecutor | None = None
        self._models: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()  # id -> (background, object)
        plural = "s" if iterations != 1 else ""
        resumed = ", a track's cut resuming from its last colour models" if warm else ""
        self.backend = (f"GrabCut in boxes + {margin}px ({iterations} iteration{plural}, OpenCV, crops <= {max_side}px"
                        f"{resumed})")

    def segment(self, rgb: np.ndarray, boxes: np.ndarray, ids: list[int] | None = None) -> list[np.ndarray]:
        """One mask per box; with ``warm`` and ``ids`` (track ids, one per box), a track cut before
        starts from the colour models its last cut ended with instead of fitting new ones (see
        :meth:`_cut`), and is cut again with new ones if that collapses."""
        h, w = rgb.shape[:2]
        bgr = np.ascontiguousarray(rgb[..., ::-1])
        grown, own = expand_boxes(boxes, self.margin, w, h), expand_boxes(boxes, 0, w, h)
        regions = [self._region(box, w, h) for box in grown]
        if ids is not None and len(ids) != len(regions):
            raise ValueError(f"{len(ids)} ids for {len(regions)} boxes")
        ids = list(ids) if self.warm and ids is not None else [None] * len(regions)
        known = [self._models.get(i) for i in ids]
        cuts = list(self._pool().map(lambda r, m: r and self._cut(bgr[r[0]], r[1], models=m), regions, known))
        masks = []
        for box, tight, region, cut, i, resumed in zip(grown, own, regions, cuts, ids, known):
            x1, y1, x2, y2 = (int(v) for v in box)
            mask = np.zeros((h, w), bool)
            if region is None:  # too small to cut
                mask[y1:y2, x1:x2] = True
                masks.append(mask)
                continue
            mask[region[0]], models = cut
            ox1, oy1, ox2, oy2 = tight
            if i is not None:
                self._models.pop(i, None)
            if resumed is not None and self._collapsed(mask[oy1:oy2, ox1:ox2]):
                mask[region[0]], models = self._cut(bgr[region[0]], region[1])  # the old models misled it
            if self._collapsed(mask[oy1:oy2, ox1:ox2]):
                mask[y1:y2, x1:x2] = True
            elif i is not None and models is not None:
                self._models[i] = models
                if len(self._models) > MODELS:
                    self._models.popitem(last=False)
            if self.feet:
                reach_feet(mask, tight)
            masks.append(mask)
        return masks

    def _collapsed(self, kept: np.ndarray) -> bool:
        """Whether a cut kept nothing, or no more than ``min_share``, of the detector's own box."""
        return not kept.any() or kept.mean() <= self.min_share

    def _region(self, box: np.ndarray, w: int, h: int) -> tuple[tuple[slice, slice], tuple[int, int, int, int]] | None:
        """The crop GrabCut works on around ``box`` (the box and its background ring) and the box
        in the crop's coordinates (x, y, w, h); None for a box too small to cut."""
        x1, y1, x2, y2 = (int(v) for v in box)
        if x2 - x1 < 4 or y2 - y1 < 4:
            return None
        context = self.context
        if x1 == 0 or y1 == 0 or x2 == w or y2 == h:  # the frame cuts the ring: widen what is left of it
            context = max(context, EDGE_CONTEXT)
        pad_x, pad_y = int((x2 - x1) * context) + 4, int((y2 - y1) * context) + 4
        cx1, cy1, cx2, cy2 = max(x1 - pad_x, 0), max(y1 - pad_y, 0), min(x2 + pad_x, w), min(y2 + pad_y, h)
        return np.s_[cy1:cy2, cx1:cx2], (x1 - cx1, y1 - cy1, x2 - x1, y2 - y1)

    def _pool(self) -> ThreadPoolExecutor:
        """Threads that cut the boxes of a frame at once: OpenCV's GrabCut runs on one core and
        lets go of the interpreter, and a frame of a crowd has a dozen boxes (on a 16-core GPU
        node the segment stage took a third of the time, ``scripts/bench_gpu.sh``). Half the
        threads OpenCV may use, as torch gets half (:func:`~vidinpaint.devices.start_device`):
        the other stages run at the same time, and on 2 cores two GrabCut threads made the
        pipeline ~5 % slower at 720p (``scripts/bench_throughput.py``), so there it is one.
        Each cut seeds its thread's RNG, so the masks are those of one thread cutting in turn."""
        if self._threads is None:
            self._threads = ThreadPoolExecutor(max(1, min(cv2.getNumThreads() // 2, MAX_THREADS)),
                                               thread_name_prefix="grabcut")
        return self._threads

    def segment_point(self, rgb: np.ndarray, x: int, y: int) -> np.ndarray:
        """The object under pixel ``(x, y)``. The region of the point's colour around it (a flood
        fill) seeds GrabCut's foreground; a ring of half its size around it is unknown, beyond
        is background (within a quarter of the frame's shorter side from the point); the piece
        holding the point is kept. A box prompt is the surer way to give an object of many colours."""
        h, w = rgb.shape[:2]
        reach = max(8, min(h, w) // 4)
        flood = np.zeros((h + 2, w + 2), np.uint8)
        wx0, wy0, wx1, wy1 = max(x - reach, 0), max(y - reach, 0), min(x + reach + 1, w), min(y + reach + 1, h)
        window = np.ascontiguousarray(cv2.medianBlur(rgb[wy0:wy1, wx0:wx1], 3))
        cv2.floodFill(window, flood[wy0:wy1 + 2, wx0:wx1 + 2], (x - wx0, y - wy0), (0, 0, 0), (16,) * 3, (16,) * 3,
                      4 | cv2.FLOODFILL_MASK_ONLY | cv2.FLOODFILL_FIXED_RANGE | (1 << 8))
        flood = flood[1:-1, 1:-1] > 0
        ys, xs = np.nonzero(flood)
        gx, gy = max(4, (xs.max() - xs.min()) // 2), max(4, (ys.max() - ys.min()) // 2)
        x0, y0 = max(xs.min() - gx, x - reach, 0), max(ys.min() - gy, y - reach, 0)
        x1, y1 = min(xs.max() + 1 + gx, x + reach, w), min(ys.max() + 1 + gy, y + reach, h)
        cx0, cy0, cx1, cy1 = max(x0 - gx, 0), max(y0 - gy, 0), min(x1 + gx, w), min(y1 + gy, h)
        seed = np.full((cy1 - cy0, cx1 - cx0), cv2.GC_BGD, np.uint8)
        seed[y0 - cy0:y1 - cy0, x0 - cx0:x1 - cx0] = cv2.GC_PR_BGD
        seed[flood[cy0:cy1, cx0:cx1]] = cv2.GC_PR_FGD
        seed[y - cy0, x - cx0] = cv2.GC_FGD
        mask = np.zeros((h, w), bool)
        mask[cy0:cy1, cx0:cx1] = self._cut(np.ascontiguousarray(rgb[cy0:cy1, cx0:cx1, ::-1]), seed=seed)[0]
        mask[y, x] = True
        _, parts = cv2.connectedComponents(mask.astype(np.uint8))
        return parts == parts[y, x]

    def _cut(self, crop: np.ndarray, rect: tuple[int, int, int, int] | None = None,
             seed: np.ndarray | None = None, models: tuple[np.ndarray, np.ndarray] | None = None
             ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
        """GrabCut foreground of ``crop`` given the box ``rect`` (x, y, w, h) or a ``seed`` of
        GrabCut labels, and the colour models (background, object) it ended with (None if it
        failed); large crops are cut at reduced size (its cost grows with the pixel count; 1080p
        people would take seconds). With ``models`` (a box's earlier cut) GrabCut resumes from
        them (``GC_EVAL``) on the box's labels instead of fitting new ones by k-means, which is
        about half of a one-iteration cut: each iteration then re-learns them from this crop."""
        h, w = crop.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA) if scale < 1 else crop
        r = tuple(int(round(v * scale)) for v in rect) if rect is not None else None
        labels = np.zeros(small.shape[:2], np.uint8) if seed is None else \
            cv2.resize(seed, size, interpolation=cv2.INTER_NEAREST)
        fg, learnt = np.zeros(small.shape[:2], bool), None
        if models is not None and r is not None:
            x, y, rw, rh = r
            labels[y:y + rh, x:x + rw] = cv2.GC_PR_FGD
            background, thing = (m.copy() for m in models)
            try:
                cv2.grabCut(small, labels, None, background, thing, self.iterations, cv2.GC_EVAL)
                fg, learnt = (labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD), (background, thing)
            except cv2.error:  # models that do not fit this crop: fitted afresh below
                labels[:] = 0
        if learnt is None:
            background, thing = np.zeros((1, 65)), np.zeros((1, 65))
            cv2.setRNGSeed(0)  # k-means starts from OpenCV's per-thread RNG: seeded, a cut depends on its crop alone
            try:
                cv2.grabCut(small, labels, r, background, thing, self.iterations,
                            cv2.GC_INIT_WITH_RECT if seed is None else cv2.GC_INIT_WITH_MASK)
                fg, learnt = (labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD), (background, thing)
            except cv2.error:  # degenerate colour models (flat crop): nothing (the caller keeps the box), or the seed
                if seed is not None:
                    fg = (labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)
        if scale < 1:
            fg = cv2.resize(fg.astype(np.uint8), (w, h), interpolation=cv2.INTER_LINEAR) > 0
        return fg, learnt
