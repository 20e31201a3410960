"""Wire the ActivityPub edge onto the application: documents, discovery, negotiation and the inbox."""

from __future__ import annotations

from aiohttp import web

from cara_fed.context import CONTEXT_KEY, Context
from federation import negotiation
from federation.discovery import wellknown
from federation.inbound.inbox import setup_inbox
from federation.outbound import documents, job_posts


def setup_federation(app: web.Application, ctx: Context) -> None:
    app[CONTEXT_KEY] = ctx
    app[negotiation.AP_VIEWS] = [*documents.NEGOTIATED, *job_posts.NEGOTIATED]
    # First of all middlewares: an ActivityPub request for a shared URL must never reach a page handler
    # (nor the anonymous page cache, nor the HTML error pages).
    app.middlewares.insert(0, negotiation.middleware)
    app.router.add_routes(documents.routes)
    app.router.add_routes(wellknown.routes)
    setup_inbox(app, ctx)
