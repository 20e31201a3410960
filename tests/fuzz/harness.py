"""A running cara-fed instance for the fuzz suite, driven from Hypothesis' synchronous tests.

The instance is the real application (create_app) behind a real TCP socket, with a signing loopback peer, both
on one event loop in a background thread; jobs run inline, so an inbox activity is processed (or fails) inside
the request that delivered it. Every log record at ERROR or above is collected: the suite asserts there are
none, and no response ≥ 500.

Which names to fuzz is read from the source: every query parameter and form field the edges read
(`query.get("x")`, `forms.text(form, "x")`, `p.text("x")`, …), so a new parameter is fuzzed without a list to
keep up to date. Routes come from the application's router.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import re
import socket
import sys
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from cara_fed.config import load_config
from cara_fed.context import CONTEXT_KEY, Context
from cara_fed.models import Account
from cara_fed.services import accounts, oauth
from cara_fed_run.app import create_app
from tests.federation.peer import Peer, PeerActor

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("CARA_FED_FUZZ_EXAMPLES", "0") or 0)
# Requests that would end the fuzzing session itself (the rest, destructive or not, are fair game).
SKIP_PATHS = ("/logout", "/static/")

_NAME_PATTERNS = [
    r"query\.get(?:all)?\(\s*\"([^\"]+)\"", r"request\.query\.get(?:all)?\(\s*\"([^\"]+)\"",
    r"forms\.(?:text|checkbox)\(\s*form,\s*\"([^\"]+)\"", r"form\.get(?:all)?\(\s*\"([^\"]+)\"",
    r"\bp\.(?:text|list|flag|number|has|nested|indexed|get)\(\s*\"([^\"]+)\"",
    r"_int\(\s*request,\s*\"([^\"]+)\"", r"bound\(\s*\"([^\"]+)\"",
]


def names_in(path: Path) -> set[str]:
    source = path.read_text()
    return {name for pattern in _NAME_PATTERNS for name in re.findall(pattern, source) if 0 < len(name) < 60}


def field_names() -> list[str]:
    """Every query parameter and form field name the web and federation edges read."""
    found: set[str] = set()
    for package in ("web", "federation"):
        for path in (ROOT / package).rglob("*.py"):
            found |= names_in(path)
    return sorted(found)


def handler_names(handler: Any) -> list[str]:
    """The names read in the module that defines a route's handler: fuzzing those reaches the handler's own
    parsing far more often than names drawn from the whole code base."""
    module = sys.modules.get(getattr(inspect.unwrap(handler), "__module__", "") or "")
    path = Path(getattr(module, "__file__", "") or "")
    return sorted(names_in(path)) if path.is_file() else []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ErrorRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class Tally:
    requests: int = 0
    server_errors: int = 0
    by_status: dict[int, int] = field(default_factory=dict)


@dataclass(repr=False)
class Instance:
    """The running instance: base URL, a logged-in browser session (cookie + CSRF token), an API token, the
    peer and its actor, and what has been seen so far."""

    loop: asyncio.AbstractEventLoop
    base: str
    ctx: Context
    peer: Peer
    alice: PeerActor
    browser: aiohttp.ClientSession
    anonymous: aiohttp.ClientSession
    csrf: str
    token: str
    routes: list[tuple[str, str, list[str]]]  # (method, path with {placeholders}, names its module reads)
    errors: ErrorRecords
    tally: Tally = field(default_factory=Tally)

    def __repr__(self) -> str:  # Hypothesis prints the fixture with every failure: keep it short
        return f"Instance({self.base})"

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def request(self, method: str, path: str, *, session: str = "browser", **kw: Any) -> tuple[int, str]:
        """One request over real HTTP; returns (status, first bytes of the body) and counts it."""

        async def go() -> tuple[int, str]:
            client = self.browser if session == "browser" else self.anonymous
            async with client.request(method, self.base + path, allow_redirects=False, **kw) as response:
                return response.status, (await response.text(errors="replace"))[:300]

        status, text = self.run(go())
        self.tally.requests += 1
        self.tally.by_status[status] = self.tally.by_status.get(status, 0) + 1
        if status >= 500:
            self.tally.server_errors += 1
        return status, text

    def error_lines(self, since: int = 0) -> list[str]:
        return [f"{r.levelname} {r.name}: {r.getMessage()[:300]}" for r in self.errors.records[since:]]


async def _start(data_dir: Path, database_url: str) -> tuple[Any, ...]:
    port = free_port()
    config = load_config(environ={
        "CARA_FED__SERVER__DATA_DIR": str(data_dir), "CARA_FED__DATABASE__URL": database_url,
        "CARA_FED__SERVER__DOMAIN": f"127.0.0.1:{port}", "CARA_FED__SERVER__SCHEME": "http",
        "CARA_FED__FEDERATION__ALLOW_PRIVATE_ADDRESSES": "true",
        # The API's rate limit would answer long runs with 429 and fuzz nothing behind it.
        "CARA_FED__API__REQUESTS_PER_5_MINUTES": "1000000"})
    app = create_app(config, jobs="inline", migrate=True)
    runner = aiohttp.web.AppRunner(app, access_log=None)
    await runner.setup()
    await aiohttp.web.TCPSite(runner, "127.0.0.1", port).start()
    peer = Peer()
    await peer.start()
    ctx: Context = app[CONTEXT_KEY]
    base = f"http://127.0.0.1:{port}"
    browser = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    anonymous = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
    return runner, app, ctx, peer, base, browser, anonymous


async def _sign_up(browser: aiohttp.ClientSession, base: str) -> str:
    async with browser.get(base + "/signup") as response:
        token = re.search(r'name="csrf_token" value="([^"]+)"', await response.text()).group(1)  # type: ignore[union-attr]
    form = {"csrf_token": token, "username": "ada", "email": "ada@example.org", "password": "correct horse 1",
            "kind": "artist"}
    async with browser.post(base + "/signup", data=form, allow_redirects=False) as response:
        assert response.status in (302, 303), await response.text()
    async with browser.get(base + "/upload") as response:
        return re.search(r'name="csrf_token" value="([^"]+)"', await response.text()).group(1)  # type: ignore[union-attr]


async def _api_token(ctx: Context) -> str:
    async with ctx.transaction() as tx:
        await accounts.create_account(ctx, tx, "bob", "bob@example.org", "password 1234", bypass_registration=True)
    async with ctx.sessions() as session:
        from sqlalchemy import select

        bob = await session.scalar(select(Account).where(Account.username == "bob"))
    app, _secret = await oauth.create_app(ctx, "fuzz", "urn:ietf:wg:oauth:2.0:oob", "read write follow push")
    return (await oauth.issue_token(ctx, app, bob.id, "read write follow push", refresh=False)).access_token


def routes_of(app: aiohttp.web.Application) -> list[tuple[str, str, list[str]]]:
    found = {}
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("formatter") or info.get("path")
        if path and route.method in ("GET", "POST", "PUT", "PATCH", "DELETE") \
                and not path.startswith(SKIP_PATHS) and path not in SKIP_PATHS:
            found[(route.method, path)] = handler_names(route.handler)
    return [(method, path, names) for (method, path), names in sorted(found.items())]


def start_instance(data_dir: Path, database_url: str) -> tuple[Instance, Any]:
    """Start the loop thread, the instance and the peer; returns the Instance and a stop() function."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fuzz-instance", daemon=True)
    thread.start()

    def run(coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(120)

    runner, app, ctx, peer, base, browser, anonymous = run(_start(data_dir, database_url))
    csrf = run(_sign_up(browser, base))
    token = run(_api_token(ctx))
    alice = peer.add_actor("alice")
    errors = ErrorRecords()
    logging.getLogger().addHandler(errors)
    instance = Instance(loop, base, ctx, peer, alice, browser, anonymous, csrf, token, routes_of(app), errors)

    def stop() -> None:
        logging.getLogger().removeHandler(errors)

        async def close() -> None:
            await browser.close()
            await anonymous.close()
            await peer.close()
            await runner.cleanup()

        run(close())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        time.sleep(0)

    return instance, stop
