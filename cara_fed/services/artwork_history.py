"""Edit history of a work (Mastodon's StatusEdit list): each edit keeps the version it replaced.

Only versions replaced after this was added are known; a work edited before has only its current version
(the API then dates it by `edited_at` and invents nothing older).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cara_fed.models import Artwork, ArtworkEdit

MAX_KEPT = 50  # a work edited more often keeps its latest 50 replaced versions


@dataclass(frozen=True)
class Version:
    """What a work showed (before an edit), and since when."""

    since: datetime | None
    title: str
    description_html: str
    content_warning: str
    sensitive: bool
    media: list[dict] = field(default_factory=list)


def snapshot(artwork: Artwork) -> Version:
    return Version(since=artwork.edited_at or artwork.published_at, title=artwork.title,
                   description_html=artwork.description_html, content_warning=artwork.content_warning,
                   sensitive=bool(artwork.sensitive),
                   media=[{"asset_id": i.asset_id, "alt": i.alt_text} for i in artwork.images])


async def keep(session: AsyncSession, artwork: Artwork, before: Version) -> None:
    """Store `before` as a replaced version of a published work (called when an edit stamps edited_at)."""
    if before.since is None:  # never published: drafts and processing have no history
        return
    session.add(ArtworkEdit(artwork_id=artwork.id, created_at=before.since, title=before.title,
                            description_html=before.description_html, content_warning=before.content_warning,
                            sensitive=before.sensitive, media=before.media))
    await session.flush()
    stale = (await session.scalars(select(ArtworkEdit).where(ArtworkEdit.artwork_id == artwork.id)
                                   .order_by(ArtworkEdit.created_at.desc(), ArtworkEdit.id.desc())
                                   .offset(MAX_KEPT))).all()
    for row in stale:
        await session.delete(row)


async def replaced(session: AsyncSession, artwork_id: int) -> list[ArtworkEdit]:
    """The versions edits replaced, oldest first."""
    return list((await session.scalars(select(ArtworkEdit).where(ArtworkEdit.artwork_id == artwork_id)
                                       .order_by(ArtworkEdit.created_at, ArtworkEdit.id))).all())
