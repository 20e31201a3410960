"""Perceptual budget and image-quality figures, numpy only (the external engine's report uses them too)."""

from __future__ import annotations

import math

import numpy as np

_LUMA = np.asarray([0.299, 0.587, 0.114], dtype=np.float64)


def box_mean(a: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1)^2 window, edges replicated; separable cumulative sums (O(pixels))."""
    k = 2 * radius + 1
    pad = np.pad(a, ((radius, radius), (radius, radius)), mode="edge")
    c = np.cumsum(np.cumsum(np.pad(pad, ((1, 0), (1, 0))), axis=0), axis=1)
    return (c[k:, k:] - c[:-k, k:] - c[k:, :-k] + c[:-k, :-k]) / (k * k)


def box_min(a: np.ndarray, radius: int) -> np.ndarray:
    """Minimum over a (2r+1)^2 window (separable: rows, then columns)."""
    pad = np.pad(a, radius, mode="edge")
    h, w = a.shape
    rows = np.min(np.stack([pad[:, i:i + w] for i in range(2 * radius + 1)]), axis=0)
    return np.min(np.stack([rows[i:i + h] for i in range(2 * radius + 1)]), axis=0)


def texture_mask(rgb: np.ndarray, floor: float = 0.1, reference: float = 0.03) -> np.ndarray:
    """Per-pixel share (floor..1) of the perturbation budget: high where the picture is busy, low where it is
    flat. Texture masking, the main term of just-noticeable-difference models: change hides in texture.

    Local contrast (std of luma over 5x5) alone would also be high along an isolated line, where a change
    shows as a halo; taking the minimum over a wider 11x11 neighbourhood keeps only areas busy all round,
    so line art on a plain ground and flat fills stay near `floor`.
    """
    luma = (rgb.astype(np.float64) / 255.0) @ _LUMA
    mean = box_mean(luma, 2)
    std = np.sqrt(np.maximum(box_mean(luma * luma, 2) - mean * mean, 0.0))
    busy = box_min(std, 5)
    return np.clip(busy / reference, floor, 1.0).astype(np.float32)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM on luma (Wang et al. 2004 constants, 7x7 uniform window as in scikit-image's default)."""
    x, y = (im.astype(np.float64) @ _LUMA for im in (a, b))
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mx, my = box_mean(x, 3), box_mean(y, 3)
    vx, vy = box_mean(x * x, 3) - mx * mx, box_mean(y * y, 3) - my * my
    cov = box_mean(x * y, 3) - mx * my
    s = ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(np.mean(s))
