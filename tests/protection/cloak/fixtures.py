"""Pictures for the cloak tests, drawn here; and a tiny seeded encoder for tests about the plumbing only."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def painting(width: int = 192, height: int = 160, seed: int = 1) -> np.ndarray:
    """Busy, painterly: overlapping blurred discs plus grain."""
    rng = np.random.default_rng(seed)
    im = Image.new("RGB", (width, height), tuple(int(v) for v in rng.integers(0, 255, 3)))
    draw = ImageDraw.Draw(im)
    for _ in range(60):
        x, y, r = int(rng.integers(0, width)), int(rng.integers(0, height)), int(rng.integers(4, 30))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
    arr = np.asarray(im.filter(ImageFilter.GaussianBlur(1.2))).astype(np.float32)
    return np.clip(arr + rng.normal(0, 8, arr.shape), 0, 255).astype(np.uint8)


def line_art(width: int = 192, height: int = 160) -> np.ndarray:
    """Thin dark lines on a flat light ground, with one busy textured patch in the lower right."""
    im = Image.new("RGB", (width, height), (245, 242, 235))
    draw = ImageDraw.Draw(im)
    draw.line((10, 10, 90, 70), fill=(20, 20, 20), width=2)
    draw.arc((20, 60, 80, 120), 0, 270, fill=(20, 20, 20), width=2)
    arr = np.asarray(im).copy()
    rng = np.random.default_rng(3)
    arr[100:, 120:] = rng.integers(0, 255, arr[100:, 120:].shape)
    return arr


def png(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    return buf.getvalue()


def tiny_encoder(seed: int = 0):  # type: ignore[no-untyped-def]
    """A random conv net: enough to have gradients, so determinism and masking tests run in milliseconds."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(3, 8, 5, 4), nn.ReLU(), nn.Conv2d(8, 16, 3, 2), nn.ReLU(),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 32))
    for p in net.parameters():
        p.requires_grad_(False)
    return net.eval()
