"""Statuses: an artwork is a status with its images as media; a reply to an artwork (or to a comment on it) is a
comment. Posting, reading, editing, deleting, the thread (context), likes (favourites), boosts (reblogs),
bookmarks and pins all go through the same services the pages use.

How a post becomes an artwork (docs/api.md): the title is `cara[title]` when given, else the first line of
`status` (trailing hashtags dropped, cut at 200 characters), else "Untitled"; the rest of the text is the
description (Markdown); every #hashtag and `cara[tags]` become tags; `spoiler_text` is the content warning and
marks the work sensitive; visibility public / unlisted / private (= followers only); `cara[field]`,
`cara[medium]`, `cara[license]`, `cara[noai]`, `cara[software]` set our fields (NoAI defaults to the account's
choice). Text-only posts and direct messages are refused (422): a work needs at least one image.
"""

from __future__ import annotations

import re

from aiohttp import web
from sqlalchemy import select

from cara_fed import queries, queries_social
from cara_fed.models import Account, Artwork, Boost, Comment, Like, MediaAsset
from cara_fed.numbers import parse_id
from cara_fed.services import artwork_history, artworks, client_state, comments, interactions
from cara_fed.services.artworks import MAX_TEXT, ArtworkInput
from cara_fed.services.comments import HASHTAG_RE
from cara_fed.taxonomy import LICENSES
from web.api import entities, entities_statuses
from web.api.base import ApiError, Params, endpoint, me, not_found, params, reply, unprocessable, viewer
from web.api.views import accounts_json, view_for
from web.keys import CTX

routes = web.RouteTableDef()
ID = r"{status_id:\d+}"
VISIBILITIES = {"public": "public", "unlisted": "unlisted", "private": "followers"}
TITLE_MAX = 200


# --- turning a post into an artwork --------------------------------------------------------------


def derive_title(text: str) -> tuple[str, str]:
    """(title, description) from a post's text: the first line is the title, the rest the description."""
    lines = text.strip().splitlines()
    if not lines:
        return "", ""
    first, rest = lines[0].strip(), "\n".join(lines[1:]).strip()
    title = re.sub(r"(\s+#\w+)+\s*$", "", first).strip()
    if title.startswith("#") and all(word.startswith("#") for word in title.split()):
        title = ""  # a line of hashtags only is no title
    if len(title) > TITLE_MAX:
        cut = title[: TITLE_MAX - 1].rsplit(" ", 1)[0]
        return cut + "…", text.strip()  # the full line stays readable in the description
    return title, rest


def _cara_tags(cara: Params) -> list[str]:
    raw = cara.list("tags")
    if len(raw) == 1 and isinstance(raw[0], str) and "," in raw[0]:
        raw = raw[0].split(",")
    return [str(t) for t in raw]


def artwork_input(p: Params, text: str, account: Account, current: Artwork | None = None) -> ArtworkInput:
    cara = p.nested("cara")
    title, description = derive_title(text)
    if current is not None and not p.has("status"):
        title, description = current.title, current.description
    title = cara.text("title") or title or (current.title if current is not None else "") or "Untitled"
    tags = [m.group(1) for m in HASHTAG_RE.finditer(text)] + _cara_tags(cara)
    if current is not None and not p.has("status") and not cara.has("tags"):
        tags = current.tag_names
    visibility = p.text("visibility") or ("" if current is None else next(
        (k for k, v in VISIBILITIES.items() if v == current.visibility), "public"))
    if visibility == "direct":
        raise unprocessable("Direct messages are not offered here: post to public, unlisted or private (followers)")
    if visibility and visibility not in VISIBILITIES:
        raise unprocessable(f"Visibility must be one of {', '.join(VISIBILITIES)}")
    license_ = cara.text("license") or (current.license if current is not None else "all-rights-reserved")
    if license_ not in LICENSES:
        raise unprocessable(f"Unknown licence; choose one of: {', '.join(LICENSES)}")
    spoiler = p.text("spoiler_text") if p.has("spoiler_text") else (current.content_warning if current else "")
    default_noai = current.noai if current is not None else account.noai_default
    if cara.flag("cloak", False) and (current is None or not current.cloak):
        # The cloak is made with the derivatives, when the image is processed; an API upload is processed
        # before its post exists, so cloaking stays a choice of the upload form for now.
        raise unprocessable("Cloaking is chosen when uploading on the web (Upload, Cloak this work); posts from "
                            "apps are not cloaked yet")
    software = cara.list("software")
    return ArtworkInput(
        title=title, description=description, tags=tags,
        field=cara.text("field") if cara.has("field") else (current.field if current else ""),
        medium=cara.text("medium") if cara.has("medium") else (current.medium if current else ""),
        software=[str(s) for s in software] if cara.has("software") else list(current.software if current else []),
        content_warning=spoiler,
        sensitive=bool(p.flag("sensitive", current.sensitive if current else False)) or bool(spoiler),
        license=license_, visibility=VISIBILITIES.get(visibility or "public", "public"),
        noai=bool(cara.flag("noai", default_noai)))


