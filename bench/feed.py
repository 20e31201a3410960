"""Home feed and notifications latency for a user following 1,000 accounts on a 1,000,000-artwork PostgreSQL
database, beside a ceiling measured in the same run (/robots.txt: same server, middleware and login, no query).

Seeds a fresh database with set-based SQL (INSERT … SELECT generate_series), starts a real `cara-fed serve` on
it, logs in, and times sequential requests of /feed (first page and a deep keyset page) and /notifications
(~10,000 notifications). Prints p50/p99 per page, the goal (p99 <= 50 ms) and PASS/FAIL; --explain prints the
feed query's plan (EXPLAIN ANALYZE). Needs PostgreSQL on 127.0.0.1:5432 (as the tests do). Usage:
    .venv/bin/python bench/feed.py [--artworks 1000000] [--authors 20000] [--follows 1000] [--requests 300]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.instance import running_instance  # noqa: E402
from tests.services import fresh_postgres_database  # noqa: E402

GOAL_MS = 50.0
VIEWER, PASSWORD = "viewer", "viewer password 1"
FIELDS = ["Illustration", "Concept Art", "Comics", "Animation", "Game Art"]


def dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def seed(url: str, artworks: int, authors: int, follows: int, notifications: int) -> dict[str, int]:
    """Everything in a few set-based statements. The viewer (made by `createuser`) follows the first
    `follows` authors; works are spread over the authors (g * 7919 mod authors, so followed authors' works
    are interleaved with everyone else's), and 1 in authors/follows works is in the viewer's feed."""
    import asyncpg

    conn = await asyncpg.connect(dsn(url))
    try:
        viewer = await conn.fetchval("SELECT id FROM accounts WHERE username = $1", VIEWER)
        await conn.execute(
            "INSERT INTO accounts (username, kind, status, is_admin, display_name, bio, bio_html, location, links,"
            " skills, open_to_work, noai_default, locked, discoverable, indexable, request_note, actor_type,"
            " created_at, updated_at)"
            " SELECT 'artist' || g, 'artist', 'active', false, 'Artist ' || g, '', '', '', '[]', '[]', false, true,"
            " false, true, true, '', 'Person', now(), now() FROM generate_series(1, $1::int) g", authors)
        first = await conn.fetchval("SELECT min(id) FROM accounts WHERE username LIKE 'artist%'")
        # Secondary indexes are rebuilt after the bulk insert (faster than maintaining them row by row).
        indexes = await conn.fetch("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'artworks'"
                                   " AND indexname NOT LIKE '%pkey' AND indexname NOT LIKE '%uri%'")
        for row in indexes:
            await conn.execute(f'DROP INDEX "{row["indexname"]}"')
        await conn.execute(
            "INSERT INTO artworks (account_id, state, state_changed_at, title, description, description_html, field,"
            " medium, software, content_warning, sensitive, license, visibility, noai, created_at, published_at,"
            " updated_at)"
            " SELECT $1::int + ((g::bigint * 7919) % $2::int)::int, 'published', now(), 'Study ' || g,"
            " 'Sketch number ' || g, '<p>Sketch number ' || g || '</p>', ($3::text[])[1 + g % 5], 'Digital 2D',"
            " '[]', '', false, 'all-rights-reserved',"
            " CASE WHEN g % 10 = 0 THEN 'followers' ELSE 'public' END, true,"
            " now() - ($4::int - g) * interval '1 second', now() - ($4::int - g) * interval '1 second', now()"
            " FROM generate_series(1, $4::int) g", first, authors, FIELDS, artworks)
        for row in indexes:
            await conn.execute(row["indexdef"])
        # Images for the works the viewer can see (the feed renders them): one asset + 3 derivatives each.
        await conn.execute(
            "INSERT INTO media_assets (account_id, state, state_changed_at, purpose, original_type, original_size,"
            " original_name, width, height, focal_x, focal_y, attempts, report, created_at)"
            " SELECT a.account_id, 'ready', now(), 'artwork', 'image/jpeg', 100000, 'w' || a.id || '.jpg', 1600,"
            " 1200, 0, 0, 1, '{}', now() FROM artworks a WHERE a.account_id < $1::int + $2::int ORDER BY a.id",
            first, follows)
        await conn.execute(
            "INSERT INTO artwork_images (artwork_id, asset_id, position, alt_text)"
            " SELECT substring(m.original_name from 2 for length(m.original_name) - 5)::int, m.id, 0, 'A study'"
            " FROM media_assets m WHERE m.original_name LIKE 'w%'")
        await conn.execute(
            "INSERT INTO media_derivatives (asset_id, long_edge, format, content_type, width, height, size, key)"
            " SELECT m.id, e.edge, f.fmt, 'image/' || f.fmt, e.edge, e.edge * 3 / 4, 50000,"
            " md5(m.id || '-' || e.edge || f.fmt) || '.' || f.fmt"
            " FROM media_assets m, (VALUES (400), (1280), (2560)) e(edge), (VALUES ('jpeg'), ('webp')) f(fmt)"
            " WHERE m.original_name LIKE 'w%'")
        await conn.execute(
            "INSERT INTO follows (follower_id, followee_id, state, state_changed_at, created_at)"
            " SELECT $1::int, $2::int + g, 'accepted', now(), now() FROM generate_series(0, $3::int - 1) g",
            viewer, first, follows)
        await conn.execute(
            "INSERT INTO notifications (account_id, kind, actor_id, object_type, created_at, read_at)"
            " SELECT $1::int, 'follow', $2::int + (g % $3::int), '', now() - g * interval '1 minute',"
            " CASE WHEN g % 2 = 0 THEN now() END FROM generate_series(1, $4::int) g",
            viewer, first, follows, notifications)
        # A loaded production database is vacuumed and analysed; without this, autovacuum's first pass over
        # the fresh million rows runs during the timed requests and competes for the two cores.
        await conn.execute("VACUUM (ANALYZE)")
        total = await conn.fetchval("SELECT count(*) FROM artworks")
        visible = await conn.fetchval("SELECT count(*) FROM artworks WHERE account_id < $1::int + $2::int",
                                      first, follows)
        return {"viewer": viewer, "artworks": total, "feed_works": visible}
    finally:
        await conn.close()


async def deep_cursor(url: str, viewer: int) -> int:
    """An id halfway down the viewer's feed: a deep keyset page (`?before=`)."""
    import asyncpg

    conn = await asyncpg.connect(dsn(url))
    try:
        return await conn.fetchval(
            "SELECT id FROM artworks WHERE account_id IN (SELECT followee_id FROM follows WHERE follower_id = $1::int)"
            " ORDER BY id LIMIT 1 OFFSET (SELECT count(*) / 2 FROM artworks WHERE account_id IN"
            " (SELECT followee_id FROM follows WHERE follower_id = $1::int))", viewer)
    finally:
        await conn.close()


async def explain(url: str, viewer: int, before: int) -> str:
    """The plan of the home feed's query as the server builds it (SQLAlchemy, compiled for PostgreSQL)."""
    import asyncpg
    from sqlalchemy.dialects import postgresql

    from cara_fed import queries
    from cara_fed.models import Account, Artwork

    captured = {}

    class Empty:
        def unique(self):  # type: ignore[no-untyped-def]
            return self

        def all(self):  # type: ignore[no-untyped-def]
            return []

    class Capture:  # runs queries.home_feed's query builder without a database
        async def execute(self, query, params=None):  # type: ignore[no-untyped-def]
            return Empty()  # the viewer's followed tags and hidden accounts: none in this bench

        async def scalars(self, query):  # type: ignore[no-untyped-def]
            captured["sql"] = str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
            return Empty()

    await queries.home_feed(Capture(), Account(id=viewer), before=before)  # type: ignore[arg-type]
    assert Artwork  # the query selects artworks
    conn = await asyncpg.connect(dsn(url))
    try:
        rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + captured["sql"])
    finally:
        await conn.close()
    return "\n".join(r[0] for r in rows)


