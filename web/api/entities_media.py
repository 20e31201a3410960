"""Mastodon's MediaAttachment entity: an artwork image or an uploaded asset, linked once its derivatives exist."""

from __future__ import annotations

from typing import Any

from cara_fed.models import ArtworkImage, MediaAsset
from web.api.entities import View


def _size(width: int | None, height: int | None) -> dict[str, Any] | None:
    if not width or not height:
        return None
    return {"width": width, "height": height, "size": f"{width}x{height}", "aspect": round(width / height, 4)}


def media(view: View, asset: MediaAsset, description: str) -> dict[str, Any]:
    """url is null until the protection pipeline has made the public derivatives (the original is never served)."""
    ready = asset.state == "ready" and bool(asset.derivatives)
    large = asset.best(100_000, "jpeg") if ready else None
    small = asset.best(400, "jpeg") if ready else None
    meta: dict[str, Any] = {"focus": {"x": round(asset.focal_x or 0.0, 2), "y": round(asset.focal_y or 0.0, 2)}}
    if large is not None:
        meta["original"] = _size(large.width, large.height)
    if small is not None:
        meta["small"] = _size(small.width, small.height)
    return {"id": str(asset.id), "type": "image" if ready or asset.state != "rejected" else "unknown",
            "url": view.media(large) if large else None,
            "preview_url": view.media(small) if small else None,
            "remote_url": None, "preview_remote_url": None, "text_url": None, "meta": meta,
            "description": description or None, "blurhash": asset.blurhash}


def image_media(view: View, image: ArtworkImage) -> dict[str, Any]:
    return media(view, image.asset, image.alt_text)
