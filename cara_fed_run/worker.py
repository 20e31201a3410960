"""Composition root for background work: the job registry, huey queues, and the consumers.

huey refuses coroutine functions, so each process keeps one persistent event loop and huey's worker
threads hand coroutines to it. Inside `serve` that loop is the web server's own loop (one engine,
one pool); `cara-fed worker` runs its own loop in a thread.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from huey import RedisHuey, SqliteHuey, crontab
from huey.api import Huey
from huey.consumer import Consumer
from huey.storage import SqliteStorage

from cara_fed import memory, metrics, scheduler, tasks
from cara_fed.config import Config
from cara_fed.context import Context
from cara_fed.events import Event
from cara_fed.observe import REQUEST_ID
from cara_fed.queue import QUEUES, JobArg, JobRegistry, JobSpec, Task
from cara_fed.services import (
    account_deletion,
    archive_import,
    cloaking,
    data_sweep,
    follow_import,
    mail,
    mail_digest,
    media_pipeline,
    media_restamp,
    media_sweep,
    retention,
    review,
)
from federation.subscriptions import register_jobs as register_federation_jobs

log = logging.getLogger(__name__)


def build_registry() -> JobRegistry:
    """The core's own tasks. Events have no subscribers here: the edges bring theirs (build_full_registry)."""
    registry = JobRegistry()
    registry.register(tasks.PROTECT_MEDIA, media_pipeline.protect_media)
    registry.register(tasks.PROTECT_REMOTE_MEDIA, media_pipeline.protect_media)
    registry.register(tasks.RESTAMP_ARTWORK, media_restamp.restamp_artwork)
    registry.register(tasks.CLOAK_MEDIA, cloaking.cloak_media)
    registry.register(tasks.SWEEP, sweep_all)
    registry.register(tasks.RUN_PERIODIC, run_periodic)
    registry.register(tasks.SEND_MAIL, mail.send_mail)
    registry.register(tasks.IMPORT_ARCHIVE, archive_import.import_archive)
    registry.register(tasks.IMPORT_FOLLOWS, follow_import.import_follows)
    return registry


async def sweep_all(ctx: Context) -> None:
    """Periodic: re-queue overdue work of every kind (media, inbox, deliveries). Each sweep is idempotent."""
    count = await media_sweep.sweep(ctx) + await cloaking.sweep(ctx)
    if count:
        log.info("sweep re-queued %s overdue media assets", count)
    await mail.sweep(ctx)
    await data_sweep.sweep(ctx)  # portfolio archives and imports whose job was lost
    for task in (tasks.SWEEP_INBOX, tasks.SWEEP_DELIVERIES):
        spec = ctx.jobs.registry.find(task)
        if spec is not None:  # None: that edge is not wired in this process
            await spec.function(ctx)


def periodic_jobs(config: Config) -> list[scheduler.Periodic]:
    return [scheduler.Periodic(tasks.SWEEP.name, config.jobs.sweep_seconds, sweep_all),
            scheduler.Periodic("retention", config.retention.every_minutes * 60, prune_old_rows),
            scheduler.Periodic("account_deletion", config.jobs.sweep_seconds, finish_deletions),
            scheduler.Periodic("mail_digest", config.jobs.sweep_seconds, send_digests)]


async def send_digests(ctx: Context) -> None:
    """Periodic: the daily digest emails that are due (services/mail_digest.py; once a day per account)."""
    queued = await mail_digest.send_due(ctx)
    if queued:
        log.info("queued %s daily digest emails", queued)


async def finish_deletions(ctx: Context) -> None:
    """Periodic: accounts whose deletion grace period ended become tombstones (services/account_deletion.py)."""
    done = await account_deletion.finish_due(ctx)
    if done:
        log.info("deleted %s accounts whose grace period ended", done)


async def prune_old_rows(ctx: Context) -> None:
    pruned = await retention.prune(ctx)
    log.info("retention pruned %s", pruned)


