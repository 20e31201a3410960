"""The status a request names: ID (the route pattern of a status id), load (the artwork or comment behind
it, if the viewer may see it) and render (it as a Mastodon Status), shared by the statuses endpoints."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from cara_fed import queries
from cara_fed.context import CONTEXT_KEY
from cara_fed.models import Artwork, Comment
from web.api import entities, entities_statuses
from web.api.base import not_found, viewer
from web.api.views import view_for

ID = r"{status_id:\d+}"


async def load(request: web.Request, session, raw: str) -> tuple[str, Artwork, Comment | None]:  # type: ignore[no-untyped-def]
    """("artwork", work, None) or ("comment", its work, comment), if the viewer may see it; else 404."""
    parsed = entities.parse_status_id(raw)
    if parsed is None:
        raise not_found()
    kind, number = parsed
    who = await viewer(request)
    comment = None
    if kind == "comment":
        comment = await session.get(Comment, number)
        if comment is None or comment.state != "visible":
            raise not_found()
        number = comment.artwork_id
    work = await session.get(Artwork, number)
    if work is None or not await queries.can_view_async(session, work, who):
        raise not_found()
    if kind == "comment" and work.state != "published":
        raise not_found()
    return kind, work, comment


async def render_comment(request: web.Request, session, comment: Comment, work: Artwork) -> dict:  # type: ignore[no-untyped-def]
    parent = await session.get(Comment, comment.parent_id) if comment.parent_id else None
    view = await view_for(request, session, accounts=[comment.account, work.account])
    replies = len((await session.scalars(select(Comment.id).where(Comment.parent_id == comment.id,
                                                                  Comment.state == "visible"))).all())
    return entities_statuses.comment_status(view, comment, work, parent, replies=replies)


async def render(request: web.Request, raw_id: str) -> dict:
    async with request.app[CONTEXT_KEY].sessions() as session:
        kind, work, comment = await load(request, session, raw_id)
        if comment is not None:
            return await render_comment(request, session, comment, work)
        view = await view_for(request, session, artworks=[work])
        return entities_statuses.status(view, work)
