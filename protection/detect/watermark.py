"""Layer (d): the invisible watermarks Stable Diffusion's reference code embeds (invisible-watermark, dwtDct).

A pattern counts as found when at least `min_bits` of its bits decode correctly. For an image without the
mark, decoded bits behave like fair coin flips, so the chance of a false positive is the binomial tail
P(X >= k) = sum_{i=k..n} C(n, i) / 2^n. Each pattern is tried in both channel orders (dwtdct.ORDERS), so
there are six tests; thresholds are the smallest k with a tail below 1e-6 / 6, so all six together stay
below 1e-6 (union bound); see docs/detection.md. Flat blocks are skipped rather than read (dwtdct), so
flat art does not bias the bits towards one colour's value; a position no block speaks for never matches.

The mark lives in the exact pixel grid: it survives lossless re-saves (PNG, lossless WebP) but not
resizing, cropping, or a JPEG re-encode with chroma subsampling (Pillow's default; tested).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from protection.detect import dwtdct
from protection.detect.source import PixelView, Source, view_of
from protection.detect.verdict import AI_GENERATED, NO_SIGNAL, Evidence

FALSE_POSITIVE_TARGET = 1e-6


def _bits_of(data: bytes) -> tuple[int, ...]:
    return tuple(int(b) for b in np.unpackbits(np.frombuffer(data, dtype=np.uint8)))


def binomial_tail(n: int, k: int) -> float:
    """P(X >= k) for X ~ Binomial(n, 1/2): the chance that random bits match k of n pattern bits."""
    return sum(math.comb(n, i) for i in range(k, n + 1)) / 2**n


TESTS = 3 * 2  # patterns x channel orders, for the union bound


def min_bits_for(n: int, target: float = FALSE_POSITIVE_TARGET / TESTS) -> int:
    return next(k for k in range(n + 1) if binomial_tail(n, k) < target)


@dataclass(frozen=True)
class Pattern:
    name: str
    finding: str
    bits: tuple[int, ...]
    mode: str  # "uint8" (SD1/SD2 embed on uint8 arrays) or "float" (SDXL embeds on float arrays)

    @property
    def min_bits(self) -> int:
        return min_bits_for(len(self.bits))


SDXL_BITS = tuple(int(b) for b in bin(0b101100111110110010010000011110111011000110011110)[2:])
PATTERNS = (
    Pattern("sd1", "Stable Diffusion 1.x invisible watermark (b'StableDiffusionV1')",
            _bits_of(b"StableDiffusionV1"), "uint8"),
    Pattern("sd2", "Stable Diffusion 2.x invisible watermark (b'SDV2')", _bits_of(b"SDV2"), "uint8"),
    Pattern("sdxl", "Stable Diffusion XL invisible watermark (48-bit pattern)", SDXL_BITS, "float"),
)


def scan(src: bytes | Source) -> list[Evidence]:
    try:
        return _scan(Source.of(src))
    except Exception as exc:  # a layer never raises
        return [Evidence("watermark", "watermark check could not run", 0.0, NO_SIGNAL, {"error": type(exc).__name__})]


def match_orders(pixels: np.ndarray | PixelView) -> dict[str, tuple[int, str]]:
    """(matching bits, channel order) per pattern, the better of both orders; one pass over the blocks per
    YUV mode and order serves every pattern of that mode."""
    view = view_of(pixels)
    block_bits = {(mode, order): bits for mode in sorted({p.mode for p in PATTERNS})
                  for order, bits in dwtdct.first_block_bits_orders(view, mode).items()}
    best = {}
    for p in PATTERNS:
        want = np.array(p.bits, dtype=np.uint8)
        for order in dwtdct.ORDERS:
            decoded = dwtdct.decode(block_bits[(p.mode, order)], len(p.bits))
            n = int((decoded == want).sum()) if decoded.size else 0
            if p.name not in best or n > best[p.name][0]:
                best[p.name] = (n, order)
    return best


def match_counts(pixels: np.ndarray | PixelView) -> dict[str, int]:
    """Matching bits per pattern (the better channel order)."""
    return {name: n for name, (n, _order) in match_orders(pixels).items()}


def _scan(src: Source) -> list[Evidence]:
    if src.too_large:
        return [Evidence("watermark", "image too large for the watermark check; skipped", 0.0, NO_SIGNAL, {})]
    view = src.view
    if view is None:
        return []
    if view.shape[0] * view.shape[1] < dwtdct.MIN_PIXELS:
        return []  # the embedder refuses images under 256x256, so there is nothing to find
    counts = match_orders(view)
    out = []
    for p in PATTERNS:
        matched, order = counts[p.name]
        if matched >= p.min_bits:
            n = len(p.bits)
            out.append(Evidence("watermark", f"{p.finding}: {matched} of {n} bits match", 0.97, AI_GENERATED, {
                "pattern": p.name, "channel_order": order, "bits_matched": matched, "bits_total": n,
                "threshold": p.min_bits,
                "false_positive_bound": float(f"{binomial_tail(n, p.min_bits):.3g}")}))
    return out
