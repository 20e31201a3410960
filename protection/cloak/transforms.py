"""What happens to a served image, in torch: resizing, our own encoders, JPEG, noise + resampling, crops.

Used twice: as the random transformations the attack averages over (expectation over transformation), and
as the fixed transformations the protection panel measures after. Real codecs (Pillow's JPEG and WebP) run
in the forward pass; their gradient is passed straight through (BPDA), so the attack optimises against the
real quantisation rather than a smooth stand-in.
"""

from __future__ import annotations

import io
import random

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

SIZE = 224


def to_tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32) / 255.0).permute(2, 0, 1)[None]


def to_uint8(t: torch.Tensor) -> np.ndarray:
    return (t[0].detach().clamp(0, 1).permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8)


def resize(t: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(h, w); antialiased when shrinking, like Pillow's filters."""
    if tuple(t.shape[-2:]) == size:
        return t
    return F.interpolate(t, size=size, mode="bicubic", antialias=True, align_corners=False).clamp(0, 1)


def codec(t: torch.Tensor, fmt: str, quality: int) -> torch.Tensor:
    """Encode and decode each image with Pillow; straight-through gradient."""
    outs = []
    for i in range(t.shape[0]):
        buf = io.BytesIO()
        Image.fromarray(to_uint8(t[i:i + 1])).save(buf, fmt, quality=quality)
        outs.append(to_tensor(np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))))
    decoded = torch.cat(outs).to(t.dtype)
    return t + (decoded - t).detach()


def center_view(t: torch.Tensor) -> torch.Tensor:
    """CLIP's own preprocessing: shorter side to 224, centre crop."""
    h, w = t.shape[-2:]
    scale = SIZE / min(h, w)
    nh, nw = max(SIZE, round(h * scale)), max(SIZE, round(w * scale))
    t = resize(t, (nh, nw))
    top, left = (nh - SIZE) // 2, (nw - SIZE) // 2
    return t[..., top:top + SIZE, left:left + SIZE]


def noise_resample(t: torch.Tensor, sigma: float, generator: torch.Generator, factor: float = 2.0) -> torch.Tensor:
    """Gaussian noise, then down- and up-sampling by `factor` (the cheap cousin of Hönig et al.'s noisy
    upscaling: the resampler averages the noise away, and with it fine adversarial detail)."""
    h, w = t.shape[-2:]
    noisy = (t + sigma * torch.randn(t.shape, generator=generator)).clamp(0, 1)
    small = resize(noisy, (max(8, round(h / factor)), max(8, round(w / factor))))
    return resize(small, (h, w))


# -- the panel's fixed transformations (applied to the whole served image, then measured at 224) --

def served(t: torch.Tensor, quality: int) -> torch.Tensor:
    """Our own derivative encoding (JPEG at the configured quality): what a visitor downloads."""
    return codec(t, "JPEG", quality)


def fixed_transform(name: str, t: torch.Tensor, seed: int) -> torch.Tensor:
    if name == "none":
        return t
    if name == "jpeg75":
        return codec(t, "JPEG", 75)
    if name == "resize50":
        h, w = t.shape[-2:]
        return resize(t, (max(1, h // 2), max(1, w // 2)))
    if name == "noise_resample":
        return noise_resample(t, 0.05, torch.Generator().manual_seed(seed))
    raise ValueError(f"unknown transformation {name!r}")


FIXED = ("none", "jpeg75", "resize50", "noise_resample")


# -- the attack's random transformations (on a working copy, ending in an encoder-sized view) --

def random_view(t: torch.Tensor, rng: random.Random, generator: torch.Generator) -> torch.Tensor:
    """One random transformation of the working image into a 224x224 view: a crop (a square of 50-100 % of
    the shorter side, anywhere: also how a large image is covered tile by tile), resampled so the codec works
    at 0.5-1.6x the encoder's scale (a smaller derivative or a 0.5-1.0 resize below 1, a larger served size
    above), sometimes noise (sigma <= 0.05) + 2x resampling, then an encoder pass (JPEG q60-95, or our
    WebP), and finally the encoder's own resize."""
    h, w = t.shape[-2:]
    side = round(min(h, w) * rng.uniform(0.5, 1.0))
    top, left = rng.randint(0, h - side), rng.randint(0, w - side)
    size = round(SIZE * rng.uniform(0.5, 1.6))
    view = resize(t[..., top:top + side, left:left + side], (size, size))
    if rng.random() < 0.35:
        view = noise_resample(view, rng.uniform(0.0, 0.05), generator)
    roll = rng.random()
    if roll < 0.6:
        view = codec(view, "JPEG", rng.randint(60, 95))
    elif roll < 0.8:
        view = codec(view, "WEBP", 82)
    return resize(view, (SIZE, SIZE))
