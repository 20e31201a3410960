"""Read side of discovery: explore, tag pages, search and suggested artists, and the block/mute filters that
every listing of other people's works applies. Writers live in services/safety.py and services/discovery.py.

Opt-outs: an account with `discoverable` off never shows up in artist search or suggestions; works of an
account with `discoverable` or `indexable` off never show up in explore, tag pages or search (they stay on
the artist's own profile). Remote accounts carry the flags their actor documents publish.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal_column, or_, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from cara_fed.db import utcnow
from cara_fed.models import Account, Artwork, ArtworkTag, Block, Follow, Instance, TagFollow
from cara_fed.queries import PAGE_SIZE, Page, _page
from cara_fed.queries_safety import not_hidden_from
from cara_fed.text import normalize_tag

SEARCH_MAX = 200  # characters; longer queries are refused with a reason
POPULAR_DAYS = 7
POPULAR_LIMIT = 48
# The same expression as the PostgreSQL index ix_artworks_search (models/artworks.py), so the planner uses it.
_VECTOR = literal_column(
    "to_tsvector('simple'::regconfig, (artworks.title::text || ' '::text) || artworks.description)")


# --- shared filters ------------------------------------------------------------------------------


def _not_silenced() -> ColumnElement[bool]:
    """Remote works from silenced or suspended servers stay out of public listings (local ones always count)."""
    muted = select(Instance.domain).where(Instance.policy.in_(("silence", "suspend")))
    return Account.domain.is_(None) | Account.domain.not_in(muted)


def _listed(viewer: Account | None) -> Select:
    """Published public works of active, discoverable and indexable accounts, minus what the viewer hides."""
    query = (select(Artwork).join(Account, Account.id == Artwork.account_id)
             .where(Artwork.state == "published", Artwork.visibility == "public", Account.status == "active",
                    Account.discoverable.is_(True), Account.indexable.is_(True), _not_silenced()))
    hidden = not_hidden_from(viewer)
    return query.where(hidden) if hidden is not None else query


def _filtered(query: Select, field: str = "", medium: str = "", tag: str = "") -> Select:
    if field:
        query = query.where(Artwork.field == field)
    if medium:
        query = query.where(Artwork.medium == medium)
    if tag:
        query = query.where(Artwork.id.in_(select(ArtworkTag.artwork_id).where(ArtworkTag.tag == tag)))
    return query


# --- explore and tags ----------------------------------------------------------------------------


async def explore(session: AsyncSession, viewer: Account | None, *, field: str = "", medium: str = "", tag: str = "",
                  before: int | None = None, limit: int = PAGE_SIZE) -> Page:
    """Newest first (keyset on id): no ranking unless the viewer asks for `popular`."""
    return await _page(session, _filtered(_listed(viewer), field, medium, tag), before, limit)


async def popular_this_week(session: AsyncSession, viewer: Account | None, *, field: str = "", medium: str = "",
                            tag: str = "", limit: int = POPULAR_LIMIT) -> list[Artwork]:
    """Works published in the last 7 days, by how many people here follow their artist (the one engagement
    count this server keeps today), then newest. One page: a ranking has no stable keyset."""
    since = utcnow() - timedelta(days=POPULAR_DAYS)
    followers = (select(func.count()).select_from(Follow)
                 .where(Follow.followee_id == Artwork.account_id, Follow.state == "accepted")
                 .correlate(Artwork).scalar_subquery())
    query = (_filtered(_listed(viewer), field, medium, tag).where(Artwork.published_at >= since)
             .order_by(followers.desc(), Artwork.id.desc()).limit(limit))
    return list((await session.scalars(query)).unique().all())


async def tag_works(session: AsyncSession, tag: str, viewer: Account | None, before: int | None = None,
                    limit: int = PAGE_SIZE) -> Page:
    return await explore(session, viewer, tag=tag, before=before, limit=limit)


# --- search --------------------------------------------------------------------------------------


SEARCH_CANDIDATES = 1000  # newest matches beyond a page that each index offers a search page (PostgreSQL)


def _like(term: str) -> str:
    escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def search_artworks(session: AsyncSession, viewer: Account | None, q: str, before: int | None = None,
                          limit: int = PAGE_SIZE) -> Page:
    """Title, description (full-text on PostgreSQL, LIKE on SQLite) and tags; newest first."""
    tagged = select(ArtworkTag.artwork_id).where(ArtworkTag.tag == normalize_tag(q))
    if session.get_bind().dialect.name == "postgresql":
        # A UNION of two indexed lookups (GIN full-text, tag btree), so neither side turns into a scan; each side
        # only its newest matches below the cursor (a page plus SEARCH_CANDIDATES): a word every work has matched
        # a million rows at full size, and hashing them all took 2.5 s per search (3 ms bounded). A page ends
        # early only if more than SEARCH_CANDIDATES of those are hidden from the viewer.
        text_match: Any = _VECTOR.op("@@")(func.plainto_tsquery(literal_column("'simple'::regconfig"), q))
        by_text = select(Artwork.id).where(text_match)
        if before is not None:
            by_text = by_text.where(Artwork.id < before)
            tagged = tagged.where(ArtworkTag.artwork_id < before)
        candidates = SEARCH_CANDIDATES + limit + 1
        newest_text = by_text.order_by(Artwork.id.desc()).limit(candidates).subquery()
        newest_tagged = tagged.order_by(ArtworkTag.artwork_id.desc()).limit(candidates).subquery()
        matching = Artwork.id.in_(union(select(newest_text.c.id), select(newest_tagged.c.artwork_id)))
    else:
        pattern = _like(q)
        matching = or_(func.lower(Artwork.title).like(pattern, escape="\\"),
                       func.lower(Artwork.description).like(pattern, escape="\\"), Artwork.id.in_(tagged))
    return await _page(session, _listed(viewer).where(matching), before, limit)


async def search_accounts(session: AsyncSession, viewer: Account | None, q: str, limit: int = 20) -> list[Account]:
    """Discoverable artists and studios (local, and remote ones we know) by username or display name."""
    pattern = _like(q.lstrip("@").split("@", 1)[0])
    query = (select(Account).where(
        Account.status == "active", Account.kind != "application", Account.discoverable.is_(True),
        or_(func.lower(Account.username).like(pattern, escape="\\"),
            func.lower(Account.display_name).like(pattern, escape="\\")), _not_silenced())
        .order_by(Account.domain.is_not(None), Account.username).limit(limit))
    if viewer is not None:
        query = query.where(Account.id.not_in(select(Block.target_id).where(Block.account_id == viewer.id)),
                            Account.id.not_in(select(Block.account_id).where(Block.target_id == viewer.id)))
    return list((await session.scalars(query)).unique().all())


async def search_tags(session: AsyncSession, q: str, limit: int = 20) -> list[tuple[str, int]]:
    """Tags starting with the query, with how many listed works carry each."""
    prefix = normalize_tag(q)
    if not prefix:
        return []
    listed = _listed(None).with_only_columns(ArtworkTag.tag, func.count()).join(
        ArtworkTag, ArtworkTag.artwork_id == Artwork.id)
    rows = await session.execute(
        listed.where(ArtworkTag.tag.like(_like(prefix)[1:], escape="\\"))
        .group_by(ArtworkTag.tag).order_by(func.count().desc(), ArtworkTag.tag).limit(limit))
    return [(tag, count) for tag, count in rows.all()]


# --- suggested artists ---------------------------------------------------------------------------


async def suggested_artists(session: AsyncSession, viewer: Account, limit: int = 6) -> list[tuple[Account, int]]:
    """Artists with listed works in the fields the viewer works in (or, without works, the fields of those
    they follow), ranked by how many such works; never the viewer, people they follow, or opted-out ones."""
    own = select(Artwork.field).where(Artwork.account_id == viewer.id, Artwork.field != "")
    followed = select(Follow.followee_id).where(Follow.follower_id == viewer.id,
                                                Follow.state.in_(("requested", "accepted")))
    fields = list((await session.scalars(own.distinct())).all())
    if not fields:
        fields = list((await session.scalars(select(Artwork.field).distinct().where(
            Artwork.account_id.in_(followed), Artwork.field != ""))).all())
    if not fields:
        return []
    shared = func.count(Artwork.id)
    query = (_listed(viewer).with_only_columns(Account, shared)
             .where(Artwork.field.in_(fields), Account.id != viewer.id, Account.id.not_in(followed),
                    Account.kind != "application")
             .group_by(Account.id).order_by(shared.desc(), Account.id).limit(limit))
    return [(account, count) for account, count in (await session.execute(query)).unique().all()]


async def follows_tag(session: AsyncSession, viewer: Account | None, tag: str) -> bool:
    if viewer is None:
        return False
    return await session.scalar(select(TagFollow.id).where(TagFollow.account_id == viewer.id,
                                                           TagFollow.tag == tag)) is not None
