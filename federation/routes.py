"""Wire the ActivityPub edge onto the application (placeholder until the documents module lands)."""

from __future__ import annotations

from aiohttp import web

from cara_fed.context import Context


def setup_federation(app: web.Application, ctx: Context) -> None:
    return None
