"""The day the artists arrive (issue 15): a mixed load at rising concurrency on PostgreSQL, with 1 and 2 web
processes, beside a static-HTML ceiling measured in the same run.

Seeds a fresh PostgreSQL database with COPY (asyncpg): `--accounts` artists (rows at real sizes: RSA and Ed25519
keys, an email and a password hash), `--artworks` published works (one image each, all sharing one asset with a
real image's twelve derivatives, one of them stored and served), `--follows` accepted follows (random pairs), plus
an artist `ada` with an inbox and `--tokens` client-API tokens. Then for each mode (static ceiling: a bare aiohttp
process returning one portfolio page's HTML; `cara-fed serve` with `[server] processes` 1 and 2, embedded worker in the
first, jobs on SQLite in the data dir) it runs wrk at rising connection counts (wrk2 is not packaged, so
concurrency is the rising load and latency percentiles come from wrk) with a Lua mix of:
  30 % portfolio pages  /@u<n>            (anonymous; popularity skewed: n = accounts ^ random)
  35 % artwork pages    /@u<n>/<id>       (anonymous; skewed the same way)
  15 % home feeds       /api/v1/timelines/home with a bearer token
  10 % inbox POSTs      signed Create activities from remote actors to ada (pre-signed; repeats are 202 no-ops)
  10 % media            /media/<key> (one derivative of --media-kb)
Per step: req/s, p50/p99, non-2xx and socket errors; the knee is the first step whose p99 >= 100 ms, and the
best rate below it is the capacity figure. RSS of every serve process after the last step; then each request
type alone (`--breakdown` connections) shows where the time goes. Medians of
`--rounds` rounds per step. The machine is shared: compare only figures from one run. Usage:
    .venv/bin/python bench/surge.py [--accounts 30000 --artworks 100000 --follows 500000]
                                    [--steps 1,2,4,8,16,32,64] [--seconds 5] [--rounds 2] [--gzip]
Full size (issue 15): --accounts 300000 --artworks 1000000 --follows 5000000 (seeding takes 6-8 minutes;
`--database surge_full` keeps the seeded data and reuses it on later runs, with the same sizes).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import wrk_lua  # noqa: E402
from bench.inbox import presign, serve_pids, start_remote  # noqa: E402
from bench.inbox_load import READ_RAW_REQUESTS, raw_requests  # noqa: E402
from federation.signatures import generate_key_pair  # noqa: E402
from tests.instance import free_port, running_instance  # noqa: E402
from tests.services import fresh_postgres_database  # noqa: E402

KNEE_MS = 100.0
KINDS = ("portfolio", "artwork", "home feed", "inbox", "media")  # the order of --mix
STATIC_SERVER = """
import sys
from aiohttp import web
body = open(sys.argv[1], "rb").read()
async def page(request):
    return web.Response(body=body, content_type="text/html")
