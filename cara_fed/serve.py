"""`cara-fed serve`: one web process, or several sharing the port ([server] processes).

With several, the database is migrated once up front, then N processes each bind the port with
SO_REUSEPORT (the kernel spreads connections across them) and run their own event loop, context and
inbox batcher. Only the first runs the embedded worker, so jobs are consumed once. In-process caches are
per process: page and lookup caches carry short TTLs for that reason (cache.py, federation/inbox_cache.py).
The first process supervises the others: it stops them when it stops, and they die with it.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import logging
import os
import signal
import sys
from dataclasses import replace
from typing import Any

from cara_fed.config import Config

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1


def process_count(config: Config) -> int:
    if config.server.processes:
        return config.server.processes
    try:
        return len(os.sched_getaffinity(0))  # the cores this process may use, not all of the machine's
    except AttributeError:
        return os.cpu_count() or 1


def serve(config: Config) -> int:
    processes = process_count(config)
    if processes > 1:
        _share_metrics(config)  # before anything imports prometheus-client
    from aiohttp import web

    from cara_fed.app import create_app

    if processes > 1 and not hasattr(os, "fork"):
        log.warning("several web processes need fork(); serving with one")
        processes = 1
    migrate: bool | None = None
    if processes > 1:
        _migrate(config)
        migrate = False
    print(f"cara-fed serving {config.base_url} on http://{config.server.host}:{config.server.port}"
          f"{f' with {processes} processes' if processes > 1 else ''}", flush=True)
    children = [_fork_child(config) for _ in range(processes - 1)]
    try:
        web.run_app(_with_quiet_gc(create_app(config, migrate=migrate)), host=config.server.host,
                    port=config.server.port, reuse_port=processes > 1 or None, print=None, access_log=None)
    finally:
        _stop(children)
    return 0


def _share_metrics(config: Config) -> None:
    """Several processes: each writes its counters to files in one folder and any of them can sum them for
    /metrics. Must happen before prometheus-client is imported; an operator's own folder is kept."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    folder = config.data_path / "metrics"
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):  # counters of a previous run would otherwise be added in
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


def _with_quiet_gc(app: Any) -> Any:
    """Once started, move everything loaded so far (modules, compiled SQL and template caches) out of the
    collector's sight and collect the young generations less often: full collections over that long-lived
    heap were the 100-200 ms pauses in bench/feed.py's slowest requests."""
    async def freeze(_app: Any) -> None:
        gc.collect()
        gc.freeze()
        gc.set_threshold(20_000, 20, 20)

    app.on_startup.append(freeze)
    return app


def _migrate(config: Config) -> None:
    from cara_fed.db import make_engine
    from cara_fed.migrate import upgrade

    config.data_path.mkdir(parents=True, exist_ok=True)  # the SQLite file lives there

    async def run() -> None:
        engine = make_engine(config.database_url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())


def _fork_child(config: Config) -> int:
    """A web process without the embedded worker; exits when the first process dies."""
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        _die_with_parent()
        from aiohttp import web

        from cara_fed.app import create_app

        child = replace(config, jobs=replace(config.jobs, embedded_worker=False))
        web.run_app(_with_quiet_gc(create_app(child, migrate=False)), host=config.server.host,
                    port=config.server.port, reuse_port=True, print=None, access_log=None)
        code = 0
    except BaseException:  # never return into the parent's code path from a forked child
        log.exception("web process %s failed", os.getpid())
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _die_with_parent() -> None:
    # Linux: a SIGKILLed parent must not leave children holding the port.
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def _stop(children: list[int]) -> None:
    for pid in children:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for pid in children:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