def _media_ids(p: Params) -> list[int]:
    ids = []
    for raw in p.list("media_ids"):
        number = parse_id(raw)
        if number is None:
            raise unprocessable(f"Media {str(raw)[:30]} is not one of your uploads")
        ids.append(number)
    return ids


# --- loading and rendering -----------------------------------------------------------------------


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
    async with request.app[CTX].sessions() as session:
        kind, work, comment = await load(request, session, raw_id)
        if comment is not None:
            return await render_comment(request, session, comment, work)
        view = await view_for(request, session, artworks=[work])
        return entities_statuses.status(view, work)


# --- endpoints -----------------------------------------------------------------------------------


@routes.post("/api/v1/statuses")
@endpoint("write:statuses")
async def create(request: web.Request) -> web.Response:
    account = await me(request)
    ctx = request.app[CTX]
    p = await params(request)
    text = p.text("status")
    if len(text) > MAX_TEXT:
        raise unprocessable(f"Text character limit of {MAX_TEXT} exceeded")
    if p.has("poll") or any(k.startswith("poll[") for k in p.values):
        raise unprocessable("Polls are not offered here")
    if p.text("scheduled_at"):
        raise unprocessable("Scheduled posts are not offered here")
    media_ids = _media_ids(p)
    reply_to = p.text("in_reply_to_id")

    async def make() -> str:
        if reply_to:
            async with ctx.sessions() as session:
                kind, work, parent = await load(request, session, reply_to)
            if media_ids:
                raise unprocessable("Comments cannot carry images; post the images as a new work")
            comment = await comments.post(ctx, account, work.id, text, parent.id if parent else None)
            return f"comment:{comment.id}"
        if not media_ids:
            raise unprocessable("A work needs at least one image: upload it with POST /api/v2/media and pass "
                                "media_ids[]")
        work = await artworks.create_from_media(ctx, account, artwork_input(p, text, account), media_ids)
        return f"artwork:{work.id}"

    made = await client_state.once(ctx, account, request.headers.get("Idempotency-Key", ""), make)
    kind, number = made.split(":")
    raw_id = entities.comment_status_id(int(number)) if kind == "comment" else number
    return reply(await render(request, raw_id))


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
    async with request.app[CTX].sessions() as session:
        kind, work, comment = await load(request, session, request.match_info["status_id"])
    if comment is not None:
        if comment.account_id != account.id:
            raise not_found()
        return reply({"id": entities.comment_status_id(comment.id), "text": comment.content, "spoiler_text": ""})
    if work.account_id != account.id:
        raise not_found()
    return reply(entities_statuses.source(work))


@routes.put(rf"/api/v1/statuses/{ID}")
@endpoint("write:statuses")
async def edit(request: web.Request) -> web.Response:
    account = await me(request)
    ctx = request.app[CTX]
    p = await params(request)
    text = p.text("status")
    if len(text) > MAX_TEXT:
        raise unprocessable(f"Text character limit of {MAX_TEXT} exceeded")
    async with ctx.sessions() as session:
        kind, work, comment = await load(request, session, request.match_info["status_id"])
    if comment is not None and comment.account_id == account.id:
        raise unprocessable("Comments cannot be edited; delete it and comment again")
    if comment is not None or work.account_id != account.id:
        raise ApiError(403, "This action is not allowed")
    by_asset = {image.asset_id: image for image in work.images}
    if p.has("media_ids") and set(_media_ids(p)) != set(by_asset):
        raise unprocessable("An artwork's images cannot be changed through an edit; delete it and post again")
    alts: dict[int, str] = {}
    for attributes in p.indexed("media_attributes"):
        asset_id = attributes.text("id")
        number = parse_id(asset_id)
        if number is None or number not in by_asset:
            raise unprocessable(f"Media {asset_id[:20]} is not part of this post")
        if attributes.has("description"):
            alts[by_asset[number].id] = attributes.text("description")
    await artworks.update_artwork(ctx, account, work.id, artwork_input(p, text, account, current=work), alts)
    return reply(await render(request, str(work.id)))


