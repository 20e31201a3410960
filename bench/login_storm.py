"""Login storm (issue 15): successful logins per second through a real `cara-fed serve`, against the raw argon2
ceiling on the same cores, and what the storm does to a public page fetched at the same time.

Seeds `--accounts` accounts (one password, hashed once with the configured costs: argon2id m=19 MiB t=2 p=1 by
default), starts `cara-fed serve` (embedded SQLite, `[server] trusted_proxies = 127.0.0.1`) and drives
`POST /login` with wrk: every request logs in a different account (round robin) from its own client address
(X-Forwarded-For 10.x.y.z, believed from the trusted proxy), so neither the per-address nor the per-account
throttle applies, as in a real storm of people. Meanwhile a second wrk fetches a public portfolio page at a
modest paced rate (`--page-rate`, 50 req/s); the page's p99 alone and during the storm are printed side by
side. Rounds are interleaved (ceiling, page alone, storm + page) and medians reported. Usage:
    .venv/bin/python bench/login_storm.py [--seconds 8] [--rounds 3] [--connections 16] [--accounts 200]
                                          [--page-rate 50]

Goals: >= 40 logins/s on 2 cores, p99 reported, the page's p99 during the storm close to its p99 alone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import wrk_lua  # noqa: E402
from tests.instance import running_instance  # noqa: E402

PASSWORD = "storm password 1"
TOKEN = "benchcsrftoken"  # the anonymous double-submit token: the same value in the cookie and the form

LOGIN_LUA = r"""
local n, accounts, body_start, body_end, cookie = 0, 0, "", "", ""
function init(args)
  accounts = tonumber(args[1])
  body_start = "csrf_token=" .. args[2] .. "&login=storm"
  body_end = "&password=" .. args[3]:gsub(" ", "+") .. "&next=/about"
  cookie = "cara_csrf=" .. args[2]
end
function request()
  n = n + 1
  return wrk.format("POST", "/login", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = cookie,
    ["X-Forwarded-For"] = string.format("10.%d.%d.%d", math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256),
  }, body_start .. (n % accounts) .. body_end)
