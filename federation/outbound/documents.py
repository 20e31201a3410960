"""ActivityPub GET handlers: actors, Notes, projects and the actor collections (outbox, followers,
following, featured). Shared HTML/AP URLs are answered here through negotiation.middleware (NEGOTIATED)."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cara_fed import queries, urls
from cara_fed import queries_federation as fq
from cara_fed import queries_threads as threads
from cara_fed.cache import account_tag, tag_response
from cara_fed.context import CONTEXT_KEY, Context
from cara_fed.models import Account, Artwork, Comment, OutgoingActivity, Project
from cara_fed.numbers import parse_id
from cara_fed.services.accounts import ensure_instance_actor
from federation.negotiation import (
    ap_error,
    ap_redirect,
    ap_response,
    cached,
    require_signed_fetch,
    wants_activity_json,
)
from federation.outbound.proof_sign import signed_object
from federation.wire import serialize as s
from federation.wire import serialize_actors, serialize_artworks
from federation.wire import serialize_threads as st

routes = web.RouteTableDef()
OUTBOX_PAGE = 20
FOLLOWS_PAGE = 40
NO_ACTOR = "There is no such actor here."

Builder = Callable[[], Awaitable[web.Response]]
PageBuilder = Callable[[Context, AsyncSession, Account, str], Awaitable[dict]]
Handler = Callable[[web.Request], Awaitable[web.Response]]


async def _guarded(request: web.Request, build: Builder) -> web.Response:
    """Authorized fetch first, then the AP cache, then `build()`."""
    if denied := await require_signed_fetch(request):
        return denied
    return await cached(request, build)


def _row_id(raw: str) -> int | None:
    """A database id from a URL, or None (PostgreSQL integers stop at 2**31 - 1; bigger is no row)."""
    return parse_id(raw)


def _max_id(request: web.Request) -> int | None:
    return _row_id(request.query.get("max_id", ""))


def _page_id(base: str, max_id: int | None) -> str:
    return f"{base}?page=true" + (f"&max_id={max_id}" if max_id is not None else "")


# --- actors ----------------------------------------------------------------------------------------


@routes.get(urls.ACTOR_ROUTE)
async def actor(request: web.Request) -> web.Response:
    username = request.match_info["username"]
    if not wants_activity_json(request.headers.get("Accept"), default=True):
        return ap_redirect(urls.profile(username))  # people get the profile page

    async def build() -> web.Response:
        ctx = request.app[CONTEXT_KEY]
        async with ctx.sessions() as session:
            account = await fq.active_local_actor(session, username)
            if account is None:
                if (leaving := await fq.grace_period_local_actor(session, username)) is not None:
                    if leaving.username != username:
                        return ap_redirect(s.actor_id(ctx, leaving))
                    return ap_response(serialize_actors.suspended_actor_document(ctx, leaving))
                if await fq.tombstoned_local_actor(session, username):
                    return ap_error(410, "This account is deleted.")
                return ap_error(404, NO_ACTOR)
            if account.username != username:
                return ap_redirect(s.actor_id(ctx, account))  # the fetched URL must equal the id
            tag_response(request, account_tag(account.id))
            return ap_response(serialize_actors.actor_document(ctx, account))

    return await _guarded(request, build)


@routes.get("/actor")
async def instance_actor(request: web.Request) -> web.Response:
    """The instance's Application actor. Never behind authorized fetch: peers need its key to check
    the very signatures we make when fetching from them."""
    if not wants_activity_json(request.headers.get("Accept"), default=True):
        return ap_redirect("/about")
    ctx = request.app[CONTEXT_KEY]

    async def build() -> web.Response:
        created = await ensure_instance_actor(ctx)
        async with ctx.sessions() as session:  # a fresh load: the row may come straight from its creation
            account = await session.get(Account, created.id)
            return ap_response(serialize_actors.actor_document(ctx, account or created))

    return await cached(request, build)


@routes.get("/actor/outbox")
async def instance_outbox(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT_KEY]
    return ap_response(s.ordered_collection(ctx.url(urls.INSTANCE_ACTOR + "/outbox"), 0, items=[]))


# --- collections -----------------------------------------------------------------------------------


async def _collection(request: web.Request, name: str, build_page: PageBuilder) -> web.Response:
    """Mastodon-style paging: the collection names `first`; pages are ?page=true[&max_id=N]."""
    username = request.match_info["username"]

    async def build() -> web.Response:
        ctx = request.app[CONTEXT_KEY]
        async with ctx.sessions() as session:
            account = await fq.active_local_actor(session, username)
            if account is None:
                return ap_error(404, NO_ACTOR)
            base = f"{s.actor_id(ctx, account)}/{name}"
            tag_response(request, account_tag(account.id))
            return ap_response(await build_page(ctx, session, account, base))

    return await _guarded(request, build)


def _page_url(base: str, cursor: str | None) -> str:
    return f"{base}?page=true" + (f"&max_id={cursor}" if cursor else "")


async def outbox_items(ctx: Context, session: AsyncSession, page: threads.OutboxPage) -> list[dict]:
    """The Creates of one outbox page, in its order: the works' Notes and the comments' Notes (also what the
    portfolio export writes, outbound/portfolio_export.py)."""
    projects = await fq.first_projects(session, [a.id for a in page.works])
    works = {a.id: a for a in page.works}
    said = {found.comment.id: found for found in page.comments}
    items = []
    for kind, number in page.order:
        if kind == "a" and (work := works.get(number)) is not None:
            note = serialize_artworks.note_for_artwork(ctx, work, project=projects.get(number))
            items.append(s.create_for_note(ctx, work, note))
        elif kind == "c" and (found := said.get(number)) is not None:
            note = st.comment_note(ctx, found.comment, found.artwork, found.parent, found.mentioned)
            items.append(s.activity(ctx, "Create", found.comment.account, note, id_=note["id"] + "#create"))
    return items


@routes.get(urls.ACTOR_ROUTE + "/outbox")
async def outbox(request: web.Request) -> web.Response:
    """The actor's public works and comments (each as its Create), newest first; the cursor names the last
    item of the previous page ("a12" a work, "c7" a comment), as the two share no id sequence."""
    raw = request.query.get("max_id", "")
    cursor, paged = (raw if re.fullmatch(r"[ac]\d{1,10}", raw) else None), "page" in request.query

    async def build_page(ctx: Context, session: AsyncSession, account: Account, base: str) -> dict:
        if not paged:
            return s.ordered_collection(base, await threads.count_outbox(session, account), first=_page_url(base, None))
        page = await threads.outbox(session, account, cursor, limit=OUTBOX_PAGE)
        items = await outbox_items(ctx, session, page)
        next_ = _page_url(base, page.next_cursor) if page.next_cursor else None
        return s.collection_page(_page_url(base, cursor), base, items, next_=next_)

    return await _collection(request, "outbox", build_page)


def _follow_collection(name: str, side: str) -> Handler:
    lister = queries.followers if name == "followers" else queries.following

    async def handler(request: web.Request) -> web.Response:
        max_id, paged = _max_id(request), "page" in request.query

        async def build_page(ctx: Context, session: AsyncSession, account: Account, base: str) -> dict:
            if not paged:
                followers, following = await queries.count_follows(session, account)
                total = followers if name == "followers" else following
                return s.ordered_collection(base, total, first=_page_id(base, None))
            rows, cursor = await lister(session, account, before=max_id, limit=FOLLOWS_PAGE)
            items = [s.actor_id(ctx, getattr(row, side)) for row in rows]
            next_ = _page_id(base, cursor) if cursor else None
            return s.collection_page(_page_id(base, max_id), base, items, next_=next_)

        return await _collection(request, name, build_page)

    return handler


routes.get(urls.ACTOR_ROUTE + "/followers")(_follow_collection("followers", "follower"))
routes.get(urls.ACTOR_ROUTE + "/following")(_follow_collection("following", "followee"))


@routes.get(urls.ACTOR_ROUTE + "/featured")
async def featured(request: web.Request) -> web.Response:
    async def build_page(ctx: Context, session: AsyncSession, account: Account, base: str) -> dict:
        pinned = await queries.pinned(session, account)
        projects = await fq.first_projects(session, [a.id for a in pinned])
        notes = [serialize_artworks.note_for_artwork(ctx, a, project=projects.get(a.id)) for a in pinned]
        return s.ordered_collection(base, len(notes), items=notes)

    return await _collection(request, "featured", build_page)


# --- activities ------------------------------------------------------------------------------------


@routes.get(urls.ACTIVITY_ROUTE)
async def activity(request: web.Request) -> web.Response:
    """An activity we sent, byte for byte as delivered, when it was addressed to the public (others: 404, as
    followers-only Notes are). Its id is this URL, so servers that dereference activity ids find it."""
    async def build() -> web.Response:
        ctx = request.app[CONTEXT_KEY]
        async with ctx.sessions() as session:
            row = await session.scalar(select(OutgoingActivity).where(OutgoingActivity.uri == ctx.url(request.path)))
            actor = await session.get(Account, row.actor_id) if row is not None else None
        if row is None or actor is None or actor.status != "active":
            return ap_error(404, "There is no such activity here.")
        doc = json.loads(row.body)
        if s.PUBLIC not in [*_as_list(doc.get("to")), *_as_list(doc.get("cc"))]:
            return ap_error(404, "This activity was not public.")
        return ap_response(doc)

    return await _guarded(request, build)


def _as_list(value: object) -> list:
    return value if isinstance(value, list) else [value]


# --- threads: comments and replies collections -------------------------------------------------------

REPLIES_PAGE = 20
NO_COMMENT = "This comment does not exist or is not public."


def _min_id(request: web.Request) -> int | None:
    return _row_id(request.query.get("min_id", ""))


async def _replies(request: web.Request, base: str, artwork_id: int, parent_id: int | None) -> web.Response:
    """The direct replies to a Note: the Collection, or with ?page=true one page of ids, oldest first."""
    ctx = request.app[CONTEXT_KEY]
    async with ctx.sessions() as session:
        if "page" not in request.query:
            return ap_response(st.replies_collection(base, await threads.count_replies(session, artwork_id, parent_id)))
        after = _min_id(request)
        rows, next_after = await threads.replies(session, artwork_id, parent_id, after=after, limit=REPLIES_PAGE)
    return ap_response(st.replies_page(base, after, [row.uri for row in rows if row.uri], next_after))


@routes.get(urls.ARTWORK_REPLIES_ROUTE)
async def artwork_replies(request: web.Request) -> web.Response:
    async def build() -> web.Response:
        ctx = request.app[CONTEXT_KEY]
        async with ctx.sessions() as session:
            account = await fq.active_local_actor(session, request.match_info["username"])
            number = _row_id(request.match_info["artwork_id"])
            work = await session.get(Artwork, number) if account and number else None
            if account is None or work is None or work.account_id != account.id or not queries.can_view(work, None):
                return ap_error(404, "This artwork does not exist or is not public.")
            base = s.replies_id(s.artwork_id(ctx, work))
        tag_response(request, account_tag(account.id))
        if ctx.url(request.path) != base:
            return ap_redirect(base)  # another spelling of the username: the id is the canonical URL
        return await _replies(request, base, work.id, None)

    return await _guarded(request, build)


async def _public_comment(request: web.Request, ref: str) -> threads.PublicComment | None:
    ctx = request.app[CONTEXT_KEY]
    async with ctx.sessions() as session:
        return await threads.public_comment(session, ctx.url(urls.comment(ref)))


@routes.get(urls.COMMENT_REPLIES_ROUTE)
async def comment_replies(request: web.Request) -> web.Response:
    async def build() -> web.Response:
        found = await _public_comment(request, request.match_info["ref"])
        if found is None:
            return ap_error(404, NO_COMMENT)
        comment: Comment = found.comment
        tag_response(request, account_tag(found.artwork.account_id))
        return await _replies(request, s.replies_id(comment.uri or ""), comment.artwork_id, comment.id)

    return await _guarded(request, build)


async def comment_view(request: web.Request, ref: str) -> web.Response:
    """A local comment as the Note we sent, so peers can fetch a reply's parent and backfill the thread."""
    async def build() -> web.Response:
        found = await _public_comment(request, ref)
        if found is None or not found.comment.account.is_local:
            return ap_error(404, NO_COMMENT)
        ctx = request.app[CONTEXT_KEY]
        tag_response(request, account_tag(found.comment.account_id), account_tag(found.artwork.account_id))
        return ap_response(st.comment_note(ctx, found.comment, found.artwork, found.parent, found.mentioned))

    return await _guarded(request, build)


