"""Composition root for `serve`: one Context, the web and federation edges, the embedded worker."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from cara_fed import http_log, memory, observe
from cara_fed.config import Config
from cara_fed.context import CONTEXT_KEY, Context
from cara_fed.migrate import upgrade
from cara_fed.queue import QUEUES, InlineJobs
from cara_fed_run.worker import Worker, build_full_registry, recover_after_restart, wire_jobs, worker_name
from federation.directory import FederationDirectory
from federation.routes import setup_federation
from web import backpressure, static_assets
from web.routes import setup_web

log = logging.getLogger(__name__)



def create_app(config: Config, *, jobs: str = "queue", migrate: bool | None = None) -> web.Application:
    """Build the server. jobs="queue" uses huey (worker embedded when configured); "inline" runs each job
    right after its transaction commits (tests, demo)."""
    ctx = Context.create(config)
    http_log.quiet_client_errors()  # a 400 for an 8 KB+ URL is the client's error, not a traceback of ours
    uploads = (config.media.max_upload_mb * config.media.max_images_per_artwork + 2) * 1024 * 1024
    # A portfolio archive import (web/portability.py) may be larger than a full artwork upload.
    app = web.Application(client_max_size=max(uploads, (config.portability.archive_max_mb + 1) * 1024 * 1024))
    app[CONTEXT_KEY] = ctx
    setup_web(app, ctx)
    setup_federation(app, ctx)
    ctx.directory = FederationDirectory(ctx)
    # gzip outside every layer that reads or keeps a body (ETags, the ActivityPub document cache): they all see
    # the plain bytes, and the body is compressed once, on its way out.
    app.middlewares.insert(0, static_assets.compress)
    # Outermost of all: every later layer (limits, logs, error pages) sees the real client and request id.
    app.middlewares.insert(0, observe.middleware(observe.parse_networks(config.server.trusted_proxies)))
    # Next: a request over the in-flight cap is answered 503 before it costs a session lookup or a query.
    shed = backpressure.middleware(config.server.max_inflight_requests, config.server.inflight_wait_ms)
    if shed is not None:
        app.middlewares.insert(1, shed)
    should_migrate = config.database_url.startswith("sqlite") if migrate is None else migrate

    async def on_startup(app: web.Application) -> None:
        if should_migrate:
            await upgrade(ctx.engine)
        if jobs == "inline":
            ctx.jobs = InlineJobs(build_full_registry(), lambda: ctx)
            return
        huey_jobs = wire_jobs(ctx, build_full_registry())
        if config.jobs.embedded_worker:
            memory.keep_big_allocations_returnable()
            ctx.worker_name = worker_name(config, QUEUES, embedded=True)
            huey_jobs.attach(ctx, asyncio.get_running_loop())
            worker = Worker(huey_jobs, QUEUES, config.jobs.worker_threads, embedded=True)
            worker.start()
            app[WORKER_KEY] = worker
            log.info("embedded worker started for queues %s (as %s)", ", ".join(QUEUES), ctx.worker_name)
            # In the background: serving must not wait for it, and a failure is logged, never fatal.
            app[RECOVERY_KEY] = asyncio.create_task(_recover(ctx))

    async def on_cleanup(app: web.Application) -> None:
        worker = app.get(WORKER_KEY)
        if worker is not None:
            await asyncio.to_thread(worker.stop)
        await ctx.close()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app


WORKER_KEY = web.AppKey("worker", Worker)
RECOVERY_KEY = web.AppKey("recovery", asyncio.Task)


async def _recover(ctx: Context) -> None:
    try:
        await recover_after_restart(ctx)
    except Exception:
        log.exception("re-queueing unfinished work after a restart failed; the periodic sweep will do it")
