"""Reading statuses: one or many, an own post's source, the thread (context), who favourited or reblogged
it and its edit history. An artwork is a status with its images as media; a reply to an artwork (or to a
comment on it) is a comment. Posting and editing are in statuses_posting.py (how a post becomes an artwork:
statuses_input.py), likes, boosts, bookmarks and pins in statuses_actions.py; finding and rendering the
status a route names in statuses_load.py. All go through the same services the pages use.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from cara_fed import queries_social
from cara_fed.context import CONTEXT_KEY
from cara_fed.models import Boost, Comment, Like, MediaAsset
from cara_fed.services import artwork_history
from web.api import entities, entities_statuses
from web.api.base import ApiError, endpoint, me, not_found, reply
from web.api.statuses_load import ID, load, render, render_comment
from web.api.views import accounts_json, view_for

routes = web.RouteTableDef()


@routes.get(rf"/api/v1/statuses/{ID}")
@endpoint("read:statuses", user=False, public=True)
async def show(request: web.Request) -> web.Response:
    return reply(await render(request, request.match_info["status_id"]))


@routes.get("/api/v1/statuses")
@endpoint("read:statuses", user=False, public=True)
async def many(request: web.Request) -> web.Response:
    found = []
    for raw in (request.query.getall("id[]", []) + request.query.getall("id", []))[:40]:
        try:
            found.append(await render(request, raw))
        except ApiError:
            continue
    return reply(found)


@routes.get(rf"/api/v1/statuses/{ID}/source")
@endpoint("read:statuses")
async def status_source(request: web.Request) -> web.Response:
    account = await me(request)
    async with request.app[CONTEXT_KEY].sessions() as session:
        kind, work, comment = await load(request, session, request.match_info["status_id"])
    if comment is not None:
        if comment.account_id != account.id:
            raise not_found()
        return reply({"id": entities.comment_status_id(comment.id), "text": comment.content, "spoiler_text": ""})
    if work.account_id != account.id:
        raise not_found()
    return reply(entities_statuses.source(work))


@routes.get(rf"/api/v1/statuses/{ID}/context")
@endpoint("read:statuses", user=False, public=True)
async def context(request: web.Request) -> web.Response:
    """An artwork's comments are its descendants (threaded, oldest first); a comment's ancestors are the artwork
    and the comments above it."""
    async with request.app[CONTEXT_KEY].sessions() as session:
        kind, work, comment = await load(request, session, request.match_info["status_id"])
        visible = list((await session.scalars(select(Comment).where(
            Comment.artwork_id == work.id, Comment.state == "visible").order_by(Comment.id)
            .limit(queries_social.THREAD_LIMIT))).unique().all())
        by_id = {c.id: c for c in visible}
        ordered = queries_social.thread_order(visible)
        view = await view_for(request, session, artworks=[work], accounts=[c.account for c in visible])
        children: dict[int, int] = {}
        for c in visible:
            if c.parent_id:
                children[c.parent_id] = children.get(c.parent_id, 0) + 1

        def as_status(c: Comment) -> dict:
            return entities_statuses.comment_status(view, c, work, by_id.get(c.parent_id or 0),
                                                    replies=children.get(c.id, 0))

        if comment is None:
            return reply({"ancestors": [], "descendants": [as_status(c) for c, _ in ordered]})
        chain, cursor = [], by_id.get(comment.parent_id or 0)
        while cursor is not None and len(chain) < 100:
            chain.append(cursor)
            cursor = by_id.get(cursor.parent_id or 0)
        below: set[int] = {comment.id}
        descendants = []
        for c, _depth in ordered:
            if c.parent_id in below:
                below.add(c.id)
                descendants.append(as_status(c))
        return reply({"ancestors": [entities_statuses.status(view, work)] + [as_status(c) for c in reversed(chain)],
                      "descendants": descendants})


@routes.get(rf"/api/v1/statuses/{ID}/{{who:favourited_by|reblogged_by}}")
@endpoint("read:accounts", user=False, public=True)
async def interacted_by(request: web.Request) -> web.Response:
    model = Like if request.match_info["who"] == "favourited_by" else Boost
    async with request.app[CONTEXT_KEY].sessions() as session:
        kind, work, comment = await load(request, session, request.match_info["status_id"])
        if comment is not None:
            return reply([])
        rows = (await session.scalars(select(model).where(model.artwork_id == work.id).order_by(model.id.desc())
                                      .limit(80))).unique().all()
        people = [row.account for row in rows if row.account.status == "active"]
        return reply(await accounts_json(request, session, people))


@routes.get(rf"/api/v1/statuses/{ID}/history")
@endpoint("read:statuses", user=False, public=True)
async def history(request: web.Request) -> web.Response:
    """Mastodon's StatusEdit list, oldest first: the versions edits replaced (kept since edit history was
    added), then the current one. Comments cannot be edited: their current version only. Same visibility as
    GET /api/v1/statuses/:id (load)."""
    async with request.app[CONTEXT_KEY].sessions() as session:
        kind, work, comment = await load(request, session, request.match_info["status_id"])
        if comment is not None:
            return reply([entities_statuses.status_edit(await render_comment(request, session, comment, work))])
        view = await view_for(request, session, artworks=[work])
        current = entities_statuses.status(view, work)
        edits = await artwork_history.replaced(session, work.id)
        ids = {m["asset_id"] for e in edits for m in e.media or [] if isinstance(m, dict) and "asset_id" in m}
        assets = {a.id: a for a in (await session.scalars(select(MediaAsset).where(MediaAsset.id.in_(ids)))).all()} \
            if ids else {}
        older = [entities_statuses.replaced_edit(view, edit, current["account"], assets) for edit in edits]
    return reply([*older, entities_statuses.status_edit(current)])
