"""Search v2: accounts (with resolve=true, a handle on another server is looked up over WebFinger), statuses
(listed works: title, description, tags) and hashtags, with offset paging as Mastodon does."""

from __future__ import annotations

from aiohttp import web

from cara_fed import queries_discovery
from cara_fed.context import CONTEXT_KEY
from cara_fed.directory import LookupFailed, split_handle
from cara_fed.numbers import clamp
from web.api import entities, entities_statuses
from web.api.base import ApiError, endpoint, reply, viewer
from web.api.views import accounts_json, statuses_json

routes = web.RouteTableDef()
TYPES = ("accounts", "statuses", "hashtags")


def _int(request: web.Request, name: str, default: int, most: int) -> int:
    raw = request.query.get(name, "")
    return clamp(raw, default, most=most)


@routes.get("/api/v2/search")
@endpoint("read:search", user=False, public=True)
async def search(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT_KEY]
    q = request.query.get("q", "").strip()
    if len(q) > queries_discovery.SEARCH_MAX:
        raise ApiError(422, f"Validation failed: keep searches under {queries_discovery.SEARCH_MAX} characters")
    kind = request.query.get("type", "")
    limit = max(1, _int(request, "limit", 20, 40))
    offset = _int(request, "offset", 0, 10_000)
    who = await viewer(request)
    result: dict[str, list] = {"accounts": [], "statuses": [], "hashtags": []}
    if not q:
        return reply(result)
    async with ctx.sessions() as session:
        if kind in ("", "accounts"):
            people = []
            wants_resolve = request.query.get("resolve", "") in ("true", "1") and who is not None
            if wants_resolve and "@" in q.lstrip("@") and ctx.directory is not None and offset == 0:
                try:
                    username, domain = split_handle(q)
                    if domain != ctx.config.server.domain.lower():
                        people.append(await ctx.directory.resolve_handle(username, domain))
                except LookupFailed:
                    pass
            found = await queries_discovery.search_accounts(session, who, q, limit=offset + limit)
            people += [a for a in found[offset:] if all(a.id != p.id for p in people)]
            result["accounts"] = await accounts_json(request, session, people[:limit])
        if kind in ("", "statuses"):
            page = await queries_discovery.search_artworks(session, who, q, limit=offset + limit)
            result["statuses"] = await statuses_json(request, session, page.items[offset:offset + limit])
        if kind in ("", "hashtags"):
            tags = await queries_discovery.search_tags(session, q.lstrip("#"), limit=offset + limit)
            view = entities.View.of(ctx.config)
            result["hashtags"] = [entities_statuses.tag(view, tag, uses=count)
                                  for tag, count in tags[offset:offset + limit]]
    return reply(result)