async def login(session, base: str) -> None:  # type: ignore[no-untyped-def]
    async with session.get(base + "/login") as response:
        token = re.search(r'name="csrf_token" value="([^"]+)"', await response.text()).group(1)
    async with session.post(base + "/login", data={"csrf_token": token, "login": VIEWER, "password": PASSWORD},
                            allow_redirects=False) as response:
        if response.status != 303:
            raise RuntimeError(f"login failed: {response.status}")


async def timings(session, url: str, n: int, expect: str) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(n):
        start = time.perf_counter()
        async with session.get(url) as response:
            body = await response.text()
        out.append((time.perf_counter() - start) * 1000)
        if response.status != 200 or expect not in body:
            raise RuntimeError(f"{url} answered {response.status} without {expect!r}")
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def measure(base: str, before: int, n: int) -> dict[str, list[float]]:
    import aiohttp

    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:  # 127.0.0.1 cookies
        await login(session, base)
        pages = {"ceiling /robots.txt": ("/robots.txt", "User-agent"), "/feed": ("/feed", "Study "),
                 f"/feed?before={before}": (f"/feed?before={before}", "Study "),
                 "/notifications": ("/notifications", "follow")}
        for path, expect in pages.values():  # warm-up: connections, caches, first render
            await timings(session, base + path, 20, expect)
        results: dict[str, list[float]] = {name: [] for name in pages}
        for _ in range(3):  # interleave rounds so machine noise hits every page alike
            for name, (path, expect) in pages.items():
                results[name] += await timings(session, base + path, n // 3, expect)
        return results


def prepare(root: Path, env: dict[str, str]) -> None:
    """Migrate the fresh database and create the viewer (a real password hash) with the CLI."""
    for command in (["migrate"], ["createuser", VIEWER, "--email", "v@example.org", "--password", PASSWORD]):
        subprocess.run([sys.executable, "-m", "cara_fed_run.cli", *command], env=env, cwd=root, check=True,
                       capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--artworks", type=int, default=1_000_000)
    parser.add_argument("--authors", type=int, default=20_000)
    parser.add_argument("--follows", type=int, default=1_000)
    parser.add_argument("--notifications", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()

    async def with_database() -> None:
        async with fresh_postgres_database() as url:
            with tempfile.TemporaryDirectory() as tmp:
                root = Path(tmp)
                settings = {"CARA_FED__DATABASE__URL": url, "CARA_FED__SERVER__DATA_DIR": str(root / "data")}
                env = {**os.environ, **settings}
                env.pop("CARA_FED_CONFIG", None)
                prepare(root, env)
                started = time.monotonic()
                seeded = await seed(url, args.artworks, args.authors, args.follows, args.notifications)
                seconds = time.monotonic() - started
                before = await deep_cursor(url, seeded["viewer"])
                if args.explain:
                    print(await explain(url, seeded["viewer"], before))
                with running_instance(root, settings=settings) as instance:
                    results = await measure(instance.url, before, args.requests)
        print(f"database: PostgreSQL, {seeded['artworks']:,} artworks by {args.authors:,} artists; the viewer follows"
              f" {args.follows:,} of them ({seeded['feed_works']:,} works, with images) and has"
              f" {args.notifications:,} notifications; seeded in {seconds:.0f}s")
        print(f"{len(next(iter(results.values())))} sequential requests per page, logged in, after 20 warm-up each")
        worst = 0.0
        for name, values in results.items():
            p50, p99 = statistics.median(values), pct(values, 0.99)
            if not name.startswith("ceiling"):
                worst = max(worst, p99)
            slow = sum(v > GOAL_MS for v in values)
            print(f"{name:<28} p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   max {max(values):6.1f} ms   "
                  f"over {GOAL_MS:.0f} ms: {slow}")
        print(f"goal: p99 <= {GOAL_MS:.0f} ms on every page  worst p99 {worst:.1f} ms  "
              f"{'PASS' if worst <= GOAL_MS else 'FAIL'}")

    asyncio.run(with_database())


if __name__ == "__main__":
    main()
