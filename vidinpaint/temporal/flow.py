"""Optical flow between frames: OpenCV DIS (offline; RAFT is in :mod:`.raft`), plus the flow tools the
fill stage needs (warping, forward-backward consistency, completion inside holes).

Flows are ``HxWx2 float32`` in pixels, ``flow[y, x] = (dx, dy)``: the pixel ``(x, y)`` of the first
frame is at ``(x + dx, y + dy)`` in the second. They are computed at a reduced resolution and
upsampled (values scaled), since flow is smooth and the cost grows with the pixel count.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np


def _grey(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def resize_flow(flow: np.ndarray, width: int, height: int) -> np.ndarray:
    """``flow`` resampled to ``width`` x ``height``, its vectors scaled with it."""
    h, w = flow.shape[:2]
    if (w, h) == (width, height):
        return flow
    out = cv2.resize(flow, (width, height), interpolation=cv2.INTER_LINEAR)
    out[..., 0] *= width / w
    out[..., 1] *= height / h
    return out


def downscale(rgb: np.ndarray, max_side: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale >= 1.0:
        return rgb
    return cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)


DIS_MIN_SIDE = 32  # OpenCV's DIS needs a side of its patch (8 px) x 2^its finest scale: 32 px for its fast presets


def dis_calc(dis, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``dis.calc(a, b)`` (an OpenCV DIS object, ``HxW uint8`` pictures), with pictures smaller
    than ``DIS_MIN_SIDE`` a side padded (edge pixels repeated) and the flow cut back: on smaller
    ones DIS reads outside its pyramid and kills the process (a 768x128 clip did, in the shot
    stage's 96x16 thumbnails)."""
    h, w = a.shape[:2]
    pad_h, pad_w = max(0, DIS_MIN_SIDE - h), max(0, DIS_MIN_SIDE - w)
    if pad_h or pad_w:
        a, b = (cv2.copyMakeBorder(x, 0, pad_h, 0, pad_w, cv2.BORDER_REPLICATE) for x in (a, b))
    return dis.calc(a, b, None)[:h, :w]


