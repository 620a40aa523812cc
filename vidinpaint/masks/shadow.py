"""Attached cast shadows: a hard shadow at a person's feet (sunny pitch, street at noon) is not
part of the person to a detector or a segmenter, and stays behind as a dark ghost.

A shadow darkens the ground under it by about the same factor in every channel (the light is
blocked, the ground's colour stays), so around the feet it is ground that is darker than the
ground nearby, with the same chromaticity, and connected to the feet. The ground's colour is
learnt from the pixels around the feet that are not the person (their median: a shadow covering
less than half of the search window does not move it). Each dark region touching the feet is
then checked against the ground right around it, since a shadow ends on lit ground of the same
colour: a region that runs out of the search window inside the frame (a darker road the person
stands on) or
whose surroundings are not the same ground in more light (a dark bag or another object) is not
a shadow. Nothing is added when no region passes, so a person without a shadow keeps their mask.
"""

from __future__ import annotations

import cv2
import numpy as np

DARKEST = 0.2  # a shadow keeps at least this share of the light (deeper: a dark object, not a shadow)
LIGHTEST = 0.8  # and blocks at least a fifth of it (lighter: texture of the ground)
CHROMA = 0.05  # chromaticity (r, g, b over their sum) within this of the ground's
FEET = 0.15  # bottom share of the person's height where a shadow attaches
REACH = 0.05  # share of the height (at least 4 px) a shadow may start away from the feet's mask: a mask
# that stops short of the shoes, or a soft contact shadow between them, leaves a gap
ABOVE = 0.3  # the search reaches this share of the height above the feet (shadows cast away from the camera)
OUT = 0.05  # share of the window's inner sides a region may touch (dark texture of the ground leaking out)
RING = 4  # px around a region where the lit ground it must end on is sampled


def _median(image: np.ndarray, where: np.ndarray) -> np.ndarray:
    """The median colour of the ``HxWx3`` uint8 ``image`` over the pixels ``where`` (``HxW bool``,
    at least one), plus 1 (the crop's offset, see :func:`cast_shadow`), as float32: counted in
    OpenCV's histogram of each channel under the mask, which reads the pixels in place instead of
    gathering them (``image[where]``) and partially sorting each channel (5x faster on the sample's
    search windows)."""
    counts = np.stack([cv2.calcHist([image], [c], where.view(np.uint8), [256], [0, 256]).ravel()
                       for c in range(3)]).astype(np.int64)  # float32 counts: whole numbers below 2**24 px
    n = int(counts[0].sum())
    below = np.cumsum(counts, axis=1)
    # the values at sorted positions (n - 1) // 2 and n // 2: the middle one, or the middle two
    low = (below <= (n - 1) // 2).sum(axis=1)
    high = (below <= n // 2).sum(axis=1)
    return ((low + high) / 2 + 1).astype(np.float32)


def _darker_alike(colour: np.ndarray, ground: np.ndarray) -> np.ndarray:
    """Whether ``colour`` (``...x3``) is ``ground`` (one colour) in less light: darker within the
    bounds, same chromaticity (r, g, b over their sum). Channel by channel: numpy reduces over a
    last axis of three several times slower than it adds three planes, which are read from
    contiguous copies (faster than through the interleaved pixels)."""
    colour = cv2.split(colour) if colour.ndim == 3 else colour
    total = colour[0] + colour[1] + colour[2]
    ground_total = ground[0] + ground[1] + ground[2]
    light = total / ground_total
    alike = (light >= DARKEST) & (light <= LIGHTEST)
    for channel in range(3):
        alike &= np.abs(colour[channel] / total - ground[channel] / ground_total) <= CHROMA
    return alike


def _close(mask: np.ndarray, side: int) -> np.ndarray:
    """Morphological closing that does not grow regions into the edge of the array (OpenCV's
    erosion counts the outside as set)."""
    pad = side // 2
    padded = cv2.copyMakeBorder(mask.astype(np.uint8), pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    closed = cv2.morphologyEx(padded, cv2.MORPH_CLOSE, np.ones((side, side), np.uint8))
    return closed[pad:-pad, pad:-pad].astype(bool)


def cast_shadow(rgb: np.ndarray, person: np.ndarray, box: np.ndarray, reach: float,
                objects: np.ndarray | None = None, out: np.ndarray | None = None) -> np.ndarray:
    """``HxW bool``: the shadow attached to ``person`` (its mask; ``box`` its XYXY box), searched
    up to ``reach`` x the box height from the feet; empty when there is none. ``objects`` (the
    union of every object's mask) are never ground: someone else's dark trousers next to the
    shadow are neither part of it nor the lit ground around it. With ``out`` (a frame's mask)
    the shadow is added to it in place, touching only the search window, and ``out`` returned:
    a frame with many people then costs no full-frame pass per person."""
    height, width = person.shape
    x1, y1, x2, y2 = (int(v) for v in box)
    tall = max(y2 - y1, 1)
    far = int(round(reach * tall))
    out = np.zeros((height, width), bool) if out is None else out
    rx0, rx1 = max(0, x1 - far), min(width, x2 + far)
    ry0, ry1 = max(0, y2 - int(ABOVE * tall)), min(height, y2 + far)
    if far <= 0 or rx1 - rx0 < 8 or ry1 - ry0 < 8:
        return out
    obj = person[ry0:ry1, rx0:rx1]
    taken = obj if objects is None else obj | objects[ry0:ry1, rx0:rx1]
    ground = ~taken
    if ground.sum() < 16:
        return out
    blurred = cv2.blur(rgb[ry0:ry1, rx0:rx1], (3, 3))
    crop = blurred.astype(np.float32) + 1.0  # +1: no division by zero
    dark = _darker_alike(crop, _median(blurred, ground)) & ground
    dark = cv2.morphologyEx(dark.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    dark = _close(dark, 7) & ground  # bridges the lighter specks of a textured ground
    feet = obj.copy()
    feet[: max(0, y2 - int(FEET * tall) - ry0)] = False
    side = 2 * max(4, int(round(REACH * tall))) + 1
    feet = cv2.dilate(feet.astype(np.uint8), np.ones((side, side), np.uint8)).astype(bool)
    count, labels = cv2.connectedComponents(dark.astype(np.uint8), connectivity=8)
    found = np.zeros(obj.shape, bool)
    border = np.zeros(obj.shape, bool)  # window sides inside the frame (a shadow may leave the frame)
    border[0, :], border[-1, :] = ry0 > 0, ry1 < height
    border[:, 0] |= rx0 > 0
    border[:, -1] |= rx1 < width
    ring_kernel = np.ones((2 * RING + 1, 2 * RING + 1), np.uint8)
    for label in np.unique(labels[feet & dark]):
        region = labels == label
        if (region & border).sum() > OUT * border.sum():
            continue  # runs out of the window: darker ground, not a shadow cast by this person
        ring = cv2.dilate(region.astype(np.uint8), ring_kernel).astype(bool) & ~region & ground & ~dark
        if ring.sum() < RING * 4 or not _darker_alike(_median(blurred, region), _median(blurred, ring)):
            continue
        found |= region
    out[ry0:ry1, rx0:rx1] |= _close(found, 5) & ground
    return out
