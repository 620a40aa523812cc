"""Random training holes: free-form brush strokes and person-shaped blobs.

Strokes follow DeepFillv2's free-form mask algorithm (Yu et al. 2019, Alg. 1: a random walk of
thick line segments with round joints); person shapes (head, torso, legs, random pose and size)
match what this tool actually removes, which the published Places2 model never saw.
"""

from __future__ import annotations

import cv2
import numpy as np


def stroke_mask(h: int, w: int, rng: np.random.Generator, strokes: int = 4) -> np.ndarray:
    """Up to ``strokes`` random brush strokes, each 4-12 segments of width ~3-10 % of the image side."""
    mask = np.zeros((h, w), np.uint8)
    side = min(h, w)
    for _ in range(int(rng.integers(1, strokes + 1))):
        x, y = float(rng.uniform(0, w)), float(rng.uniform(0, h))
        width = int(rng.uniform(0.03, 0.1) * side) + 1
        angle = rng.uniform(0, 2 * np.pi)
        for _ in range(int(rng.integers(4, 13))):
            angle += rng.normal(0, 0.8)
            length = rng.uniform(0.05, 0.2) * side
            nx = float(np.clip(x + length * np.cos(angle), 0, w - 1))
            ny = float(np.clip(y + length * np.sin(angle), 0, h - 1))
            cv2.line(mask, (int(x), int(y)), (int(nx), int(ny)), 1, width)
            cv2.circle(mask, (int(nx), int(ny)), width // 2, 1, -1)
            x, y = nx, ny
    return mask.astype(bool)


def person_mask(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """One standing or walking person silhouette, 25-80 % of the image height, grown by a few px."""
    mask = np.zeros((h, w), np.uint8)
    ph = rng.uniform(0.25, 0.8) * h
    cx, top = rng.uniform(0.15, 0.85) * w, rng.uniform(0, h - ph)
    head = ph / 8
    cv2.ellipse(mask, (int(cx), int(top + head / 2)), (int(head * 0.4) + 1, int(head / 2) + 1), 0, 0, 360, 1, -1)
    torso_w = ph * rng.uniform(0.13, 0.2)
    y_hip = top + ph * 0.55
    cv2.ellipse(mask, (int(cx), int((top + head + y_hip) / 2)), (int(torso_w) + 1, int((y_hip - top - head) / 2) + 1),
                float(rng.normal(0, 5)), 0, 360, 1, -1)
    stride = rng.uniform(0, 0.25) * ph
    limb = max(2, int(ph * 0.07))
    for side in (-1, 1):
        foot = (int(cx + side * stride / 2), int(top + ph))
        cv2.line(mask, (int(cx + side * torso_w / 2), int(y_hip)), foot, 1, limb)
        hand = (int(cx + side * (torso_w + rng.uniform(0, 0.1) * ph)), int(top + ph * 0.5))
        cv2.line(mask, (int(cx + side * torso_w * 0.8), int(top + head * 1.5)), hand, 1, max(2, limb * 2 // 3))
    grow = int(rng.integers(2, 8))
    return cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (grow, grow))).astype(bool)


def training_mask(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A stroke mask, one or two people, or both (a third each)."""
    kind = int(rng.integers(3))
    mask = np.zeros((h, w), bool)
    if kind != 1:
        mask |= stroke_mask(h, w, rng)
    if kind != 0:
        for _ in range(int(rng.integers(1, 3))):
            mask |= person_mask(h, w, rng)
    return mask
