"""Group commit for received activities: concurrent inbox requests share one INSERT and one commit.

Each request hands its row to the process's `InboxBatcher` and awaits its own future. A batch is written
when it reaches `max_items` rows or `max_delay` seconds after its first row arrived, whichever comes first;
at most `max_writers` batches are in the database at once (while they all are, the next batch keeps
growing). The write is a single
multi-row `INSERT ... ON CONFLICT (activity_id, recipient) DO NOTHING RETURNING id, ...` (SQLite and
PostgreSQL), so a duplicate, within the batch or against an earlier one, is a no-op that answers None.
A future resolves only after the commit and after one `process_inbox_batch` job covering the batch's new
rows was queued; a batch that cannot be written fails every one of its futures (the edge answers 503).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError

from cara_fed import tasks
from cara_fed.context import Context, ResourceKey
from cara_fed.db import utcnow
from cara_fed.db_sqlite import COMMIT_WITH_STATEMENT
from cara_fed.models import InboxItem

log = logging.getLogger(__name__)

MAX_ITEMS = 200
MAX_DELAY = 0.005
MAX_WRITERS = 4  # batches in the database at once: under load a write waits on the busy event loop between
#                  its round trips, so one writer alone would leave requests waiting while the loop has time
BATCHER = ResourceKey["InboxBatcher"]("inbox.batcher")
# Marks a transaction that writes inbox_items and nothing else (this batcher's inserts, the worker's claims
# and outcomes), so its commit leaves what an inbox batch read about accounts, artworks and follows valid
# (federation.inbound.prefetch): the embedded worker shares the process with the inbox's many commits.
INBOX_ROWS_ONLY = "cara_fed_inbox_rows_only"


def writes_inbox_rows_only(connection: Any) -> bool:
    """Whether this (sync) Connection's transaction was marked INBOX_ROWS_ONLY."""
    return bool(connection.get_execution_options().get(INBOX_ROWS_ONLY))


@dataclass(frozen=True)
class NewItem:
    activity_id: str
    recipient: str  # "shared" or a local account id
    actor_uri: str
    activity_type: str
    payload: dict

    @property
    def key(self) -> tuple[str, str]:
        return self.activity_id, self.recipient


class BatchFailed(RuntimeError):
    """The batch holding this row could not be committed; nothing of it was stored."""


_Entry = tuple[NewItem, "asyncio.Future[int | None]"]


def _insert(dialect: str) -> Any:
    module = {"sqlite": sqlite, "postgresql": postgresql}.get(dialect)
    if module is None:
        raise NotImplementedError(f"inbox batching supports SQLite and PostgreSQL, not {dialect}")
    table = InboxItem.__table__
    return (module.insert(table).on_conflict_do_nothing(index_elements=["activity_id", "recipient"])
            .returning(table.c.id, table.c.activity_id, table.c.recipient))


def _isolatable(exc: BaseException) -> bool:
    """A row-level refusal (bad data), worth splitting the batch for, unlike an outage or a lock timeout."""
    return isinstance(exc, DataError | IntegrityError) or (
        isinstance(exc, StatementError) and not isinstance(exc, DBAPIError))


