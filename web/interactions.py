"""Likes, boosts, bookmarks, comments and the comment setting on an artwork's page, and the saved-works page.
Every action is a small CSRF-protected form that redirects back to the artwork (works without JavaScript)."""

from __future__ import annotations

from aiohttp import web

from cara_fed import queries_social
from cara_fed.context import CONTEXT_KEY
from cara_fed.models import Artwork
from cara_fed.numbers import parse_id
from cara_fed.services import comments, interactions
from web import forms
from web.auth import require_login
from web.pages import cursor
from web.render import artwork_path, render

routes = web.RouteTableDef()


async def _back(request: web.Request, anchor: str = "social") -> web.HTTPSeeOther:
    async with request.app[CONTEXT_KEY].sessions() as session:
        work = await session.get(Artwork, forms.path_id(request, "artwork_id"))
    if work is None:
        raise web.HTTPNotFound(text="This artwork does not exist.")
    return web.HTTPSeeOther(f"{artwork_path(work)}#{anchor}")


@routes.post(r"/artworks/{artwork_id:\d{1,9}}/{action:like|unlike|boost|unboost}", name="interact")
async def interact(request: web.Request) -> web.Response:
    account = require_login(request)
    action = request.match_info["action"]
    kind = "like" if action.endswith("like") else "boost"
    artwork_id = forms.path_id(request, "artwork_id")
    if action.startswith("un"):
        await interactions.remove(request.app[CONTEXT_KEY], kind, account, artwork_id)
    else:
        await interactions.add(request.app[CONTEXT_KEY], kind, account, artwork_id)
    raise await _back(request)


@routes.post(r"/artworks/{artwork_id:\d{1,9}}/{action:bookmark|unbookmark}", name="bookmark")
async def bookmark(request: web.Request) -> web.Response:
    account = require_login(request)
    await interactions.bookmark(request.app[CONTEXT_KEY], account, forms.path_id(request, "artwork_id"),
                                request.match_info["action"] == "bookmark")
    raise await _back(request)


@routes.post(r"/artworks/{artwork_id:\d{1,9}}/comments", name="comment")
async def comment(request: web.Request) -> web.Response:
    account = require_login(request)
    form = await request.post()
    parent = forms.text(form, "parent_id")
    parent_id = parse_id(parent) if parent else None
    if parent and parent_id is None:
        raise web.HTTPBadRequest(text="The comment you reply to must be given by its number.")
    made = await comments.post(request.app[CONTEXT_KEY], account, forms.path_id(request, "artwork_id"),
                               forms.text(form, "content"), parent_id)
    raise await _back(request, f"comment-{made.id}")


@routes.post(r"/comments/{comment_id:\d{1,9}}/delete", name="delete_comment")
async def delete_comment(request: web.Request) -> web.Response:
    account = require_login(request)
    ctx = request.app[CONTEXT_KEY]
    async with ctx.sessions() as session:
        found = await session.get(comments.Comment, forms.path_id(request, "comment_id"))
        work = await session.get(Artwork, found.artwork_id) if found is not None else None
    await comments.delete(ctx, account, forms.path_id(request, "comment_id"))
    raise web.HTTPSeeOther(f"{artwork_path(work)}#comments" if work is not None else "/")


@routes.get(r"/comments/{ref:\d{1,9}-[0-9a-f]{8}}", name="comment_page")
async def comment_page(request: web.Request) -> web.Response:
    """A comment's own address (its Note id for other servers) leads people to it under the artwork."""
    ctx = request.app[CONTEXT_KEY]
    async with ctx.sessions() as session:
        found = await session.get(comments.Comment, int(request.match_info["ref"].split("-", 1)[0]))
        if found is not None and found.uri != ctx.url(request.path):
            found = None  # an id reused after a deletion: not the comment this address named
        work = await session.get(Artwork, found.artwork_id) if found is not None and found.state == "visible" else None
    if work is None:
        raise web.HTTPNotFound(text="This comment does not exist.")
    raise web.HTTPSeeOther(f"{artwork_path(work)}#comment-{found.id}")


@routes.post(r"/artworks/{artwork_id:\d{1,9}}/comment-policy", name="comment_policy")
async def comment_policy(request: web.Request) -> web.Response:
    account = require_login(request)
    form = await request.post()
    await comments.set_policy(request.app[CONTEXT_KEY], account, forms.path_id(request, "artwork_id"),
                              forms.text(form, "comment_policy"))
    raise await _back(request, "comments")


@routes.get("/bookmarks", name="bookmarks")
async def bookmarks(request: web.Request) -> web.Response:
    account = require_login(request)
    async with request.app[CONTEXT_KEY].sessions() as session:
        page = await queries_social.bookmarks(session, account, before=cursor(request))
    return render(request, "bookmarks.html", {"page": page}, headers={"Cache-Control": "no-store"})
