"""The built-in cloak: a targeted, transformation-robust perturbation in CLIP's feature space.

Like Glaze, it pushes the image's features toward a decoy style (not only away from the original): the loss
is cos(view, original) - cos(view, decoy), averaged over random transformations of the kind a served image
goes through (transforms.random_view). The perturbation is
  - optimised on a working copy whose shorter side is `work_edge` px and upsampled smoothly to the served
    size: the encoder only ever sees the picture at ~224 px, so detail finer than that would be wasted budget
    and is the first thing JPEG and resizing remove;
  - shaped by a texture mask (quality.texture_mask), so flat areas and line art stay clean; where the mask
    leaves the PSNR budget unused (a mostly flat picture), busy areas may move up to 2x epsilon instead;
  - built from blurred gradients with momentum: the sign of a smoothed, accumulated gradient gives a
    low-frequency pattern that JPEG and resampling keep and that transfers better to other encoders
    (translation-invariant and momentum attacks, Dong et al. 2018/2019), and it averages the few random
    views each step can afford over many steps;
  - aimed at CLIP's mid-level features too (pooled tokens of a few blocks, `feature_weight`): they carry
    over to encoders the cloak never sees (the held-out MobileNetV2) better than the final embedding alone;
  - held to a PSNR budget inside the optimisation (scaled to the target RMS at every step) and checked again
    on the final 8-bit pixels;
  - deterministic for a given seed and thread count.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from protection.cloak.base import CloakSettings, Progress
from protection.cloak.quality import psnr, texture_mask
from protection.cloak.transforms import center_view, random_view, resize, to_tensor, to_uint8

Encoder = Callable[[torch.Tensor], torch.Tensor]
UPSAMPLE_GAIN = 1.5


def decoys(seed: int, size: int = 224) -> list[tuple[str, np.ndarray]]:
    """Procedural images in styles far from most artwork: the targets the features are pushed toward."""
    rng = np.random.default_rng(seed + 7919)
    yy, xx = np.mgrid[0:size, 0:size] / size
    out = []
    palette = rng.uniform(0, 255, (6, 3))
    stripes = ((np.sin((xx + yy) * 40) > 0)[..., None] * palette[0] + (np.sin((xx + yy) * 40) <= 0)[..., None]
               * palette[1])
    out.append(("stripes", stripes))
    cells = rng.integers(0, 6, (12, 12))
    mosaic = palette[cells[(yy * 12).astype(int), (xx * 12).astype(int)]]
    out.append(("mosaic", mosaic))
    dots = np.where((((xx * 16) % 1 - 0.5) ** 2 + ((yy * 16) % 1 - 0.5) ** 2 < 0.12)[..., None], palette[2],
                    palette[3])
    out.append(("halftone", dots))
    low = rng.uniform(0, 255, (7, 7, 3)).astype(np.float32)
    clouds = np.asarray(torch.nn.functional.interpolate(torch.from_numpy(low).permute(2, 0, 1)[None],
                                                        size=(size, size), mode="bicubic")[0].permute(1, 2, 0))
    out.append(("clouds", clouds + rng.normal(0, 40, (size, size, 3))))
    return [(name, np.clip(a, 0, 255).astype(np.uint8)) for name, a in out]


def embed(encoder: Encoder, t: torch.Tensor) -> torch.Tensor:
    return F.normalize(encoder(t), dim=-1)


def embed_with_features(encoder: Encoder, t: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The normalised embedding and, where the encoder offers them (clip.ClipVision), its normalised
    mid-level pooled features; other encoders (the tests' tiny one) give the embedding alone."""
    with_features = getattr(encoder, "forward_with_features", None)
    if with_features is None:
        return embed(encoder, t), []
    e, pooled = with_features(t)
    return F.normalize(e, dim=-1), [F.normalize(f, dim=-1) for f in pooled]


def _pull(e: torch.Tensor, original: torch.Tensor, decoy: torch.Tensor) -> torch.Tensor:
    """Similarity to the original minus similarity to the decoy: what the attack lowers."""
    return (e @ original.T).mean() - (e @ decoy.T).mean()