app = web.Application()
app.router.add_get("/{tail:.*}", page)
app.router.add_post("/{tail:.*}", page)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[2]), print=None, access_log=None)
"""

MIX_LUA = READ_RAW_REQUESTS + r"""
local accounts, artworks, media, tokens, inbox, n, cut, zip = 0, 0, "", {}, {}, 0, {}, {}
local function lines(path)
  local out = {}
  for line in io.lines(path) do out[#out + 1] = line end
  return out
end
function init(args)
  accounts, artworks, media = tonumber(args[1]), tonumber(args[2]), args[3]
  tokens = lines(args[4])
  inbox = read_raw_requests(args[5])
  if args[6] == "gzip" then zip = {["Accept-Encoding"] = "gzip"} end  -- as browsers and apps ask
  local total = 0  -- weights "portfolio,artwork,home,inbox,media" -> cumulative cut points out of 100
  for weight in args[7]:gmatch("%d+") do total = total + tonumber(weight) cut[#cut + 1] = total end
  for i = 1, #cut do cut[i] = cut[i] * 100 / total end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end
local function skewed(count) return math.floor(count ^ math.random()) end  -- 1..count, small ids popular
function request()
  local r = math.random(100)
  if r <= cut[1] then
    return wrk.format("GET", "/@u" .. skewed(accounts), zip)
  elseif r <= cut[2] then
    local id = skewed(artworks)
    return wrk.format("GET", "/@u" .. ((id - 1) % accounts + 1) .. "/" .. id, zip)
  elseif r <= cut[3] then
    return wrk.format("GET", "/api/v1/timelines/home", {["Authorization"] = "Bearer " .. tokens[math.random(#tokens)],
                                                       ["Accept-Encoding"] = zip["Accept-Encoding"]})
  elseif r <= cut[4] then
    n = n + 1
    return inbox[n % #inbox + 1]
  end
  return wrk.format("GET", media)
end
"""


# --- seeding ---------------------------------------------------------------------------------------------


def _defaults(table) -> dict:  # type: ignore[no-untyped-def]
    """Client-side defaults of a SQLAlchemy table's columns (COPY bypasses them), evaluated once."""
    out = {}
    for column in table.columns:
        default = column.default
        if default is None:
            continue
        value = default.arg(None) if default.is_callable else default.arg
        out[column.name] = value
    return out


async def copy(conn, table, rows: list[dict]) -> None:  # type: ignore[no-untyped-def]
    """COPY `rows` (dicts of column -> value) into `table`, filling every other column from its default."""
    kinds = {r["column_name"]: r["data_type"] for r in await conn.fetch(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1", table.name)}
    defaults = _defaults(table)
    given = list(rows[0])
    columns = given + [c.name for c in table.columns if c.name not in given and c.name in defaults]

    def value(column: str, raw):  # type: ignore[no-untyped-def]
        if kinds[column] in ("json", "jsonb") and raw is not None:
            return json.dumps(raw)
        return raw

    records = [tuple(value(c, row[c] if c in row else defaults[c]) for c in columns) for row in rows]
    await conn.copy_records_to_table(table.name, records=records, columns=columns)


async def seed(url: str, args: argparse.Namespace, media_key: str, media_size: int) -> None:
    import asyncpg

    from cara_fed.models import Account, Artwork, ArtworkImage, Follow, MediaAsset, MediaDerivative

    rng = random.Random(15)
    now = datetime.now(UTC)
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        started = time.monotonic()
        keys = _account_keys()
        for first in range(1, args.accounts + 1, 100_000):
            await copy(conn, Account.__table__, [
                {"id": i, "username": f"u{i}", "display_name": f"Artist {i}", "bio": "Paints harbours.",
                 "bio_html": "<p>Paints harbours.</p>", "email": f"u{i}@surge.example", "created_at": now,
                 "updated_at": now, **keys} for i in range(first, min(first + 100_000, args.accounts + 1))])
        await copy(conn, MediaAsset.__table__, [{"id": 1, "account_id": 1, "state": "ready", "purpose": "artwork",
                                                 "original_type": "image/jpeg", "original_size": media_size,
                                                 "width": 1200, "height": 900}])
        # The served file, plus the rest of a real image's set (both formats, six sizes: what the media pipeline
        # makes), so every query that reads derivatives gets a real image's rows.
        derivatives = [{"id": 1, "asset_id": 1, "long_edge": 1200, "format": "jpeg", "content_type": "image/jpeg",
                        "width": 1200, "height": 900, "size": media_size, "key": media_key}]
        for edge in (320, 640, 960, 1200, 1600, 2400):
            for fmt in ("jpeg", "webp"):
                if (edge, fmt) != (1200, "jpeg"):
                    derivatives.append({"id": len(derivatives) + 1, "asset_id": 1, "long_edge": edge, "format": fmt,
                                        "content_type": f"image/{fmt}", "width": edge, "height": edge * 3 // 4,
                                        "size": media_size, "key": _derivative_key(edge, fmt)})
        await copy(conn, MediaDerivative.__table__, derivatives)
        for first in range(1, args.artworks + 1, 100_000):
            ids = range(first, min(first + 100_000, args.artworks + 1))
            stamps = {i: now - timedelta(seconds=rng.randrange(30 * 86400)) for i in ids}
            await copy(conn, Artwork.__table__, [
                {"id": i, "account_id": (i - 1) % args.accounts + 1, "state": "published", "title": f"Harbour {i}",
                 "description": "Oil on linen.", "description_html": "<p>Oil on linen.</p>", "visibility": "public",
                 "published_at": stamps[i], "created_at": stamps[i], "updated_at": stamps[i],
                 "state_changed_at": stamps[i]} for i in ids])
            await copy(conn, ArtworkImage.__table__, [{"id": i, "artwork_id": i, "asset_id": 1, "position": 0,
                                                       "alt_text": "A harbour at dusk"} for i in ids])
        per = max(1, args.follows // args.accounts)
        batch: list[dict] = []
        made = 0
        for follower in range(1, args.accounts + 1):
            if made >= args.follows:
                break
            for followee in rng.sample(range(1, args.accounts + 1), min(per + 1, args.accounts)):
                if followee != follower and made < args.follows:
                    batch.append({"follower_id": follower, "followee_id": followee, "state": "accepted",
                                  "created_at": now, "state_changed_at": now})
                    made += 1
            if len(batch) >= 200_000:
                await copy(conn, Follow.__table__, batch)
                batch = []
        if batch:
            await copy(conn, Follow.__table__, batch)
        for table in ("accounts", "artworks", "artwork_images", "media_assets", "media_derivatives", "follows"):
            await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                               f"(SELECT coalesce(max(id), 1) FROM {table}))")
        # VACUUM too, as autovacuum would have done on a running instance: COPY leaves the visibility map unset,
        # so index-only scans (the follower counts of a page of statuses) read the heap for every row (measured on
        # the full-size seed: the API home page's counts statement 1.0-1.2 -> 0.3-0.5 ms in PostgreSQL).
        await conn.execute("VACUUM ANALYZE")
        print(f"seeded {args.accounts:,} accounts, {args.artworks:,} artworks, {made:,} follows "
              f"in {time.monotonic() - started:.0f} s", flush=True)
    finally:
        await conn.close()


def _derivative_key(edge: int, fmt: str) -> str:
    digest = hashlib.md5(f"surge {edge} {fmt}".encode()).hexdigest()  # a key's shape, not a security use
    return f"{digest[:2]}/{digest}.{'jpg' if fmt == 'jpeg' else 'webp'}"


def _account_keys() -> dict[str, str]:
    """What a local account's row holds besides its profile, at real sizes: one RSA and one Ed25519 key pair and a
    password hash, shared by every seeded account (nothing signs as them; the rows weigh what real ones do)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    private_pem, public_pem = generate_key_pair()
    ed25519_pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    return {"private_key_pem": private_pem, "public_key_pem": public_pem, "ed25519_private_key_pem": ed25519_pem,
            "password_hash": "$argon2id$v=19$m=19456,t=2,p=1$" + "c2FsdHNhbHRzYWx0" + "$" + "h" * 43}


async def seed_with_services(settings: dict[str, str], tokens: int, accounts: int) -> list[str]:
    """ada (with keys, for the inbox) and client-API tokens of random artists, through the services."""
    from sqlalchemy import select

    from cara_fed.config import load_config
    from cara_fed.context import Context
    from cara_fed.models import Account
    from cara_fed.services import accounts as account_service
    from cara_fed.services import oauth

    ctx = Context.create(load_config(environ=settings))
    try:
        async with ctx.sessions() as session:
            has_ada = await session.scalar(select(Account.id).where(Account.username == "ada",
                                                                    Account.domain.is_(None)))
        if has_ada is None:  # a kept database (--database) has her from its first run
            async with ctx.transaction() as tx:
                await account_service.create_account(ctx, tx, "ada", "ada@bench.example", "ada password 1",
                                                     bypass_registration=True)
        app, _secret = await oauth.create_app(ctx, "surge", "urn:ietf:wg:oauth:2.0:oob", "read write")
        rng = random.Random(7)
        issued = [await oauth.issue_token(ctx, app, rng.randrange(1, accounts + 1), "read", refresh=False)
                  for _ in range(tokens)]
        return [token.access_token for token in issued]
    finally:
        await ctx.close()


# --- measuring -------------------------------------------------------------------------------------------


def rss_mb(pids: list[int]) -> list[float]:
    out = []
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        out.append(int(status.split("VmRSS:", 1)[1].split()[0]) / 1024)
    return out


def ladder(url: str, steps: list[int], seconds: int, script: str, options: dict) -> dict[int, dict]:
    results = {}
    for connections in steps:
        results[connections] = wrk_lua.run(url, seconds, connections, script, threads=min(2, connections),
                                           **options)
    return results


def summarize(rounds: list[dict[int, dict]], steps: list[int]) -> list[dict]:
    rows = []
    for connections in steps:
        runs = [r[connections] for r in rounds]
        total = sum(r["requests"] for r in runs)
        bad = sum(n for r in runs for s, n in r["statuses"].items() if not s.startswith("2"))
        shed = sum(n for r in runs for s, n in r["statuses"].items() if s in ("429", "503"))
        rows.append({"connections": connections, "rate": statistics.median(r["rate"] for r in runs),
                     "p50": statistics.median(r["p50_ms"] for r in runs),
                     "p99": statistics.median(r["p99_ms"] for r in runs),
                     "errors": bad - shed + sum(r["socket_errors"] for r in runs), "shed": shed, "total": total})
    return rows


def knee(rows: list[dict]) -> tuple[dict | None, dict | None]:
    """(best step under the knee, first step at or past it)."""
    below, at = None, None
    for row in rows:
        if row["p99"] >= KNEE_MS:
            at = row
            break
        if below is None or row["rate"] > below["rate"]:
            below = row
    return below, at


def report(name: str, rows: list[dict], rss: list[float] | None = None) -> None:
    print(f"\n{name}")
    print("  conns     req/s    p50 ms    p99 ms   errors   429/503")
    for row in rows:
        pct = 100 * row["errors"] / max(1, row["total"])
        print(f"  {row['connections']:5} {row['rate']:9,.0f} {row['p50']:9.1f} {row['p99']:9.1f} "
              f"{row['errors']:6} ({pct:.2f} %) {row['shed']:6}")
    below, at = knee(rows)
    capacity = f"{below['rate']:,.0f} req/s at {below['connections']} connections" if below else "none"
    past = f"{at['connections']} connections ({at['rate']:,.0f} req/s, p99 {at['p99']:.0f} ms)" if at else "not reached"
    print(f"  capacity with p99 < {KNEE_MS:.0f} ms: {capacity}; knee: {past}")
    if rss is not None:
        print(f"  RSS per process after the run: {', '.join(f'{v:.0f} MiB' for v in rss)} (total {sum(rss):.0f} MiB)")


@asynccontextmanager
async def _database(name: str) -> AsyncIterator[tuple[str, bool]]:
    """(url, already seeded): a throwaway database, or with --database one that is kept between runs (seeding the
    full size takes 6-8 minutes): created and seeded the first time, used as it is afterwards."""
    if not name:
        async with fresh_postgres_database() as url:
            await _migrate(url)
            yield url, False
        return
    import asyncpg

    admin = await asyncpg.connect(host="127.0.0.1", port=5432, user="postgres", database="postgres")
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    await _migrate(url)
    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{name}")
    try:
        seeded = bool(await conn.fetchval("SELECT count(*) FROM (SELECT 1 FROM artworks LIMIT 1) AS found"))
    finally:
        await conn.close()
    print(f"database {name}: {'seeded already, reused' if seeded else 'new, seeding'}", flush=True)
    yield url, seeded


async def _migrate(url: str) -> None:
    from cara_fed.config import load_config
    from cara_fed.context import Context
    from cara_fed.migrate import upgrade

    with tempfile.TemporaryDirectory() as tmp:
        ctx = Context.create(load_config(environ={"CARA_FED__DATABASE__URL": url,
                                                  "CARA_FED__SERVER__DATA_DIR": tmp}))
        try:
            await upgrade(ctx.engine)
        finally:
            await ctx.close()


async def _store_media(settings: dict[str, str], media_kb: int) -> str:
    """The one derivative every seeded work shows, in this run's data dir. Its bytes are the same every run, so
    a kept database's rows name the same content key."""
    from cara_fed.config import load_config
    from cara_fed.context import Context
    from cara_fed.storage import content_key, object_headers

    media = random.Random(15).randbytes(media_kb * 1024)
    media_key = content_key(media, ".jpg", salt="surge")
    ctx = Context.create(load_config(environ=settings))
    try:
        await ctx.storage.put("public", media_key, media, object_headers(media_key, noai=True))
    finally:
        await ctx.close()
    return media_key


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=30_000)
    parser.add_argument("--artworks", type=int, default=100_000)
    parser.add_argument("--follows", type=int, default=500_000)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--remote-actors", type=int, default=20)
    parser.add_argument("--signed", type=int, default=3000, help="pre-signed inbox POSTs (then repeated)")
    parser.add_argument("--media-kb", type=int, default=60)
    parser.add_argument("--steps", default="1,2,4,8,16,32,64")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--processes", default="1,2")
    parser.add_argument("--breakdown", type=int, default=8,
                        help="also load each request type alone at this many connections (0 = skip)")
    parser.add_argument("--database", default="",
                        help="keep the seeded data in this PostgreSQL database and reuse it on later runs")
    parser.add_argument("--gzip", action="store_true",
                        help="pages and home feeds ask for gzip, as browsers and Mastodon apps do (media is JPEG)")
    parser.add_argument("--mix", default="30,35,15,10,10",
                        help="weights of portfolio, artwork, home feed, inbox, media requests")
    args = parser.parse_args()
    wrk_lua.require_wrk("bench/surge.py")
    steps = [int(s) for s in args.steps.split(",")]
    asyncio.run(_main(args, steps))


async def _main(args: argparse.Namespace, steps: list[int]) -> None:
    async with _database(args.database) as (url, seeded):
        with tempfile.TemporaryDirectory(prefix="cara-surge-") as tmp:
            root = Path(tmp)
            settings = {"CARA_FED__DATABASE__URL": url, "CARA_FED__SERVER__DATA_DIR": str(root / "data"),
                        "CARA_FED__PROTECTION__MEDIA_RATE_LIMIT_PER_MINUTE": "0",
                        "CARA_FED__API__REQUESTS_PER_5_MINUTES": "0"}
            media_key = await _store_media(settings, args.media_kb)
            if not seeded:
                await seed(url, args, media_key, args.media_kb * 1024)
            tokens = await seed_with_services(settings, args.tokens, args.accounts)
            (root / "tokens.txt").write_text("\n".join(tokens) + "\n")
            keys = [generate_key_pair() for _ in range(args.remote_actors)]
            remote, _gets = start_remote(keys)
            await asyncio.to_thread(run_modes, args, steps, root, settings, keys, remote, media_key)


def run_modes(args: argparse.Namespace, steps: list[int], root: Path, settings: dict[str, str],
              keys: list, remote: str, media_key: str) -> None:
    results: dict[str, tuple[list[dict], list[float] | None]] = {}
    breakdown: dict[str, dict[int, dict]] = {}
    page_html = b""
    for processes in [int(p) for p in args.processes.split(",")]:
        mode_settings = {**settings, "CARA_FED__SERVER__PROCESSES": str(processes)}
        with running_instance(root / f"p{processes}", settings=mode_settings) as cara:
            # Host is signed: sign this instance's inbox POSTs now (not timed).
            signed = presign(f"{cara.url}/users/ada/inbox", remote, keys, args.signed, os.cpu_count() or 1)
            (root / "inbox.bin").write_bytes(raw_requests(f"127.0.0.1:{cara.port}", signed, "/users/ada/inbox"))
            options = {"folder": root, "args": (str(args.accounts), str(args.artworks), f"/media/{media_key}",
                                                str(root / "tokens.txt"), str(root / "inbox.bin"),
                                                "gzip" if args.gzip else "", args.mix)}
            if not page_html:
                page_html = subprocess.run(["curl", "-s", f"{cara.url}/@u1"], capture_output=True,
                                           check=True).stdout
            wrk_lua.run(cara.url, 3, 8, MIX_LUA, threads=2, **options)  # warm-up: key fetches, pools
            rounds = [ladder(cara.url, steps, args.seconds, MIX_LUA, options) for _ in range(args.rounds)]
            rss = rss_mb(serve_pids())
            if args.breakdown:
                for index, kind in enumerate(KINDS):
                    alone = ",".join("1" if i == index else "0" for i in range(len(KINDS)))
                    only = {**options, "args": (*options["args"][:-1], alone)}
                    breakdown.setdefault(kind, {})[processes] = wrk_lua.run(
                        cara.url, args.seconds, args.breakdown, MIX_LUA, threads=min(2, args.breakdown), **only)
        results[f"cara-fed serve, {processes} web process{'es' if processes > 1 else ''} "
                f"(embedded worker in the first)"] = (summarize(rounds, steps), rss)
    (root / "page.html").write_bytes(page_html)
    static_port = free_port()
    static = subprocess.Popen([sys.executable, "-c", STATIC_SERVER, str(root / "page.html"), str(static_port)])
    try:
        static_url = f"http://127.0.0.1:{static_port}"
        for _ in range(100):
            if subprocess.run(["curl", "-sf", "-o", "/dev/null", static_url + "/"]).returncode == 0:
                break
            time.sleep(0.1)
        rounds = [ladder(static_url, steps, args.seconds, "", {"folder": root}) for _ in range(args.rounds)]
    finally:
        static.terminate()
        static.wait()
    print(f"\nmixed load, wrk -t2, steps of {args.seconds}s at {args.steps} connections, median of {args.rounds} "
          f"rounds; data: {args.accounts:,} accounts, {args.artworks:,} artworks, {args.follows:,} follows "
          f"(PostgreSQL); pages and feeds {'asked for gzip' if args.gzip else 'sent without Accept-Encoding'}; "
          f"{os.cpu_count()} cores, shared machine: compare within this run only")
    report(f"static-HTML ceiling (one aiohttp process returning /@u1's {len(page_html):,} bytes)",
           summarize(rounds, steps))
    for name, (rows, rss) in results.items():
        report(name, rows, rss)
    if breakdown:
        print(f"\neach request type alone, {args.breakdown} connections, one round (req/s, p99 ms) by web processes:")
        for kind, by_processes in breakdown.items():
            cells = "   ".join(f"{n} proc: {r['rate']:7,.0f} req/s  p99 {r['p99_ms']:6.0f} ms  answers {r['statuses']}"
                               for n, r in by_processes.items())
            print(f"  {kind:10} {cells}")
    ceiling_best, _ = knee(summarize(rounds, steps))
    for name, (rows, _rss) in results.items():
        below, _ = knee(rows)
        if below and ceiling_best:
            print(f"{name.split(' (')[0]}: {below['rate']:,.0f} req/s under the knee = "
                  f"{below['rate'] / ceiling_best['rate']:.2f} of the ceiling's {ceiling_best['rate']:,.0f}")
    print(f"goal (issue 15): p99 < {KNEE_MS:.0f} ms at >= 2,000 mixed req/s on 2 cores; errors < 0.1 %; "
          "RSS <= 1.5 GB total")


if __name__ == "__main__":
    main()
