"""Password hashing runs in a bounded pool off the event loop (issue 15, login storm): more concurrent logins than
the pool's threads plus its wait queue get 503 with Retry-After at once (never a 500, never an endless queue),
and pages keep answering while argon2 runs. Old hashes are upgraded to the configured costs at login."""

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from cara_fed.config import Config
from cara_fed.context import CONTEXT_KEY
from cara_fed.models import Account
from cara_fed.services import accounts
from tests.conftest import csrf_from, sign_up

WORKERS, QUEUE, STORM = 1, 2, 12


@pytest.fixture
def database_url(tmp_path: Path) -> str:  # the pool is per process and database-blind: SQLite is enough
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def config(config: Config) -> Config:
    # One thread, two waiting, and hashes costly enough (64 MiB, 8 passes: ~0.3-1 s here) that the storm's
    # requests all arrive while the first ones still hash.
    security = config.security
    security.password_hash_workers, security.password_hash_queue = WORKERS, QUEUE
    security.password_hash_memory_kib, security.password_hash_time_cost = 65536, 8
    return config


async def test_a_login_storm_past_the_pool_gets_503_with_retry_after_and_pages_stay_fast(client):  # type: ignore[no-untyped-def]
    assert (await sign_up(client, "ada", password="right password")).status == 303
    client.session.cookie_jar.clear()
    token = await csrf_from(client, "/login")
    pool = client.server.app[CONTEXT_KEY].hashing

    async def log_in(http: aiohttp.ClientSession) -> tuple[int, str | None, str]:
        async with http.post(client.make_url("/login"), allow_redirects=False, headers={"Cookie": f"cara_csrf={token}"},
                             data={"csrf_token": token, "login": "ada", "password": "right password"}) as response:
            return response.status, response.headers.get("Retry-After"), await response.text()

    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        storm = [asyncio.create_task(log_in(http)) for _ in range(STORM)]
        for _ in range(200):  # until argon2 is running
            if pool.in_flight:
                break
            await asyncio.sleep(0.01)
        assert pool.in_flight, "no login reached the hashing pool"
        started = time.monotonic()
        async with http.get(client.make_url("/about")) as page:
            assert page.status == 200
        page_seconds = time.monotonic() - started
        still_hashing = pool.in_flight  # the page did not wait for the pool to drain
        outcomes = await asyncio.gather(*storm)

    statuses = [status for status, _, _ in outcomes]
    assert set(statuses) <= {303, 503}, statuses
    assert statuses.count(303) >= WORKERS + QUEUE
    assert statuses.count(503) >= 1, statuses
    busy = [(retry, text) for status, retry, text in outcomes if status == 503]
    assert all(retry is not None and int(retry) >= 1 for retry, _ in busy)
    assert all("Too many log-ins at once" in text for _, text in busy)  # the login form, saying why
    assert still_hashing > 0 and page_seconds < 2, (still_hashing, page_seconds)
    # The pool drained: the next login is hashed and succeeds.
    assert pool.in_flight == 0
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        assert (await log_in(http))[0] == 303


async def test_an_old_hash_is_upgraded_to_the_configured_costs_at_login(ctx):  # type: ignore[no-untyped-def]
    async with ctx.transaction() as tx:
        account = await accounts.create_account(ctx, tx, "bea", "bea@example.org", "right password")
    old = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash("right password")  # argon2-cffi's default
    async with ctx.transaction() as tx:
        (await tx.session.get(Account, account.id)).password_hash = old
    assert (await accounts.authenticate(ctx, "bea", "right password", "127.0.0.1")).id == account.id
    async with ctx.sessions() as session:
        upgraded = await session.scalar(select(Account.password_hash).where(Account.id == account.id))
    assert upgraded != old and "$m=65536,t=8,p=1$" in upgraded  # this module's configured costs
    assert (await accounts.authenticate(ctx, "bea", "right password", "127.0.0.1")).id == account.id
