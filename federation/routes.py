"""Wire the ActivityPub edge onto the application: documents, discovery, negotiation and the inbox."""

from __future__ import annotations

from aiohttp import web

from cara_fed.context import Context
from federation import job_posts, negotiation
from federation.discovery import wellknown
from federation.outbound import documents


def setup_federation(app: web.Application, ctx: Context) -> None:
    app[negotiation.FED_CTX] = ctx
    app[negotiation.AP_VIEWS] = [*documents.NEGOTIATED, *job_posts.NEGOTIATED]
    # First of all middlewares: an ActivityPub request for a shared URL must never reach a page handler
    # (nor the anonymous page cache, nor the HTML error pages).
    app.middlewares.insert(0, negotiation.middleware)
    app.router.add_routes(documents.routes)
    app.router.add_routes(wellknown.routes)
    try:
        from federation.inbound.inbox import setup_inbox
    except ModuleNotFoundError as exc:
        if exc.name != "federation.inbound.inbox":
            raise  # the inbox exists but is broken: say so instead of serving without it
    else:
        setup_inbox(app, ctx)