@routes.delete(rf"/api/v1/statuses/{ID}")
@endpoint("write:statuses")
async def delete(request: web.Request) -> web.Response:
    account = await me(request)
    ctx = request.app[CTX]
    raw = request.match_info["status_id"]
    data = await render(request, raw)
    async with ctx.sessions() as session:
        kind, work, comment = await load(request, session, raw)
    if comment is not None:
        await comments.delete(ctx, account, comment.id)
        data["text"] = comment.content
    else:
        if work.account_id != account.id:
            raise ApiError(403, "This action is not allowed")
        data["text"] = entities_statuses.source(work)["text"]
        await artworks.delete_artwork(ctx, account, work.id)
    return reply(data)


@routes.get(rf"/api/v1/statuses/{ID}/context")
@endpoint("read:statuses", user=False, public=True)
async def context(request: web.Request) -> web.Response:
    """An artwork's comments are its descendants (threaded, oldest first); a comment's ancestors are the artwork
    and the comments above it."""
    async with request.app[CTX].sessions() as session:
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


async def _artwork_for_action(request: web.Request) -> Artwork:
    async with request.app[CTX].sessions() as session:
        kind, work, comment = await load(request, session, request.match_info["status_id"])
    if comment is not None:
        raise unprocessable("Only artworks can be liked, boosted, bookmarked or pinned, not comments")
    return work


@routes.post(rf"/api/v1/statuses/{ID}/{{action:favourite|unfavourite}}")
@endpoint("write:favourites")
async def favourite(request: web.Request) -> web.Response:
    account = await me(request)
    work = await _artwork_for_action(request)
    if request.match_info["action"] == "favourite":
        await interactions.add(request.app[CTX], "like", account, work.id)
    else:
        await interactions.remove(request.app[CTX], "like", account, work.id)
    return reply(await render(request, str(work.id)))


@routes.post(rf"/api/v1/statuses/{ID}/{{action:reblog|unreblog}}")
@endpoint("write:statuses")
async def boost(request: web.Request) -> web.Response:
    account = await me(request)
    ctx = request.app[CTX]
    work = await _artwork_for_action(request)
    if request.match_info["action"] == "unreblog":
        await interactions.remove(ctx, "boost", account, work.id)
        return reply(await render(request, str(work.id)))
    await interactions.add(ctx, "boost", account, work.id)
    inner = await render(request, str(work.id))
    async with ctx.sessions() as session:
        row = await session.scalar(select(Boost).where(Boost.account_id == account.id, Boost.artwork_id == work.id))
        view = await view_for(request, session, accounts=[account])
    if row is None:
        raise not_found()
    return reply(entities_statuses.reblog(view, row.id, account, row.created_at, inner))


@routes.post(rf"/api/v1/statuses/{ID}/{{action:bookmark|unbookmark}}")
@endpoint("write:bookmarks")
async def bookmark(request: web.Request) -> web.Response:
    work = await _artwork_for_action(request)
    await interactions.bookmark(request.app[CTX], await me(request), work.id,
                                request.match_info["action"] == "bookmark")
    return reply(await render(request, str(work.id)))


@routes.post(rf"/api/v1/statuses/{ID}/{{action:pin|unpin}}")
@endpoint("write:accounts")
async def pin(request: web.Request) -> web.Response:
    account = await me(request)
    work = await _artwork_for_action(request)
    if work.account_id != account.id:
        raise unprocessable("You can only pin your own works")
    await artworks.set_pinned(request.app[CTX], account, work.id, request.match_info["action"] == "pin")
    return reply(await render(request, str(work.id)))


@routes.post(rf"/api/v1/statuses/{ID}/{{action:mute|unmute}}")
@endpoint("write:mutes")
async def mute_conversation(request: web.Request) -> web.Response:
    await _artwork_for_action(request)
    raise unprocessable("Muting a conversation is not offered here; turn comment notifications into read ones instead")


@routes.get(rf"/api/v1/statuses/{ID}/{{who:favourited_by|reblogged_by}}")
@endpoint("read:accounts", user=False, public=True)
async def interacted_by(request: web.Request) -> web.Response:
    model = Like if request.match_info["who"] == "favourited_by" else Boost
    async with request.app[CTX].sessions() as session:
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
    async with request.app[CTX].sessions() as session:
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