async def run_periodic(ctx: Context) -> None:
    """The worker's share of scheduling ([jobs] separate_scheduler off): run whatever is due and unclaimed."""
    await scheduler.run_due(ctx, periodic_jobs(ctx.config), ctx.worker_name or "worker")


def run_scheduler_forever(config: Config) -> None:
    """`cara-fed scheduler`: claims and runs periodic jobs; work they re-queue goes to the workers."""
    import signal

    async def main() -> None:
        ctx = Context.create(config)
        wire_jobs(ctx, build_full_registry())  # enqueue only: no consumer in this process
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await scheduler.run_forever(ctx, periodic_jobs(config), f"{socket.gethostname()}/scheduler", stop)
        finally:
            await ctx.close()

    asyncio.run(main())


class QueueFile(SqliteStorage):
    """huey's SQLite queue, committing without an fsync each time (synchronous=NORMAL under WAL; huey offers
    only FULL or OFF). With FULL every job queued or taken was a disk flush made under the queue's lock, and
    the inbox answers a batch of senders only after its job is queued. A process crash loses nothing; a machine
    crash may lose the jobs queued last, which the periodic sweep queues again from their rows (every job
    carries only row ids: inbox, deliveries, media, mail, archives)."""

    def _create_connection(self) -> sqlite3.Connection:
        connection = super()._create_connection()
        connection.execute("pragma synchronous=NORMAL")
        return connection


def make_huey(config: Config, queue: str) -> Huey:
    name = f"cara-fed-{queue}"
    if config.jobs.backend == "redis":
        return RedisHuey(name=name, url=config.jobs.redis_url, results=False, utc=True)
    config.data_path.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name=name, filename=str(config.data_path / "queue.db"), results=False, utc=True,
                      storage_class=QueueFile)


class HueyJobs:
    """The Jobs interface on real queues. The same object also executes jobs in a consumer process."""

    def __init__(self, config: Config, registry: JobRegistry):
        self.registry = registry
        self.separate_scheduler = config.jobs.separate_scheduler
        self.hueys = {queue: make_huey(config, queue) for queue in QUEUES}
        self._runner: Callable[[str, list, str], Any] | None = None
        self._tasks = {queue: huey.task(name="run_job", retries=3, retry_delay=5)(self._execute)
                       for queue, huey in self.hueys.items()}
        # Every minute the media consumer offers to run what is due; the slot claims (cara_fed/scheduler.py)
        # decide, so several workers serving the media queue still sweep once per slot.
        self.hueys["media"].periodic_task(crontab(minute="*"), name=tasks.SWEEP.name)(
            lambda: self._execute(tasks.RUN_PERIODIC.name, []))

    async def enqueue(self, task: Task, *args: JobArg) -> None:
        await self._send(self.registry.get(task.name), args)

    async def publish(self, event: Event) -> None:
        """The queue carries the event's class name and ids; the consumer runs its subscribers."""
        spec = self.registry.for_event(type(event))
        if spec is not None:  # no subscriber: nothing to do
            await self._send(spec, event.ids())

    async def _send(self, spec: JobSpec, args: tuple[JobArg, ...]) -> None:
        task = self._tasks[spec.queue]
        # The request id rides along, so the job's log lines name the request that queued it.
        await asyncio.to_thread(task, spec.name, list(args), REQUEST_ID.get())  # storage write: off the event loop

    def _execute(self, name: str, args: list, request_id: str = "-") -> None:
        if self._runner is None:
            raise RuntimeError("this process does not run jobs (no worker attached)")
        self._runner(name, args, request_id)

    def attach(self, ctx: Context, loop: asyncio.AbstractEventLoop) -> None:
        """Run jobs in this process: huey threads submit coroutines to `loop`."""

        def run(name: str, args: list, request_id: str) -> None:
            spec = self.registry.get(name)
            started = time.perf_counter()
            token = REQUEST_ID.set(request_id)
            try:  # the coroutine is scheduled in a copy of this thread's context: it sees the id
                future: Future = asyncio.run_coroutine_threadsafe(spec.function(ctx, *args), loop)
            finally:
                REQUEST_ID.reset(token)
            try:
                future.result()
            finally:
                metrics.JOB_SECONDS.labels(name).observe(time.perf_counter() - started)

        self._runner = run


