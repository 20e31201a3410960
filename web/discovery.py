"""Discovery pages: explore (latest, filters, an opt-in "popular this week"), search, followed tags and
suggested artists. Opted-out artists and blocked or muted accounts never show (cara_fed/queries_discovery)."""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from cara_fed import queries_discovery as discovery
from cara_fed import urls
from cara_fed.context import CONTEXT_KEY
from cara_fed.directory import LookupFailed, split_handle
from cara_fed.models import Account
from cara_fed.services import tag_follows
from cara_fed.taxonomy import FIELDS, MEDIUMS
from cara_fed.text import normalize_tag
from web.auth import require_login
from web.keys import ACCOUNT
from web.pages import cursor
from web.render import render

routes = web.RouteTableDef()
SORTS = ("latest", "popular")


def _choice(request: web.Request, name: str, allowed: tuple[str, ...]) -> str:
    value = request.query.get(name, "").strip()
    if value and value not in allowed:
        raise web.HTTPBadRequest(text=f"“{value[:60]}” is not a {name} this server knows.")
    return value


@routes.get("/explore", name="explore")
async def explore(request: web.Request) -> web.Response:
    viewer = request[ACCOUNT]
    field, medium = _choice(request, "field", FIELDS), _choice(request, "medium", MEDIUMS)
    sort = _choice(request, "sort", SORTS) or "latest"
    tag = normalize_tag(request.query.get("tag", ""))
    async with request.app[CONTEXT_KEY].reads() as session:
        if sort == "popular":
            works = await discovery.popular_this_week(session, viewer, field=field, medium=medium, tag=tag)
            page = None
        else:
            page = await discovery.explore(session, viewer, field=field, medium=medium, tag=tag,
                                           before=cursor(request))
            works = page.items
        suggested = await discovery.suggested_artists(session, viewer) if viewer is not None else []
    filters = {k: v for k, v in (("field", field), ("medium", medium), ("tag", tag), ("sort", sort)) if v}
    more = urlencode({k: v for k, v in filters.items() if k != "sort"})
    return render(request, "explore.html", {
        "works": works, "page": page, "field": field, "medium": medium, "tag": tag, "sort": sort,
        "fields": FIELDS, "mediums": MEDIUMS, "suggested": suggested, "more_query": more},
        headers={"Cache-Control": "no-store"} if viewer is not None else None)


async def _remote_handle(request: web.Request, q: str) -> tuple[Account | None, str]:
    """`@name@host` (or `name@host`): our copy of that account, looked up with WebFinger if need be."""
    ctx = request.app[CONTEXT_KEY]
    try:
        username, domain = split_handle(q)
    except LookupFailed:
        return None, ""
    if domain == ctx.config.server.domain.lower():
        return None, ""
    if request[ACCOUNT] is None:
        return None, "Log in to look up accounts on other servers."
    if ctx.directory is None:
        return None, "Looking up accounts on other servers is not available here."
    try:
        account = await ctx.directory.resolve_handle(username, domain)
    except LookupFailed as exc:
        return None, str(exc)
    return (account if account.discoverable else None), ""


@routes.get("/search", name="search")
async def search(request: web.Request) -> web.Response:
    viewer = request[ACCOUNT]
    q = " ".join(request.query.get("q", "").split())
    if not q:  # no query yet, or only spaces: a prompt (what can be searched), not three empty result blocks
        return render(request, "search.html", {"q": "", "searched": False, "blank": "q" in request.query})
    if len(q) > discovery.SEARCH_MAX:
        raise web.HTTPBadRequest(text=f"Keep searches under {discovery.SEARCH_MAX} characters.")
    remote, lookup_error = (await _remote_handle(request, q)) if q.count("@") >= 1 and "." in q else (None, "")
    async with request.app[CONTEXT_KEY].reads() as session:
        artists = await discovery.search_accounts(session, viewer, q)
        if remote is not None and all(a.id != remote.id for a in artists):
            artists.insert(0, remote)
        tags = await discovery.search_tags(session, q)
        page = await discovery.search_artworks(session, viewer, q, before=cursor(request))
    return render(request, "search.html", {"q": q, "searched": True, "artists": artists, "tags": tags,
                                           "page": page, "lookup_error": lookup_error},
                  headers={"Cache-Control": "no-store"})


@routes.post(r"/tags/{tag}/{action:follow|unfollow}", name="follow_tag")
async def follow_tag(request: web.Request) -> web.Response:
    viewer = require_login(request)
    name = normalize_tag(request.match_info["tag"])
    if not name:
        raise web.HTTPBadRequest(text="That is not a tag.")
    if request.match_info["action"] == "follow":
        await tag_follows.follow(request.app[CONTEXT_KEY], viewer, name)
    else:
        await tag_follows.unfollow(request.app[CONTEXT_KEY], viewer, name)
    raise web.HTTPSeeOther(urls.tag(name))