end
"""

# The public page beside the storm is paced (wrk's delay()): a steady trickle of visitors, so the figure shows
# what the storm does to them rather than a page flood competing with the logins for the same 2 cores.
PACED_PAGE_LUA = r"""
local pause = 0
function init(args) pause = tonumber(args[1]) end
function delay() return pause end
"""


async def seed(settings: dict[str, str], count: int) -> None:
    """`count` active artists sharing one password hash (made once, with the configured costs)."""
    from cara_fed.config import load_config
    from cara_fed.context import Context
    from cara_fed.migrate import upgrade
    from cara_fed.models import Account
    from cara_fed.services.accounts import generate_keys

    ctx = Context.create(load_config(environ=settings))
    try:
        await upgrade(ctx.engine)
        password_hash = await ctx.hashing.hash(PASSWORD)
        private_pem, public_pem = generate_keys()
        async with ctx.transaction() as tx:
            tx.session.add_all(Account(username=f"storm{i}", email=f"storm{i}@bench.example", display_name=f"Storm {i}",
                                       password_hash=password_hash, private_key_pem=private_pem,
                                       public_key_pem=public_pem) for i in range(count))
    finally:
        await ctx.close()


def argon2_ceiling(seconds: float, threads: int) -> float:
    """Raw argon2id verifies per second on `threads` threads at the default costs (the pool's own ceiling)."""
    from cara_fed.hashing import HashingPool

    hasher = HashingPool().hasher
    stored = hasher.hash(PASSWORD)
    deadline = time.monotonic() + seconds

    def spin() -> int:
        done = 0
        while time.monotonic() < deadline:
            hasher.verify(stored, PASSWORD)
            done += 1
        return done

    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        total = sum(pool.map(lambda _: spin(), range(threads)))
    return total / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16, help="concurrent logins in flight")
    parser.add_argument("--page-connections", type=int, default=4)
    parser.add_argument("--page-rate", type=float, default=50.0,
                        help="public page requests per second beside the storm (paced; 0 = as fast as it goes)")
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--overload-connections", type=int, default=96,
                        help="a last run past the pool's threads + queue (default 2 x cores + 32): expect 503s")
    args = parser.parse_args()
    wrk_lua.require_wrk("bench/login_storm.py")
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="cara-login-") as tmp:
        root = Path(tmp)
        settings = {"CARA_FED__SERVER__DATA_DIR": str(root / "data"), "CARA_FED__SERVER__TRUSTED_PROXIES": "127.0.0.1"}
        asyncio.run(seed(settings, args.accounts))
        with running_instance(root, settings=settings) as cara:
            page = f"{cara.url}/@storm1"
            wrk_lua.run(page, 1, args.page_connections, folder=root)  # warm-up: render once
            login_url = f"{cara.url}/login"
            options = {"folder": root, "args": (str(args.accounts), TOKEN, PASSWORD)}
            wrk_lua.run(login_url, 2, args.connections, LOGIN_LUA, **options)  # warm-up: pool threads, SQLite
            pause_ms = round(1000 * args.page_connections / args.page_rate) if args.page_rate > 0 else 0
            paced = {"folder": root, "args": (str(pause_ms),)}
            ceiling, alone, storms, during = [], [], [], []
            for _ in range(args.rounds):  # interleaved so machine noise hits all alike
                ceiling.append(argon2_ceiling(args.seconds / 2, cores))
                alone.append(wrk_lua.run(page, args.seconds, args.page_connections, PACED_PAGE_LUA, **paced))
                beside = wrk_lua.start(page, args.seconds, args.page_connections, PACED_PAGE_LUA, **paced)
                storms.append(wrk_lua.run(login_url, args.seconds, args.connections, LOGIN_LUA, **options))
                during.append(wrk_lua.finish(beside))
            overload = wrk_lua.run(login_url, args.seconds, args.overload_connections, LOGIN_LUA, **options)
    rates = [r["statuses"].get("303", 0) / r["seconds"] for r in storms]
    logins = statistics.median(rates)
    ceiling_median = statistics.median(ceiling)
    med = lambda runs, key: statistics.median(r[key] for r in runs)  # noqa: E731
    statuses: dict[str, int] = {}
    for r in storms:
        for status, n in r["statuses"].items():
            statuses[status] = statuses.get(status, 0) + n
    errors = sum(r["socket_errors"] for r in storms + alone + during)
    print(f"wrk: logins -c{args.connections}, page -c{args.page_connections}; {args.rounds} rounds x {args.seconds}s; "
          f"{cores} cores (shared machine: compare within this run only)")
    print(f"argon2id m=19 MiB t=2 p=1, raw verifies on {cores} threads: {ceiling_median:7.1f}/s  "
          f"(rounds: {', '.join(f'{v:.1f}' for v in ceiling)})")
    print(f"logins (303) through cara-fed serve:            {logins:7.1f}/s  "
          f"(rounds: {', '.join(f'{v:.1f}' for v in rates)})  "
          f"ratio to ceiling {logins / ceiling_median:.2f}")
    print(f"login latency: p50 {med(storms, 'p50_ms'):.0f} ms, p99 {med(storms, 'p99_ms'):.0f} ms; "
          f"answers: {statuses}; socket errors: {errors}")
    p99_alone, p99_during = med(alone, "p99_ms"), med(during, "p99_ms")
    print(f"public page /@storm1 p99: alone {p99_alone:.1f} ms ({med(alone, 'rate'):,.0f} req/s), during the storm "
          f"{p99_during:.1f} ms ({med(during, 'rate'):,.0f} req/s)")
    print(f"overload, {args.overload_connections} concurrent logins (past threads + queue): "
          f"{overload['statuses'].get('303', 0) / overload['seconds']:.1f} logins/s, answers {overload['statuses']} "
          f"(p50 {overload['p50_ms']:.0f} ms, p99 {overload['p99_ms']:.0f} ms over all answers), socket errors "
          f"{overload['socket_errors']}; no 500: {'PASS' if '500' not in overload['statuses'] else 'FAIL'}")
    print(f"goal >= 40 logins/s: {'PASS' if logins >= 40 else 'FAIL'}; only 303s: "
          f"{'PASS' if set(statuses) == {'303'} and not errors else 'FAIL'}")


if __name__ == "__main__":
    main()