# --- shared URLs (HTML by default, AP by negotiation) ----------------------------------------------


async def profile_view(request: web.Request, username: str) -> web.Response:
    async with request.app[CONTEXT_KEY].sessions() as session:
        account = await fq.active_local_actor(session, username)
        if account is None:
            return ap_error(404, NO_ACTOR)
        return ap_redirect(s.actor_id(request.app[CONTEXT_KEY], account))


async def note_view(request: web.Request, username: str, artwork_id: str) -> web.Response:
    async def build() -> web.Response:
        ctx = request.app[CONTEXT_KEY]
        async with ctx.sessions() as session:
            account = await fq.active_local_actor(session, username)
            number = _row_id(artwork_id)
            work = await session.get(Artwork, number) if account and number else None
            # Followers-only works need a signed fetch by an accepted follower; until the inbound edge
            # verifies GET signatures they are simply not served.
            if account is None or work is None or work.account_id != account.id or not queries.can_view(work, None):
                return ap_error(404, "This artwork does not exist or is not public.")
            if account.username != username:
                return ap_redirect(s.artwork_id(ctx, work))
            tag_response(request, account_tag(account.id))
            projects = await fq.first_projects(session, [work.id])
            note = serialize_artworks.note_for_artwork(ctx, work, project=projects.get(work.id))
            return ap_response(signed_object(note, s.actor_id(ctx, account), account.ed25519_private_key_pem,
                                             work.edited_at or work.published_at or work.created_at))

    return await _guarded(request, build)


async def project_view(request: web.Request, username: str, project_id: str) -> web.Response:
    async def build() -> web.Response:
        ctx = request.app[CONTEXT_KEY]
        async with ctx.sessions() as session:
            account = await fq.active_local_actor(session, username)
            number = _row_id(project_id)
            project = await session.get(Project, number) if account and number else None
            if account is None or project is None or project.account_id != account.id:
                return ap_error(404, "This project does not exist.")
            if account.username != username:
                return ap_redirect(s.project_id(ctx, account, project))
            tag_response(request, account_tag(account.id))
            works = await fq.visible_project_works(session, project)
            return ap_response(s.project_collection(ctx, account, project, works))

    return await _guarded(request, build)


NEGOTIATED = [
    (urls.PROFILE_PATH, profile_view),
    (urls.ARTWORK_PATH, note_view),
    (urls.PROJECT_PATH, project_view),
    (urls.COMMENT_PATH, comment_view),
]