def _blur(t: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur per channel, edges replicated."""
    radius = max(1, round(2.5 * sigma))
    k = torch.exp(-(torch.arange(-radius, radius + 1, dtype=t.dtype) ** 2) / (2 * sigma * sigma))
    k = (k / k.sum()).repeat(t.shape[1], 1, 1)
    t = F.conv2d(F.pad(t, (radius, radius, 0, 0), mode="replicate"), k[:, :, None, :], groups=t.shape[1])
    return F.conv2d(F.pad(t, (0, 0, radius, radius), mode="replicate"), k[:, :, :, None], groups=t.shape[1])


def _upsample(delta: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(delta.shape[-2:]) == size:
        return delta
    return F.interpolate(delta, size=size, mode="bilinear", align_corners=False)


def cloak_rgb(rgb: np.ndarray, settings: CloakSettings, encoder: Encoder, progress: Progress | None = None,
              view=random_view) -> tuple[np.ndarray, dict]:  # type: ignore[no-untyped-def]
    """rgb: (H, W, 3) uint8 at the served resolution -> cloaked (H, W, 3) uint8 and a report."""
    started = time.monotonic()
    torch.manual_seed(settings.seed)
    rng, generator = random.Random(settings.seed), torch.Generator().manual_seed(settings.seed)
    height, width = rgb.shape[:2]
    scale = min(1.0, settings.work_edge / min(height, width))
    work = (max(8, round(height * scale)), max(8, round(width * scale)))
    full = to_tensor(rgb)
    x = resize(full, work) if scale < 1 else full
    mask = torch.from_numpy(texture_mask(to_uint8(x)))[None, None]
    target_rms = 10 ** (-settings.target_psnr / 20)  # RMS in 0..1 units that gives exactly target_psnr

    with torch.no_grad():
        original, original_features = embed_with_features(encoder, center_view(x))
        candidates = [(name, *embed_with_features(encoder, to_tensor(a))) for name, a in decoys(settings.seed)]
    decoy_name, decoy, decoy_features = min(candidates, key=lambda c: float(c[1] @ original.T))

    # Projected sign-gradient descent under two constraints: a per-pixel box eps * mask (the
    # perceptual budget) and a global RMS (the PSNR budget).
    steps = settings.steps * max(1, min(4, round(math.sqrt(work[0] * work[1]) / settings.work_edge)))
    # Unused budget: signed steps drive the perturbation to the box's corners, so its RMS ends near the RMS
    # of the box. Where that is below the PSNR budget, widen the box (busy areas only grow, up to 2x).
    epsilon = min(2 * settings.epsilon, max(settings.epsilon, target_rms / float(mask.pow(2).mean().sqrt())))
    limit = epsilon * mask
    delta = torch.zeros((1, 3, *work))
    momentum = torch.zeros_like(delta)
    sigma = max(0.5, min(work) / 256)  # ~2 px of a 512 px working copy: well under what the encoder sees

    def project(d: torch.Tensor) -> torch.Tensor:
        d = torch.maximum(torch.minimum(d, limit), -limit)
        d = (x + d).clamp(0, 1) - x
        rms = float(d.pow(2).mean().sqrt())
        return d * min(1.0, target_rms / (rms + 1e-12))

    losses = []
    for step in range(steps):
        delta.requires_grad_(True)
        adv = x + delta
        views = torch.cat([view(adv, rng, generator) for _ in range(settings.views)])
        e, features = embed_with_features(encoder, views)
        loss = _pull(e, original, decoy)
        for f, f_original, f_decoy in zip(features, original_features, decoy_features, strict=True):
            loss = loss + settings.feature_weight * _pull(f, f_original, f_decoy)
        grad, = torch.autograd.grad(loss, delta)
        losses.append(round(float(loss.detach()), 4))
        with torch.no_grad():
            # Momentum over blurred, normalised gradients, then a signed step inside the mask (PGD),
            # cosine-decayed: coarse moves first, then settle.
            smooth = _blur(grad, sigma)
            momentum = 0.8 * momentum + smooth / (smooth.abs().mean() + 1e-12)
            size = epsilon * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / steps))) / 2
            delta = project(delta.detach() - size * mask * momentum.sign())
        if progress is not None:
            elapsed = time.monotonic() - started
            progress((step + 1) / (steps + 1), elapsed / (step + 1) * (steps - step))

    with torch.no_grad():
        delta = _upsample(delta, (height, width))
        # Upsampling a working copy smaller than the served image smooths the perturbation and so lowers its
        # RMS (2.2 dB at 2x): scale it back to the PSNR budget, by at most UPSAMPLE_GAIN.
        rms = float(delta.pow(2).mean().sqrt())
        delta = delta * min(UPSAMPLE_GAIN, max(1.0, target_rms / (rms + 1e-12)))
        out = to_uint8(full + delta)
        # 8-bit rounding and the upsampling move the budget a little: scale down until the target holds.
        achieved = psnr(rgb, out)
        factor = 1.0
        while achieved < settings.target_psnr and factor > 0.05:
            factor *= 0.95
            out = to_uint8(full + delta * factor)
            achieved = psnr(rgb, out)
    report = {"steps": steps, "views": settings.views, "seed": settings.seed, "decoy": decoy_name,
              "feature_weight": settings.feature_weight if original_features else 0.0,
              "work_size": [work[1], work[0]], "epsilon": round(epsilon * 255, 2),
              "target_psnr": settings.target_psnr, "psnr": round(achieved, 2), "budget_scale": round(factor, 3),
              "loss_first": losses[0], "loss_last": losses[-1], "mask_mean": round(float(mask.mean()), 3),
              "seconds": round(time.monotonic() - started, 2)}
    return out, report