class QuietConsumer(Consumer):
    """A consumer that leaves signal handling to its host (the web server owns SIGINT/SIGTERM)."""

    def _set_signal_handlers(self) -> None:
        pass


class Worker:
    """Consumers for the given queues, running in this process."""

    def __init__(self, jobs: HueyJobs, queues: tuple[str, ...], threads: int, embedded: bool):
        # Outside `serve`, the first consumer owns the main thread's signals; the others stay quiet.
        self.consumers = [(QuietConsumer if embedded or index else Consumer)(
            jobs.hueys[q], workers=threads, worker_type="thread",
            periodic=q == "media" and not jobs.separate_scheduler,
            # An idle SQLite-backed consumer polls; delivery latency matters most, so it polls fastest.
            max_delay=0.1 if q == "delivery" else 1.0,
            check_worker_health=False) for index, q in enumerate(queues)]

    def start(self) -> None:
        for consumer in self.consumers:
            consumer.start()

    def stop(self) -> None:
        for consumer in self.consumers:
            consumer.stop(graceful=True)


def worker_name(config: Config, queues: tuple[str, ...], embedded: bool) -> str:
    """Who claims rows in this process. Stable across restarts (host + role, or `[jobs] worker_name`), so a
    restarted worker knows what its crashed predecessor left half done; two workers serving the same queues
    on one host must be given different names."""
    if config.jobs.worker_name:
        return config.jobs.worker_name
    role = "embedded" if embedded else "+".join(queues)
    return f"{socket.gethostname()}/{role}"[:128]


async def recover_after_restart(ctx: Context) -> None:
    """What the previous run of this worker had in hand is queued again at once (not after the stuck-work
    timeout), and overdue work of every kind is swept now rather than at the next periodic tick."""
    recovered = await media_sweep.recover_after_restart(ctx)
    if recovered:
        log.info("re-queued %s media assets the previous run of %s left unfinished", recovered, ctx.worker_name)
    await sweep_all(ctx)
    # Detection runs in workers: check the classifier here, once, so a drifting model is refused (and logged)
    # at start-up rather than found out from odd scores.
    await asyncio.to_thread(review.check_classifier_slot, ctx.config)


def wire_jobs(ctx: Context, registry: JobRegistry | None = None) -> HueyJobs:
    jobs = HueyJobs(ctx.config, registry or build_registry())
    ctx.jobs = jobs
    return jobs


def run_worker_forever(config: Config, queues: tuple[str, ...]) -> None:
    """`cara-fed worker`: a persistent event loop in a thread, huey consumers in the main thread."""
    memory.keep_big_allocations_returnable()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="cara-fed-jobs-loop", daemon=True)
    thread.start()
    ctx = asyncio.run_coroutine_threadsafe(_make_ctx(config), loop).result()
    ctx.worker_name = worker_name(config, queues, embedded=False)
    jobs = wire_jobs(ctx, build_full_registry())
    jobs.attach(ctx, loop)
    asyncio.run_coroutine_threadsafe(recover_after_restart(ctx), loop).result()
    consumers = Worker(jobs, queues, config.jobs.worker_threads, embedded=False).consumers
    for consumer in consumers[1:]:
        consumer.start()
    try:
        consumers[0].run()
    finally:
        for consumer in consumers[1:]:
            consumer.stop(graceful=True)
        asyncio.run_coroutine_threadsafe(ctx.close(), loop).result()
        loop.call_soon_threadsafe(loop.stop)


async def _make_ctx(config: Config) -> Context:
    return Context.create(config)


def build_full_registry() -> JobRegistry:
    """Every job of every edge: the core's, then federation's (inbox, delivery, remote media)."""
    registry = build_registry()
    register_federation_jobs(registry)
    return registry