class InboxBatcher:
    def __init__(self, ctx: Context, *, max_items: int = MAX_ITEMS, max_delay: float = MAX_DELAY,
                 max_writers: int = MAX_WRITERS):
        self.ctx, self.max_items, self.max_delay = ctx, max_items, max_delay
        self.loop = asyncio.get_running_loop()
        self._statement = _insert(ctx.engine.dialect.name)
        self._pending: list[_Entry] = []
        self._first_at = 0.0
        self._arrived = asyncio.Event()  # the pending list went from empty to not empty
        self._full = asyncio.Event()  # the pending list reached max_items
        self._slots = asyncio.Semaphore(max_writers)
        self._tasks: set[asyncio.Task] = set()  # batches being written or answered
        self._closed = False
        # A fresh context: the batcher serves many requests, so it must not carry the first one's request id.
        self._runner = self.loop.create_task(self._run(), name="inbox-batcher", context=contextvars.Context())
        self._runner.add_done_callback(self._stopped)

    def _stopped(self, runner: asyncio.Task) -> None:
        """The runner ended (closed, or a bug): no row may wait for it forever; the next call gets a new one."""
        self._closed = True
        if not runner.cancelled() and runner.exception() is not None:
            log.error("the inbox batcher stopped", exc_info=runner.exception())
        _fail(self._pending, BatchFailed("the inbox batcher stopped"))

    async def record(self, item: NewItem) -> int | None:
        """Store `item` durably with the next batch: its row id, or None for a duplicate."""
        if self._closed:
            raise BatchFailed("the inbox is shutting down")
        future: asyncio.Future[int | None] = self.loop.create_future()
        if not self._pending:
            self._first_at = self.loop.time()
            self._arrived.set()
        self._pending.append((item, future))
        if len(self._pending) >= self.max_items:
            self._full.set()
        return await future

    async def _run(self) -> None:
        while True:
            await self._arrived.wait()
            await self._slots.acquire()  # a batch keeps growing while the writers are all busy
            if len(self._pending) < self.max_items and not self._closed:
                self._full.clear()
                linger = self._first_at + self.max_delay - self.loop.time()
                if linger > 0:
                    try:
                        await asyncio.wait_for(self._full.wait(), linger)
                    except TimeoutError:
                        pass
            batch, self._pending = self._pending[:self.max_items], self._pending[self.max_items:]
            if self._pending:
                self._first_at = self.loop.time()
            else:
                self._arrived.clear()
            task = self.loop.create_task(self._store(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _store(self, batch: list[_Entry]) -> None:
        try:
            new_ids = await self._write(batch)
        except Exception as exc:
            log.error("could not store %s received activities (answering 503): %s", len(batch), exc)
            _fail(batch, exc)
            return
        finally:
            self._slots.release()
        await self._settle(batch, new_ids)

    async def _write(self, batch: list[_Entry]) -> dict[tuple[str, str], int]:
        """One transaction for the batch; (activity_id, recipient) -> id of each row that was new."""
        now = utcnow()
        unique: dict[tuple[str, str], NewItem] = {}
        for item, _ in batch:
            unique.setdefault(item.key, item)  # a duplicate within the batch is written once (the first)
        rows = [{"activity_id": item.activity_id, "recipient": item.recipient, "actor_uri": item.actor_uri,
                 "activity_type": item.activity_type[:64], "payload": item.payload, "state": "received",
                 "state_changed_at": now, "attempts": 0, "received_at": now} for item in unique.values()]
        try:
            async with self.ctx.transaction(changes_pages=False) as tx:
                connection = await tx.session.connection(execution_options={INBOX_ROWS_ONLY: True})
                result = await connection.execute(self._statement, rows,
                                                  execution_options={COMMIT_WITH_STATEMENT: True})
                return {(row.activity_id, row.recipient): row.id for row in result}
        except Exception as exc:
            if len(batch) < 2 or not _isolatable(exc):
                raise
        # One row's data was refused: split so that row fails alone instead of failing its neighbours.
        new_ids: dict[tuple[str, str], int] = {}
        for half in (batch[:len(batch) // 2], batch[len(batch) // 2:]):
            try:
                new_ids.update(await self._write(half))
            except Exception as exc:
                log.error("could not store %s received activities (answering 503): %s", len(half), exc)
                _fail(half, exc)
        return new_ids

    async def _settle(self, batch: list[_Entry], new_ids: dict[tuple[str, str], int]) -> None:
        """Committed: queue the follow-up work once for the batch, then answer each request."""
        await enqueue_batch(self.ctx, sorted(new_ids.values()))
        claimed: set[tuple[str, str]] = set()
        for item, future in batch:
            if future.done():
                continue  # failed with its half of a split batch
            first = item.key in new_ids and item.key not in claimed
            claimed.add(item.key)
            future.set_result(new_ids[item.key] if first else None)

    async def close(self) -> None:
        """Stop taking rows; write what is pending and answer it, then stop."""
        self._closed = True
        self._full.set()
        while (self._pending or self._tasks) and not self._runner.done():
            await asyncio.wait({*self._tasks, self._runner} if self._tasks else {self._runner}, timeout=0.05)
        self._runner.cancel()
        try:
            await self._runner
        except asyncio.CancelledError:
            pass
        _fail(self._pending, BatchFailed("the inbox is shutting down"))


def _fail(batch: list[_Entry], exc: BaseException) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(BatchFailed(f"the activity could not be stored: {exc}"))


async def enqueue_batch(ctx: Context, ids: list[int]) -> None:
    """One job for the rows of a batch (one job per row where no batch job is registered). The rows are
    committed, so a queue hiccup must not become an error for the senders: the sweep re-queues them."""
    if not ids:
        return
    try:
        if ctx.jobs.registry.find(tasks.PROCESS_INBOX_BATCH) is None:
            for item_id in ids:
                await ctx.jobs.enqueue(tasks.PROCESS_INBOX, item_id)
        else:
            await ctx.jobs.enqueue(tasks.PROCESS_INBOX_BATCH, *ids)
    except Exception:
        log.exception("could not queue inbox items %s..%s; the sweep will pick them up", ids[0], ids[-1])


def batcher_for(ctx: Context) -> InboxBatcher:
    """The context's batcher, created on first use in the running event loop (closed with the context)."""
    return ctx.resources.provide(BATCHER, lambda: InboxBatcher(ctx),
                                 usable=lambda found: found.loop is asyncio.get_running_loop() and not found._closed)
