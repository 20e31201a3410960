"""What counts as an edit of a work: the one place that decides `edited_at` (AS2 `updated`, Mastodon's
"Edited"). Artwork edits (services/artworks.py) and alt-text changes through the media API
(services/unattached_media.py) both ask here."""

from __future__ import annotations

from cara_fed.db import utcnow
from cara_fed.models import Artwork


def content_of(artwork: Artwork) -> tuple:
    """What a work shows other people (and federates): a change here is an edit. Pinning, re-stamping the
    files, review labels and the comment setting are not."""
    return (artwork.title, artwork.description_html, artwork.content_warning, artwork.sensitive, artwork.license,
            artwork.noai, tuple(artwork.tag_names), tuple((i.asset_id, i.alt_text) for i in artwork.images))


def mark_edited(artwork: Artwork, before: tuple, was_published: bool) -> bool:
    """Stamp edited_at when a work that was published before the change (`was_published`, read before it)
    shows something else than `before` (content_of, read before it). Asks about the state before, not now:
    added images send a published work back through processing, and that is still an edit."""
    if not was_published or content_of(artwork) == before:
        return False
    artwork.edited_at = utcnow()
    return True
