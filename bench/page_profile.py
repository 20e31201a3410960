"""Where an uncached page's time goes: SQL statements per page (counted at the engine, real statements) and a
cProfile of repeated renders of one page, in process, over real HTTP (aiohttp test server), page cache off.

Seeds the demo data (`cara-fed demo`: one artist, eight works, a pinned work and a project) into a fresh SQLite
database, or PostgreSQL with --database-url. Usage:
    .venv/bin/python bench/page_profile.py [--page portfolio|artwork|home|feed] [--requests 200] [--top 30]
        [--signed-in] [--database-url postgresql+asyncpg://...] [--no-profile] [--dump DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiohttp.test_utils import TestClient, TestServer  # noqa: E402
from sqlalchemy import event  # noqa: E402

from cara_fed.config import load_config  # noqa: E402
from cara_fed.context import CONTEXT_KEY  # noqa: E402
from cara_fed.demo import seed_demo  # noqa: E402
from cara_fed_run.app import create_app  # noqa: E402


class StatementCounter:
    """Counts the statements the engine sends (one per cursor execute), the first words of each kept."""

    def __init__(self, engine) -> None:  # type: ignore[no-untyped-def]
        self.statements: list[str] = []
        event.listen(engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        self.statements.append(" ".join(statement.split())[:140])


def save(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


async def sign_in(client: TestClient) -> None:
    html = await (await client.get("/login")).text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    answer = await client.post("/login", data={"csrf_token": token, "login": "demo", "password": "demo-password"},
                               allow_redirects=False)
    if answer.status != 303:
        raise RuntimeError(f"login failed: {answer.status}")


async def pages(client: TestClient) -> dict[str, str]:
    html = await (await client.get("/@demo")).text()
    work = re.search(r'href="/@demo/(\d+)"', html).group(1)  # type: ignore[union-attr]
    return {"portfolio": "/@demo", "artwork": f"/@demo/{work}", "home": "/", "feed": "/feed"}


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.db"
        config = load_config(environ={"CARA_FED__SERVER__DATA_DIR": f"{tmp}/data", "CARA_FED__DATABASE__URL": url,
                                      "CARA_FED__SERVER__DOMAIN": "bench.example",
                                      "CARA_FED__CACHE__PAGE_SECONDS": "0"})
        app = create_app(config, jobs="inline", migrate=True)
        async with TestClient(TestServer(app)) as client:
            ctx = app[CONTEXT_KEY]
            await seed_demo(ctx)
            counter = StatementCounter(ctx.engine)
            paths = await pages(client)
            for signed_in in (False, True):
                if signed_in:
                    await sign_in(client)
                for name, path in paths.items():
                    if name == "feed" and not signed_in:
                        continue
                    await client.get(path)  # warm
                    counter.statements.clear()
                    answer = await client.get(path)
                    assert answer.status == 200, (path, answer.status)
                    who = "signed-in" if signed_in else "anonymous"
                    if args.dump:  # the page's HTML, to diff before/after a change (only timestamps may differ)
                        save(Path(args.dump) / f"{name}-{who}.html", await answer.text())
                    print(f"{name:10} {who:10} {len(counter.statements):3} statements")
                    if args.verbose:
                        for statement in counter.statements:
                            print("    ", statement)
            if not args.signed_in:
                client.session.cookie_jar.clear()
            path = paths[args.page]
            for _ in range(20):  # warm
                await (await client.get(path)).read()
            # CPU per request without the profiler: this process's CPU time (all threads: aiosqlite's too; the
            # in-process client's share included), the figure to compare before/after a change.
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(args.requests):
                await (await client.get(path)).read()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            print(f"\n{args.page} ({'signed-in' if args.signed_in else 'anonymous'}): {args.requests} requests, "
                  f"{cpu / args.requests * 1000:.2f} ms CPU each, {wall / args.requests * 1000:.2f} ms wall, "
                  f"no profiler (client included)")
            if args.no_profile:
                return
            profiler = cProfile.Profile()
            start = time.perf_counter()
            profiler.enable()
            for _ in range(args.requests):
                answer = await client.get(path)
                await answer.read()
            profiler.disable()
            elapsed = time.perf_counter() - start
            print(f"\n{args.page} ({'signed-in' if args.signed_in else 'anonymous'}): {args.requests} requests, "
                  f"{elapsed / args.requests * 1000:.2f} ms each under cProfile (client included)")
            if args.save:
                profiler.dump_stats(args.save)
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.top)
            print(out.getvalue())


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--page", default="portfolio", choices=["portfolio", "artwork", "home", "feed"])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--signed-in", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="print every statement")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--dump", default="", help="write each page's HTML into this folder")
    parser.add_argument("--no-profile", action="store_true", help="only the CPU per request, no cProfile run")
    parser.add_argument("--save", default="", help="also write the raw profile here (pstats format)")
    asyncio.run(main(parser.parse_args()))
