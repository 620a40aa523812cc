"""Offline segmenters that need no weights: the box itself, and GrabCut inside the box.

GrabCut (Rother et al. 2004, "GrabCut: interactive foreground extraction using iterated graph
cuts") fits colour models to the box interior and a ring of context around it, then cuts along
strong edges: a tight silhouette when the person differs in colour from the background.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..detect.boxes import boxes_to_mask, expand_boxes


class BoxSegmenter:
    """The box (plus margin) as the mask: the safe fallback, loses background at the edges."""

    def __init__(self, margin: int = 8) -> None:
        self.margin = margin
        self.backend = f"box (detector boxes + {margin}px margin)"

    def segment(self, rgb: np.ndarray, boxes: np.ndarray) -> list[np.ndarray]:
        h, w = rgb.shape[:2]
        return [boxes_to_mask(b[None], w, h) for b in expand_boxes(boxes, self.margin, w, h)]


class GrabCutSegmenter:
    """GrabCut on a crop around each box; the box + ``margin`` is the 'probably foreground' region."""

    def __init__(self, margin: int = 8, iterations: int = 3, context: float = 0.3, max_side: int = 256) -> None:
        self.margin, self.iterations, self.context, self.max_side = margin, iterations, context, max_side
        self.backend = f"GrabCut in boxes + {margin}px ({iterations} iterations, OpenCV, crops <= {max_side}px)"

    def segment(self, rgb: np.ndarray, boxes: np.ndarray) -> list[np.ndarray]:
        h, w = rgb.shape[:2]
        bgr = np.ascontiguousarray(rgb[..., ::-1])
        masks = []
        for box in expand_boxes(boxes, self.margin, w, h):
            x1, y1, x2, y2 = (int(v) for v in box)
            mask = np.zeros((h, w), bool)
            if x2 - x1 < 4 or y2 - y1 < 4:
                mask[y1:y2, x1:x2] = True
                masks.append(mask)
                continue
            pad_x, pad_y = int((x2 - x1) * self.context) + 4, int((y2 - y1) * self.context) + 4
            cx1, cy1, cx2, cy2 = max(x1 - pad_x, 0), max(y1 - pad_y, 0), min(x2 + pad_x, w), min(y2 + pad_y, h)
            mask[cy1:cy2, cx1:cx2] = self._cut(bgr[cy1:cy2, cx1:cx2], (x1 - cx1, y1 - cy1, x2 - x1, y2 - y1))
            masks.append(mask)
        return masks

    def _cut(self, crop: np.ndarray, rect: tuple[int, int, int, int]) -> np.ndarray:
        """GrabCut foreground of ``crop`` given the box ``rect`` (x, y, w, h); large crops are cut
        at reduced size (its cost grows with the pixel count; 1080p people would take seconds)."""
        h, w = crop.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        small = cv2.resize(crop, (max(1, round(w * scale)), max(1, round(h * scale))),
                           interpolation=cv2.INTER_AREA) if scale < 1 else crop
        r = tuple(int(round(v * scale)) for v in rect)
        labels = np.zeros(small.shape[:2], np.uint8)
        fg = np.zeros(small.shape[:2], bool)
        try:
            cv2.grabCut(small, labels, r, np.zeros((1, 65)), np.zeros((1, 65)), self.iterations,
                        cv2.GC_INIT_WITH_RECT)
            fg = (labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)
        except cv2.error:  # degenerate colour models (flat crop): keep the box
            pass
        if not fg.any():
            fg[r[1]:r[1] + r[3], r[0]:r[0] + r[2]] = True
        if scale < 1:
            fg = cv2.resize(fg.astype(np.uint8), (w, h), interpolation=cv2.INTER_LINEAR) > 0
        return fg