class DisFlow:
    """OpenCV's DIS optical flow (Kroeger et al. 2016, "Fast optical flow using dense inverse search")."""

    def __init__(self, max_side: int = 480, refine: int = 0) -> None:
        self.max_side = max_side
        self.dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        self.dis.setVariationalRefinementIterations(refine)
        how = f"{refine} refinement iterations" if refine else "no variational refinement"
        self.backend = f"OpenCV DIS (medium preset, {how}) at <= {max_side}px"
        self._prepared: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Flow from ``a`` to ``b`` (``HxWx3 uint8`` RGB), at ``a``'s full resolution."""
        h, w = a.shape[:2]
        return resize_flow(self.small(a, b), w, h)

    def small(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Flow from ``a`` to ``b`` at the working resolution (longer side <= ``max_side``)."""
        return dis_calc(self.dis, self._prepare(a), self._prepare(b))

    def _prepare(self, rgb: np.ndarray) -> np.ndarray:
        """``rgb`` as DIS takes it (grey, then downscaled: a third of the resizing), made once per
        picture: in a stream each picture is the second of one pair and the first of the next,
        and the fill measures both directions. The last six pictures asked for are kept (the
        fill's flows come from two threads, the stage ahead of it and its own), first in first
        out, with their arrays (so that no other array can take their ``id``); callers
        replace a frame's picture rather than write into it."""
        entry = self._prepared.get(id(rgb))
        if entry is None:
            entry = (rgb, downscale(_grey(rgb), self.max_side))
            self._prepared[id(rgb)] = entry
            if len(self._prepared) > 6:
                self._prepared.popitem(last=False)
        return entry[1]


@lru_cache(maxsize=4)
def pixel_grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """``(xs, ys)`` float32 coordinate maps of an ``h`` x ``w`` frame, for ``cv2.remap``; built once
    per size (every warp needs them) and read-only, since they are shared."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    xs.flags.writeable = ys.flags.writeable = False
    return xs, ys


_ROW = 1024  # points per row of the maps handed to cv2.remap (its maps must stay under 32767 a side)


def sample_points(image: np.ndarray, x: np.ndarray, y: np.ndarray, border: int = cv2.BORDER_CONSTANT) -> np.ndarray:
    """Bilinear samples of ``image`` (``HxW`` or ``HxWxC``, any depth cv2.remap takes) at the
    points ``(x, y)`` (``N`` floats): ``N`` or ``NxC`` values, outside the image as ``border``
    says (constant: 0). One ``cv2.remap`` over the points laid out as a small map: the
    interpolation runs in OpenCV's C code instead of a dozen numpy passes over the points
    (positions are quantised to 1/32 px there, well below what a flow is sure of)."""
    n = len(x)
    rows = max(1, -(-n // _ROW))
    maps = np.zeros((2, rows * _ROW), np.float32)
    maps[0, :n], maps[1, :n] = x, y
    out = cv2.remap(image, maps[0].reshape(rows, _ROW), maps[1].reshape(rows, _ROW), cv2.INTER_LINEAR,
                    borderMode=border)
    return out.reshape(rows * _ROW, *image.shape[2:])[:n]


def flow_at(flow: np.ndarray, x: np.ndarray, y: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """``(dx, dy)`` of a ``width`` x ``height`` frame's flow at the points ``(x, y)``, read from
    ``flow`` stored at a lower resolution: bilinear, aligned and scaled as :func:`resize_flow`
    would, without bringing the whole field to frame size for a few points."""
    hs, ws = flow.shape[:2]
    sx, sy = ws / width, hs / height
    out = sample_points(flow, (x + 0.5) * sx - 0.5, (y + 0.5) * sy - 0.5, cv2.BORDER_REPLICATE)
    return out[:, 0] / sx, out[:, 1] / sy


def warp(image: np.ndarray, flow: np.ndarray, interpolation: int = cv2.INTER_LINEAR,
         window: tuple[int, int, int, int] | None = None, border: int = cv2.BORDER_CONSTANT) -> np.ndarray:
    """Sample ``image`` at ``x + flow(x)``: brings the second frame of ``flow`` onto the first;
    only inside ``window`` (x0, y0, x1, y1 of the first frame) when given, which is all a small
    object's mask needs of a whole frame's remap. What comes from outside the second frame is
    0, or its nearest edge pixel with ``border`` ``cv2.BORDER_REPLICATE``."""
    h, w = flow.shape[:2]
    x0, y0, x1, y1 = window or (0, 0, w, h)
    xs, ys = (grid[y0:y1, x0:x1] for grid in pixel_grid(h, w))
    part = flow[y0:y1, x0:x1]
    return cv2.remap(image, xs + part[..., 0], ys + part[..., 1], interpolation, borderMode=border)


def _landing(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(x + dx, y + dy)`` for every pixel of ``flow``: where each one goes."""
    xs, ys = pixel_grid(*flow.shape[:2])
    return xs + flow[..., 0], ys + flow[..., 1]


def _in_frame(tx: np.ndarray, ty: np.ndarray) -> np.ndarray:
    """Whether the points ``(tx, ty)`` (maps of a frame's size) are inside that frame."""
    h, w = tx.shape
    return (tx >= 0) & (tx <= w - 1) & (ty >= 0) & (ty <= h - 1)


def inside(flow: np.ndarray) -> np.ndarray:
    """``HxW bool``: where ``x + flow(x)`` lands inside the frame."""
    return _in_frame(*_landing(flow))


def consistent(forward: np.ndarray, backward: np.ndarray, tolerance: float = 1.0) -> np.ndarray:
    """Forward-backward check: True where going a->b->a returns within ``tolerance`` px
    (plus 5 % of the motion, as in Sundaram et al. 2010); False at occlusions and out of frame."""
    tx, ty = _landing(forward)  # once, for the warp and the in-frame test
    back = cv2.remap(backward, tx, ty, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    loop = forward + back
    error = cv2.magnitude(loop[..., 0], loop[..., 1])  # same values as np.linalg.norm, several times faster
    scale = cv2.magnitude(forward[..., 0], forward[..., 1]) + cv2.magnitude(back[..., 0], back[..., 1])
    return (error <= tolerance + 0.05 * scale) & _in_frame(tx, ty)


RANSAC_PX = 1.0  # how far (flow pixels) a sample may be from an affine motion that explains it
LOCAL_PX = 0.5  # the whole frame's motion stands for a hole's surroundings if half of them are this close
STILL_PX = 0.05  # an affine motion that moves no pixel of its region further than this along x or y (flow px) is none


def _samples(flow: np.ndarray, known: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray]:
    """Points on a grid of ``step`` where ``known``, and where ``flow`` takes them (``Nx2`` each),
    row by row."""
    ys, xs = np.nonzero(known[step // 2::step, step // 2::step])
    ys, xs = ys * step + step // 2, xs * step + step // 2
    src = np.stack([xs, ys], axis=1).astype(np.float32)
    return src, src + flow[ys, xs]


def camera_motion(flow: np.ndarray, known: np.ndarray, step: int = 8) -> np.ndarray | None:
    """The affine motion (2x3, pixel -> pixel) that best explains ``flow`` where ``known`` is
    True, by RANSAC on a grid of samples; None when the flow is not dominated by one motion.

    A motion that moves no pixel of the region by more than ``STILL_PX`` along either axis is
    taken for a still camera, exactly: a fit to a still scene's flow is off by the flow's noise,
    a few hundredths of a pixel, and the fill's carry resamples a hole through that motion frame
    after frame, blurring what it carries (``scripts/bench_quality.py``: 720p static 56.3 ->
    59.9 dB)."""
    src, dst = _samples(flow, known, step)
    if len(src) < 12:
        return None
    matrix, inliers = cv2.estimateAffine2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PX)
    if matrix is None or inliers is None or inliers.mean() < 0.5:
        return None
    h, w = known.shape
    corners = np.float32([[0, 0], [w, 0], [0, h], [w, h]])  # an affine motion moves a rectangle most at a corner
    if np.abs(_affine_flow(matrix, corners[:, 0], corners[:, 1])).max() <= STILL_PX:
        return np.float64([[1, 0, 0], [0, 1, 0]])
    return matrix


def _fits(matrix: np.ndarray, flow: np.ndarray, known: np.ndarray, step: int) -> bool:
    """Whether the affine ``matrix`` explains ``flow`` where ``known`` (half the samples within LOCAL_PX)."""
    src, dst = _samples(flow, known, step)
    if not len(src):
        return True
    error = np.linalg.norm(_affine_flow(matrix, src[:, 0], src[:, 1]) - (dst - src), axis=1)
    return bool(np.median(error) <= LOCAL_PX)


def _affine_flow(matrix: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """``Nx2``: the flow the affine ``matrix`` gives the points ``(xs, ys)``."""
    pts = np.stack([xs, ys], axis=1).astype(np.float32)
    return pts @ matrix[:, :2].T + matrix[:, 2] - pts


def _moved_origin(matrix: np.ndarray, x0: int, y0: int) -> np.ndarray:
    """The affine ``matrix`` in the coordinates of a window whose corner is ``(x0, y0)``."""
    origin = np.float32([x0, y0])
    out = matrix.copy()
    out[:, 2] += matrix[:, :2] @ origin - origin
    return out


@dataclass(frozen=True)
class HoleParts:
    """A hole's connected pieces, each as the window around it (as far again as the piece is
    large) and its pixels' rows and columns in that window; found once for both flows of a pair
    (:func:`complete`)."""

    known: np.ndarray  # HxW bool: not in the hole
    pieces: list[tuple[tuple[slice, slice], np.ndarray, np.ndarray]]


def hole_parts(hole: np.ndarray) -> HoleParts:
    """The :class:`HoleParts` of ``hole`` (``HxW bool``)."""
    h, w = hole.shape
    count, labels, stats, _ = cv2.connectedComponentsWithStats(hole.view(np.uint8), connectivity=8)
    pieces = []
    for k in range(1, count):
        x, y, bw, bh = (int(v) for v in stats[k, :4])
        pad = max(bw, bh)
        box = np.s_[max(0, y - pad):min(h, y + bh + pad), max(0, x - pad):min(w, x + bw + pad)]
        pieces.append((box, *np.nonzero(labels[box] == k)))
    return HoleParts(~hole, pieces)


def complete(flow: np.ndarray, hole: np.ndarray, max_side: int = 160, parts: HoleParts | None = None) -> np.ndarray:
    """Replace the flow inside ``hole`` by the background's flow.

    Flow measured through a moving person follows the person, not the background behind it
    (FGVC, Gao et al. 2020, and ProPainter, Zhou et al. 2023, complete it before propagating).
    Background motion behind a person is mostly the camera's: when one affine motion explains
    the flow of the whole frame (static, pan, zoom, shake) and of the background around a part
    of the hole, that part gets it exactly. With depth (a street, a handheld camera) the
    motion differs across the frame, and a part whose surroundings (as far again as the part is
    large) the whole frame's motion does not explain gets their own affine motion instead. What
    neither explains is filled smoothly from the surrounding flow (Navier-Stokes inpainting at
    low resolution). Outside the hole the flow is kept as measured. ``parts``: the hole's
    :func:`hole_parts`, when the caller has them.
    """
    if not hole.any():
        return flow
    h, w = hole.shape
    parts = parts if parts is not None else hole_parts(hole)
    out = flow.copy()
    whole = camera_motion(flow, parts.known)
    left = np.zeros_like(hole)
    for box, ys, xs in parts.pieces:
        around = flow[box], parts.known[box]
        shifted = None if whole is None else _moved_origin(whole, box[1].start, box[0].start)
        motion = shifted if shifted is not None and _fits(shifted, *around, step=4) else camera_motion(*around, step=4)
        motion = motion if motion is not None else shifted
        if motion is None:
            left[ys + box[0].start, xs + box[1].start] = True
        else:
            out[ys + box[0].start, xs + box[1].start] = _affine_flow(motion, xs, ys)
    if not left.any():
        return out
    scale = min(1.0, max_side / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small_hole = cv2.resize(hole.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
    small_hole = cv2.dilate(small_hole, np.ones((3, 3), np.uint8))
    if small_hole.all():
        out[left] = 0
        return out
    small = cv2.resize(flow, size, interpolation=cv2.INTER_AREA)
    filled = np.stack([cv2.inpaint(np.ascontiguousarray(small[..., c]), small_hole, 3, cv2.INPAINT_NS)
                       for c in range(2)], axis=-1)
    full = cv2.resize(filled, (w, h), interpolation=cv2.INTER_LINEAR)
    out[left] = full[left]
    return out
