"""The Mastodon-compatible client API (and OAuth 2) plus our extensions under /api/cara/v1/.

Each module holds one area's endpoints; entities.py and its entities_*.py families are the only place Mastodon
JSON is built; base.py has what they share (tokens and scopes, errors, CORS, rate limits, parameters, pagination)."""

from __future__ import annotations

from aiohttp import web

from cara_fed.context import Context
from cara_fed.ratelimit import shared_limiter
from web.api import (
    accounts,
    base,
    cara,
    instance,
    media,
    misc,
    notifications,
    oauth,
    search,
    statuses,
    statuses_actions,
    statuses_posting,
    timelines,
)
from web.api.oauth_server import Server
from web.api.streaming import setup_streaming


def setup_api(app: web.Application, ctx: Context) -> None:
    limit = ctx.config.api.requests_per_5_minutes
    app[base.LIMITER] = base.RateLimiter(limit, shared=shared_limiter(ctx.config, "api", limit, base.WINDOW))
    app[oauth.SERVER] = Server(ctx)
    app.middlewares.append(base.api_middleware)
    for module in (oauth, instance, accounts, statuses, statuses_posting, statuses_actions, media, timelines,
                   notifications, search, misc, cara):
        app.router.add_routes(module.routes)
    setup_streaming(app, ctx)
