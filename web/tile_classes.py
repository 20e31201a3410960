"""The CSS classes that place an image in its tile (style.css: the CSP blocks style="" attributes), computed in Python:
as Jinja macros with min/max filters they cost ~10 us per picture, and a page of cards shows dozens."""

from __future__ import annotations

from typing import Any


def _clamp(value: float, low: int, high: int) -> int:
    return max(low, min(high, int(round(value, 0))))  # Jinja's `round` filter: Python's round


def focal(asset: Any) -> str:
    """fx-0…fx-10 and fy-0…fy-10 (steps of 10 %): the object-position of a cropped thumbnail, from the asset's
    focal point (Mastodon's focus: x from -1 left to 1 right, y from 1 top to -1 bottom)."""
    fx = ((asset.focal_x or 0) + 1) * 5
    fy = (1 - (asset.focal_y or 0)) * 5
    return f"fx-{_clamp(fx, 0, 10)} fy-{_clamp(fy, 0, 10)}"


def ratio(work: Any) -> int:
    """A justified tile's aspect-ratio bucket, in tenths (ar-5 … ar-25): its cover's width over height, else 10."""
    cover = work.cover
    asset = cover.asset if cover else None
    if asset and asset.width and asset.height:
        return _clamp(asset.width / asset.height * 10, 5, 25)
    return 10
