"""Operator endpoints: /livez, /readyz and /metrics (Prometheus)."""

from __future__ import annotations

import hmac

from aiohttp import web

from cara_fed import health, metrics
from cara_fed.context import CONTEXT_KEY
from cara_fed.observe import client_address, parse_networks

routes = web.RouteTableDef()
NO_STORE = {"Cache-Control": "no-store"}


@routes.get("/livez")
async def livez(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"}, headers=NO_STORE)


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    checks = await health.readiness(request.app[CONTEXT_KEY])
    ready = all(result == "ok" for result in checks.values())
    return web.json_response({"status": "ok" if ready else "unavailable", "checks": checks},
                             status=200 if ready else 503, headers=NO_STORE)


@routes.get("/metrics")
async def metrics_page(request: web.Request) -> web.Response:
    config = request.app[CONTEXT_KEY].config.metrics
    if not config.enabled:
        raise web.HTTPNotFound()
    if not _may_read(request):
        return web.Response(status=403, text="Metrics are open to the addresses in [metrics] allowed, or with "
                            "[metrics] token as a Bearer token.\n", headers=NO_STORE)
    body = await metrics.exposition(request.app[CONTEXT_KEY])
    return web.Response(body=body, headers={**NO_STORE, "Content-Type": metrics.CONTENT_TYPE})


def _may_read(request: web.Request) -> bool:
    config = request.app[CONTEXT_KEY].config.metrics
    token = config.token
    sent = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return True
    return parse_networks(config.allowed).trusts(client_address(request))
