"""An image as HTML: a <picture> with WebP and JPEG srcsets once its files exist, else a placeholder saying why.

Built in Python rather than as a Jinja2 macro: a macro call binds its arguments by name, makes a new context and
escapes each piece through the template (~45 us a picture under cProfile on the artwork page, issue 15). With the
partials imported without context, the artwork page's instructions fell 2.4 % (bench/page_instructions.py).
Templates call the `picture` global (web/render.py); the HTML is the macro's, byte for byte.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

from cara_fed.storage import derivative_url
from web.tile_classes import focal


def media_url(derivative: Any, base: str = "") -> str:
    """Our /media/ route, or the store/CDN's copy for a public work's file when [storage] public_base_url is set
    (only derivatives with a public copy: cara_fed/services/public_media.py)."""
    return derivative_url(base, derivative) if derivative is not None else ""


def srcset(asset: Any, fmt: str, base: str = "") -> str:
    return ", ".join(f"{media_url(d, base)} {d.width}w" for d in sorted(asset.derivatives, key=lambda d: d.width)
                     if d.format == fmt)


_REJECTED = ('<div class="placeholder failed" role="img" aria-label="Image could not be processed">\n'
             '  <span>Not processed: {}</span>\n</div>\n')
_PROCESSING = Markup('<div class="placeholder processing" role="img" aria-label="Image is being processed">\n'
                     '  <span><span class="spinner" aria-hidden="true"></span>Processing…</span>\n</div>\n')


def picture(image: Any, size: int = 1280, sizes: str = "(max-width: 700px) 100vw, 33vw", eager: bool = False,
            cls: str = "", base: str = "") -> Markup:
    """`image` (an ArtworkImage or a card's image: .asset, .alt_text) at about `size` pixels on its long edge
    for browsers without srcset; `sizes` as the <img> attribute; `eager` for the first image above the fold."""
    asset = image.asset
    if asset.state == "ready" and asset.derivatives:
        fallback = asset.best(size, "jpeg")
        width, height = (fallback.width, fallback.height) if fallback is not None else ("", "")
        shown_sizes = escape(sizes)
        loading = 'fetchpriority="high"' if eager else 'loading="lazy" decoding="async"'
        return Markup(
            f'<picture>\n  <source type="image/webp" srcset="{escape(srcset(asset, "webp", base))}" '
            f'sizes="{shown_sizes}">\n'
            f'  <img class="{escape(cls)} {escape(focal(asset))}" src="{escape(media_url(fallback, base))}" '
            f'srcset="{escape(srcset(asset, "jpeg", base))}" sizes="{shown_sizes}"\n'
            f'       width="{escape(width)}" height="{escape(height)}" alt="{escape(image.alt_text)}"\n'
            f'{loading}>\n</picture>\n')
    if asset.state == "rejected":
        return Markup(_REJECTED.format(escape(asset.error_message or "the image was refused")))
    return _PROCESSING
