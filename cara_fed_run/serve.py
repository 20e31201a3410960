"""`cara-fed serve`: one web process, or several under gunicorn ([server] processes; cara_fed_run/web_processes.py).

One process serves with aiohttp's own runner and migrates SQLite itself. With several, gunicorn's master
migrates once, binds the port and forks the processes; each runs its own event loop, context and inbox
batcher, and only the one in slot 0 runs the embedded worker, so jobs are consumed once. In-process caches are
per process: page and lookup caches carry short TTLs for that reason (cache.py, federation/inbound/cache.py).
"""

from __future__ import annotations

import gc
import logging
import os
from dataclasses import replace
from typing import Any

from cara_fed.config import Config

log = logging.getLogger(__name__)


def process_count(config: Config) -> int:
    if config.server.processes:
        return config.server.processes
    try:
        return len(os.sched_getaffinity(0))  # the cores this process may use, not all of the machine's
    except AttributeError:
        return os.cpu_count() or 1


def serve(config: Config) -> int:
    processes = process_count(config)
    if processes > 1 and not hasattr(os, "fork"):
        log.warning("several web processes need fork() (gunicorn); serving with one")
        processes = 1
    print(f"cara-fed serving {config.base_url} on http://{config.server.host}:{config.server.port}"
          f"{f' with {processes} processes' if processes > 1 else ''}", flush=True)
    if processes > 1:
        from cara_fed_run import web_processes

        return web_processes.run(config, processes)  # sets up shared metrics before anything imports them
    from aiohttp import web

    from cara_fed_run.app import create_app

    web.run_app(with_quiet_gc(create_app(config)), host=config.server.host, port=config.server.port,
                print=None, access_log=None)
    return 0


async def gunicorn_app() -> Any:
    """gunicorn's entry (`cara_fed_run.serve:gunicorn_app` with `-c python:cara_fed_run.gunicorn_conf`): the app of one
    web process. The master has migrated; the embedded worker runs only in slot 0."""
    from cara_fed_run.app import create_app
    from cara_fed_run.web_processes import SLOT_ENV, current_config, runs_embedded_worker

    config = current_config()
    if SLOT_ENV not in os.environ:  # gunicorn without our hooks: nobody migrated, no process may run the worker
        log.warning("gunicorn was started without -c python:cara_fed_run.gunicorn_conf: the database is not migrated "
                    "and no embedded worker runs (docs/deploy.md)")
    if config.jobs.embedded_worker and not runs_embedded_worker(config):
        config = replace(config, jobs=replace(config.jobs, embedded_worker=False))
    return with_quiet_gc(create_app(config, migrate=False))


def with_quiet_gc(app: Any) -> Any:
    """Once started, move everything loaded so far (modules, compiled SQL and template caches) out of the
    collector's sight and collect the young generations less often: full collections over that long-lived
    heap were the 100-200 ms pauses in bench/feed.py's slowest requests."""
    async def freeze(_app: Any) -> None:
        gc.collect()
        gc.freeze()
        gc.set_threshold(20_000, 20, 20)

    app.on_startup.append(freeze)
    return app
