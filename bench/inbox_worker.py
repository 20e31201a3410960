"""The inbox worker alone: stored activities processed per second, on one core, without HTTP.

Seeds a fresh database (an SQLite file, or with --postgres a throwaway PostgreSQL database on
127.0.0.1:5432) with one local user `ada`, N remote actors (their keys stored, as the inbox leaves them after
accepting) and M received InboxItem rows like bench/inbox.py's (Create(Note), ~1 KB, addressed to ada; --mix
adds Follow/Like/Delete), then runs `process_inbox_batch` over them in batches of --batch ids, as the worker
does, and reports rows/s. --profile prints the top of a cProfile of the processing (seeding is not timed).
Usage:
    .venv/bin/python bench/inbox_worker.py [--items 4000] [--actors 16] [--batch 200] [--mix]
                                           [--postgres] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, func, select  # noqa: E402

from cara_fed import tasks  # noqa: E402
from cara_fed.config import load_config  # noqa: E402
from cara_fed.context import Context  # noqa: E402
from cara_fed.db import utcnow  # noqa: E402
from cara_fed.migrate import upgrade  # noqa: E402
from cara_fed.models import InboxItem  # noqa: E402
from cara_fed.queue import InlineJobs  # noqa: E402
from cara_fed.services import accounts  # noqa: E402
from cara_fed.services.remote import RemoteActor, upsert_actor  # noqa: E402
from cara_fed_run.worker import build_full_registry  # noqa: E402
from federation.inbound.batch import process_inbox_batch  # noqa: E402

AS = "https://www.w3.org/ns/activitystreams"
REMOTE = "https://remote.example"


def activity(actor_id: str, ada: str, kind: str, n: int) -> dict:
    activity_id = f"{actor_id}/activities/{uuid.uuid4().hex}"
    if kind == "Follow":
        return {"@context": AS, "id": activity_id, "type": "Follow", "actor": actor_id, "object": ada}
    if kind == "Like":
        return {"@context": AS, "id": activity_id, "type": "Like", "actor": actor_id,
                "object": f"{ada}/artworks/{n}"}
    if kind == "Delete":
        return {"@context": AS, "id": activity_id, "type": "Delete", "actor": actor_id,
                "object": {"id": f"{actor_id}/notes/gone{n}", "type": "Tombstone"}}
    words = "A study of light on water, oil on linen, painted over three winter mornings. " * 9
    note_id = f"{actor_id}/notes/{uuid.uuid4().hex}"
    return {"@context": AS, "id": activity_id, "type": "Create", "actor": actor_id,
            "published": "2025-01-01T00:00:00Z", "to": [ada], "cc": [],
            "object": {"id": note_id, "type": "Note", "attributedTo": actor_id, "to": [ada], "cc": [],
                       "published": "2025-01-01T00:00:00Z", "url": note_id, "content": f"<p>{words}</p>"}}


class LoopStalls:
    """How long the event loop went without giving a waiting task its turn while the batches ran: what a web
    request arriving at the embedded worker's process would wait at least."""

    def __init__(self) -> None:
        self.running, self.longest, self.over_10ms = True, 0.0, 0

    async def watch(self) -> None:
        last = time.perf_counter()
        while self.running:
            await asyncio.sleep(0)
            now = time.perf_counter()
            self.longest, self.over_10ms = max(self.longest, now - last), self.over_10ms + (now - last > 0.01)
            last = now


async def _no_delivery(ctx: Context, *ids: int) -> None:
    return None


async def seed(ctx: Context, args: argparse.Namespace) -> list[int]:
    async with ctx.transaction() as tx:
        ada = await accounts.create_account(ctx, tx, "ada", "ada@example.org", "password123",
                                            bypass_registration=True)
    recipient, ada_uri = str(ada.id), ctx.config.base_url + "/users/ada"
    actors = [f"{REMOTE}/users/actor{i}" for i in range(args.actors)]
    for uri in actors:
        await upsert_actor(ctx, RemoteActor(uri=uri, username=uri.rsplit("/", 1)[1], domain="remote.example",
                                            inbox=uri + "/inbox", public_key_pem="(not used)",
                                            key_id=uri + "#main-key"))
    kinds = ("Create", "Follow", "Create", "Like", "Create", "Delete") if args.mix else ("Create",)
    now, rows = utcnow(), []
    for n in range(args.items):
        doc = activity(actors[n % len(actors)], ada_uri, kinds[n % len(kinds)], n)
        rows.append({"activity_id": doc["id"], "recipient": recipient, "actor_uri": doc["actor"],
                     "activity_type": doc["type"], "payload": doc, "state": "received", "state_changed_at": now,
                     "attempts": 0, "received_at": now})
    async with ctx.transaction(changes_pages=False) as tx:
        await tx.session.execute(InboxItem.__table__.insert(), rows)
    async with ctx.sessions() as session:
        return list((await session.scalars(select(InboxItem.id).order_by(InboxItem.id))).all())


async def run(args: argparse.Namespace, data_dir: Path, url: str) -> None:
    config = load_config(environ={"CARA_FED__SERVER__DATA_DIR": str(data_dir / "data"),
                                  "CARA_FED__DATABASE__URL": url, "CARA_FED__SERVER__DOMAIN": "bench.example"})
    ctx = Context.create(config)
    try:
        await upgrade(ctx.engine)
        registry = build_full_registry()
        registry.register(tasks.DELIVER, _no_delivery)  # answers to Follows: not part of the inbox's work
        ctx.jobs = InlineJobs(registry, lambda: ctx)
        ids = await seed(ctx, args)
        batches = [ids[i:i + args.batch] for i in range(0, len(ids), args.batch)]
        profiler = cProfile.Profile() if args.profile else None
        statements = [0]
        event.listen(ctx.engine.sync_engine, "before_cursor_execute",
                     lambda *_: statements.__setitem__(0, statements[0] + 1))
        stalls = LoopStalls()
        watching = asyncio.create_task(stalls.watch())
        started, cpu = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        for batch in batches:
            await process_inbox_batch(ctx, *batch)
        if profiler:
            profiler.disable()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        stalls.running = False
        await watching
        async with ctx.sessions() as session:
            states = dict((await session.execute(
                select(InboxItem.state, func.count()).group_by(InboxItem.state))).all())
        print(f"{ctx.engine.dialect.name}: {len(ids)} rows in {len(batches)} batches of {args.batch}: "
              f"{len(ids) / seconds:,.0f} processed/s ({seconds * 1000 / len(ids):.2f} ms/row wall, "
              f"{cpu * 1000 / len(ids):.2f} ms/row CPU of this process); {statements[0] / len(ids):.2f} SQL "
              f"statements/row; states {states}")
        print(f"event loop (shared with the web server in `serve`): longest stall {stalls.longest * 1000:.1f} ms, "
              f"stalls over 10 ms {stalls.over_10ms}")
        if profiler:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.top)
            print(out.getvalue())
    finally:
        await ctx.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=4000)
    parser.add_argument("--actors", type=int, default=16)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--mix", action="store_true", help="Follow/Like/Delete among the Creates")
    parser.add_argument("--postgres", action="store_true", help="a throwaway database on 127.0.0.1:5432")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--top", type=int, default=45)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(main_async(args, Path(tmp)))


async def main_async(args: argparse.Namespace, data_dir: Path) -> None:
    if not args.postgres:
        return await run(args, data_dir, f"sqlite+aiosqlite:///{data_dir / 'bench.db'}")
    from tests.services import fresh_postgres_database

    async with fresh_postgres_database() as url:
        await run(args, data_dir, url)


if __name__ == "__main__":
    main()
