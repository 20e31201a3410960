"""The protection panel's figures: the honest comparison for one image.

For each encoder (CLIP, which the cloak attacked, and the held-out MobileNetV2, which it never saw) and
each transformation (none; our JPEG derivative + JPEG q75; + resize x0.5; + noise sigma 0.05 and 2x
resampling), the embedding shift 1 - cos(e(T(image)), e(original)) of three images:
  cloaked   — what we serve,
  uncloaked — the original under the same transformation (what the transformation alone does),
  random    — the original plus random noise of the same budget (same mask, same smoothness, same PSNR):
              what any change of that size does, with no optimisation.
The cloak only helps as much as `cloaked` exceeds both baselines.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from protection.cloak.attack import Encoder, embed
from protection.cloak.quality import psnr, ssim, texture_mask
from protection.cloak.transforms import FIXED, center_view, fixed_transform, served, to_tensor, to_uint8


def random_like(clean: np.ndarray, cloaked: np.ndarray, seed: int, work_edge: int = 512) -> np.ndarray:
    """Smooth, masked random noise scaled to the same RMS change as the cloak."""
    height, width = clean.shape[:2]
    scale = min(1.0, work_edge / min(height, width))
    work = (max(8, round(height * scale)), max(8, round(width * scale)))
    generator = torch.Generator().manual_seed(seed + 1)
    noise = torch.randn((1, 3, *work), generator=generator)
    small = F.interpolate(to_tensor(clean), size=work, mode="bicubic", antialias=True) if scale < 1 \
        else to_tensor(clean)
    noise = noise * torch.from_numpy(texture_mask(to_uint8(small.clamp(0, 1))))[None, None]
    if work != (height, width):
        noise = F.interpolate(noise, size=(height, width), mode="bilinear", align_corners=False)
    want = float(np.sqrt(np.mean((cloaked.astype(np.float64) - clean.astype(np.float64)) ** 2))) / 255.0
    noise = noise * (want / (float(noise.pow(2).mean().sqrt()) + 1e-12))
    return to_uint8(to_tensor(clean) + noise)


def measure(clean: np.ndarray, cloaked: np.ndarray, encoders: dict[str, Encoder], seed: int = 0,
            served_quality: int = 85) -> dict:
    """clean, cloaked: (H, W, 3) uint8 of the same size."""
    noise = random_like(clean, cloaked, seed)
    report: dict = {"psnr": round(psnr(clean, cloaked), 2), "ssim": round(ssim(clean, cloaked), 4),
                    "random_psnr": round(psnr(clean, noise), 2), "encoders": {}}
    images = {"cloaked": to_tensor(cloaked), "uncloaked": to_tensor(clean), "random": to_tensor(noise)}
    with torch.no_grad():
        for name, encoder in encoders.items():
            reference = embed(encoder, center_view(images["uncloaked"]))
            rows = {}
            for transform in FIXED:
                row = {}
                for variant, image in images.items():
                    seen = image if transform == "none" else fixed_transform(transform, served(image, served_quality),
                                                                             seed)
                    row[variant] = round(1.0 - float(embed(encoder, center_view(seen)) @ reference.T), 4)
                row["gain"] = round(row["cloaked"] - row["uncloaked"], 4)
                row["gain_over_random"] = round(row["cloaked"] - row["random"], 4)
                rows[transform] = row
            report["encoders"][name] = rows
    return report
