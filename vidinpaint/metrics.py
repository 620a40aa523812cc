"""Inpainting quality inside the hole: PSNR, SSIM, and temporal warping error.

All three only look at the removed pixels, where methods differ; the rest of the frame is the
input and would dilute the numbers.
"""

from __future__ import annotations

import numpy as np
from skimage.metrics import structural_similarity

from .temporal.flow import inside, warp


def psnr_in(result: np.ndarray, truth: np.ndarray, hole: np.ndarray) -> float:
    """PSNR (dB) over the ``hole`` pixels of ``HxWx3`` (or stacked ``NxHxWx3``) uint8 images."""
    if not hole.any():
        return float("inf")
    err = result[hole].astype(np.float64) - truth[hole].astype(np.float64)
    mse = float(np.mean(err ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0 ** 2 / mse)


def ssim_in(result: np.ndarray, truth: np.ndarray, hole: np.ndarray) -> float:
    """Mean of the SSIM map (Wang et al. 2004, 7x7 windows) over the ``hole`` pixels."""
    if not hole.any():
        return 1.0
    ys, xs = np.nonzero(hole)
    pad = 8
    y1, y2 = max(ys.min() - pad, 0), ys.max() + pad + 1
    x1, x2 = max(xs.min() - pad, 0), xs.max() + pad + 1
    _, full = structural_similarity(result[y1:y2, x1:x2], truth[y1:y2, x1:x2], channel_axis=2, full=True,
                                    data_range=255)
    return float(full.mean(axis=2)[hole[y1:y2, x1:x2]].mean())


def warping_error(current: np.ndarray, previous: np.ndarray, flow_to_previous: np.ndarray,
                  hole: np.ndarray) -> float:
    """Mean absolute difference (0-255) between a result frame and the previous result frame
    warped onto it along the true background flow, over the ``hole`` pixels: flicker."""
    valid = hole & inside(flow_to_previous)
    if not valid.any():
        return 0.0
    warped = warp(previous, flow_to_previous)
    return float(np.abs(current[valid].astype(np.float64) - warped[valid].astype(np.float64)).mean())
