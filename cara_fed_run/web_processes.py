"""Several web processes under gunicorn (its aiohttp worker), from `cara-fed serve` or gunicorn's own command.

gunicorn's master forks the processes, restarts one that dies and stops them all together (SIGTERM: graceful,
each finishes its requests; a killed master's processes notice within a second and exit). Each process binds
the port itself with SO_REUSEPORT (TCP), so the kernel spreads connections evenly over them.
What we add through its hooks, in the master before any fork:
- the database is migrated once, not by N processes racing;
- metric files are shared (PROMETHEUS_MULTIPROC_DIR) before prometheus-client is imported, so /metrics from any
  process sums them all;
- each process gets a slot number (0..N-1, reused when one is replaced): the embedded worker, when
  configured, runs in slot 0 only, so jobs are consumed by one process.

`cara-fed serve` with `[server] processes` > 1 runs this in-process; `gunicorn -c python:cara_fed_run.gunicorn_conf
cara_fed_run.serve:gunicorn_app` is the same for a process manager (docs/deploy.md).
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from cara_fed.config import Config

log = logging.getLogger(__name__)

WORKER_CLASS = "aiohttp.GunicornWebWorker"
SLOT_ENV = "CARA_FED_WEB_SLOT"  # set in each forked web process by post_fork
_config: Config | None = None  # what the master was started with; forked processes inherit it


def current_config() -> Config:
    """The configuration of this web process: the master's (inherited over fork), else loaded afresh."""
    if _config is None:
        from cara_fed.config import load_config

        return load_config(None)
    return _config


def runs_embedded_worker(config: Config) -> bool:
    """Only the process in slot 0 consumes jobs (and only if the embedded worker is on at all)."""
    return config.jobs.embedded_worker and os.environ.get(SLOT_ENV) == "0"


def bind_address(config: Config) -> str:
    host = config.server.host
    return f"[{host}]:{config.server.port}" if ":" in host else f"{host}:{config.server.port}"


def gunicorn_settings(config: Config, processes: int) -> dict[str, Any]:
    """gunicorn's settings and hooks for this configuration. Call before anything imports prometheus-client."""
    global _config
    _config = config
    share_metrics(config)
    return {
        "bind": [bind_address(config)],
        "workers": processes,
        "worker_class": WORKER_CLASS,
        # Each process listens on a socket of its own (SO_REUSEPORT) and the kernel spreads new connections over
        # them. On one shared socket asyncio accepts up to 128 waiting connections per wake-up, and under a burst
        # of keep-alive clients one process took them all (5,311 requests against 1 in a wrk run).
        "reuse_port": True,
        "preload_app": True,  # import the code once in the master; each process builds its own app after fork
        "graceful_timeout": 30,  # SIGTERM: in-flight requests get this long
        "timeout": 60,  # a process whose event loop stops answering this long is replaced
        # gunicorn >= 25's runtime control socket lives in $HOME by default: two instances on one host would share
        # it, and nothing of ours uses it (older versions ignore the setting).
        "control_socket_disable": True,
        "accesslog": None,  # our own access log (cara_fed.access) has the client address and request id
        "logger_class": _logger_class(),
        "on_starting": _on_starting,
        "pre_fork": _pre_fork,
        "post_fork": _post_fork,
        "child_exit": _child_exit,
    }


def _logger_class() -> type:
    from gunicorn.glogging import Logger

    class ThroughOurLogs(Logger):  # type: ignore[misc]
        """gunicorn's own lines (a process booting, exiting, replaced) go through our root handlers, so they have
        the same layout as ours: one JSON object a line with [server] log_format = "json"."""

        def setup(self, cfg: Any) -> None:
            super().setup(cfg)
            for handler in list(self.error_log.handlers):
                self.error_log.removeHandler(handler)
            self.error_log.propagate = True

    return ThroughOurLogs


def share_metrics(config: Config) -> None:
    """Each process writes its counters to files in one folder and any of them can sum them for /metrics. Must
    happen before prometheus-client is imported; an operator's own folder (systemd units) is kept."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    folder = config.data_path / "metrics"
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):  # counters of a previous run would otherwise be added in
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


def migrate(config: Config) -> None:
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


def preload() -> Any:
    """In the master (preload_app): import the code once, so the forked processes share it and start quickly."""
    import cara_fed_run.app  # noqa: F401
    from cara_fed_run.serve import gunicorn_app  # late: cara_fed_run.serve imports this module

    return gunicorn_app


# --- gunicorn hooks (master side, except post_fork) ------------------------------------------------------------

def _on_starting(server: Any) -> None:
    if any(not _is_tcp(address) for address in server.cfg.bind):
        server.cfg.set("reuse_port", False)  # a Unix socket (--bind unix:…) is one path: it must be shared
    migrate(current_config())


def _is_tcp(address: str) -> bool:
    return not address.startswith(("unix:", "fd://"))


def _pre_fork(server: Any, worker: Any) -> None:
    taken = {getattr(other, "cara_slot", None) for other in server.WORKERS.values()}
    worker.cara_slot = next(slot for slot in range(len(taken) + 1) if slot not in taken)


def _post_fork(server: Any, worker: Any) -> None:
    os.environ[SLOT_ENV] = str(worker.cara_slot)  # in the new process only


def _child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # its live gauges stop counting


def run(config: Config, processes: int) -> int:
    """gunicorn's master in this process, with `processes` web processes; returns when they have all stopped."""
    from gunicorn.app.base import BaseApplication

    settings = gunicorn_settings(config, processes)

    class CaraFedWeb(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
        def load_config(self) -> None:
            for key, value in settings.items():
                if key in self.cfg.settings:  # as gunicorn's own config files: settings it lacks are skipped
                    self.cfg.set(key, value)

        def load(self) -> Any:
            return preload()

    try:
        CaraFedWeb().run()
    except SystemExit as stop:  # the arbiter exits once its processes are gone
        return stop.code if isinstance(stop.code, int) else 0
    return 0
