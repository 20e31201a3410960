"""A real loopback "remote inbox" server for delivery tests and the fan-out bench.

Each listening port is one remote instance: its domain is `127.0.0.1:PORT`, so deduplication and the
per-domain circuit breaker see distinct instances. Every POST is recorded and its HTTP signature checked
with federation.signatures.verify_request against the public keys the sink was told to trust. Answers are
scripted per port: a default status, a queue of next answers (a status or "hang"), and a latency.

In a test:   sink = await Sink(keys={key_id: pem}).start(ports=2); ...; await sink.stop()
As a process (the bench): python -m tests.federation.sink --ports 500 --latency 0.1 --keys keys.json
  prints {"ports": [...]} on one line, then serves until stdin closes; GET /_stats and /_reset on any port.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from federation.signatures import SignatureError, parse_signature, verify_request

HANG = "hang"


@dataclass
class Received:
    port: int
    path: str
    headers: dict[str, str]
    body: bytes
    key_id: str | None
    verified: bool
    error: str | None
    status: int | str  # what we answered ("hang": nothing)
    at: float  # time.time() when the request arrived

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def domain(self) -> str:
        return f"127.0.0.1:{self.port}"


class Sink:
    def __init__(self, keys: dict[str, str] | None = None, *, status: int = 202, latency: float = 0.0,
                 keep_bodies: bool = True):
        self.keys = dict(keys or {})  # key id -> public key PEM
        self.status = status
        self.latency = latency
        self.keep_bodies = keep_bodies
        self.statuses: dict[int, int] = {}  # port -> default status for that port
        self.scripts: dict[int, deque[int | str]] = defaultdict(deque)  # port -> next answers
        self.received: list[Received] = []
        self.ports: list[int] = []
        self.ok = 0
        self.bad_signatures = 0
        self.last_ok_at: float | None = None
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()

    # --- control -------------------------------------------------------------------------------------

    def trust(self, key_id: str, public_key_pem: str) -> None:
        self.keys[key_id] = public_key_pem

    def url(self, index: int = 0, path: str = "/inbox") -> str:
        return f"http://127.0.0.1:{self.ports[index]}{path}"

    def domain(self, index: int = 0) -> str:
        return f"127.0.0.1:{self.ports[index]}"

    def answer(self, index: int, *answers: int | str) -> None:
        """The next requests to port `index` get these answers, in order; then its default status."""
        self.scripts[self.ports[index]].extend(answers)

    def set_status(self, index: int, status: int) -> None:
        self.statuses[self.ports[index]] = status

    def on(self, index: int) -> list[Received]:
        return [r for r in self.received if r.port == self.ports[index]]

    def reset(self) -> None:
        self.received.clear()
        self.ok, self.bad_signatures, self.last_ok_at = 0, 0, None

    # --- serving -------------------------------------------------------------------------------------

    async def start(self, ports: int = 1) -> Sink:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_get("/_stats", self._stats)
        app.router.add_get("/_reset", self._reset)
        app.router.add_post("/{tail:.*}", self._inbox)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        for _ in range(ports):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", 0))  # the kernel picks a free port: no race with other tests
            site = web.SockSite(self._runner, sock, backlog=1024)
            await site.start()
            self.ports.append(sock.getsockname()[1])
        return self

    async def stop(self) -> None:
        self._stopping.set()  # releases "hang" handlers
        if self._runner is not None:
            await self._runner.cleanup()

    def _verify(self, request: web.Request, body: bytes) -> tuple[str | None, bool, str | None]:
        url = f"http://{request.host}{request.path_qs}"
        try:
            key_id = parse_signature(request.method, url, request.headers).key_id
        except SignatureError as exc:
            return None, False, exc.reason
        pem = self.keys.get(key_id)
        if pem is None:
            return key_id, False, f"unknown key {key_id}"
        try:
            verify_request(request.method, url, request.headers, body, pem)
        except SignatureError as exc:
            return key_id, False, exc.reason
        return key_id, True, None

    async def _inbox(self, request: web.Request) -> web.Response:
        arrived = time.time()
        body = await request.read()
        port = request.transport.get_extra_info("sockname")[1] if request.transport else 0
        key_id, verified, error = self._verify(request, body)
        script = self.scripts.get(port)
        answer: int | str = script.popleft() if script else self.statuses.get(port, self.status)
        if not verified:
            self.bad_signatures += 1
            answer = 401
        self.received.append(Received(port, request.path, dict(request.headers), body if self.keep_bodies else b"",
                                      key_id, verified, error, answer, arrived))
        if answer == HANG:
            await self._stopping.wait()
            raise web.HTTPServiceUnavailable()
        if self.latency:
            await asyncio.sleep(self.latency)
        if 200 <= int(answer) < 300:
            self.ok += 1
            self.last_ok_at = time.time()
        return web.Response(status=int(answer), text=error or "")

    async def _stats(self, request: web.Request) -> web.Response:
        return web.json_response({"received": len(self.received), "ok": self.ok, "last_ok_at": self.last_ok_at,
                                  "bad_signatures": self.bad_signatures,
                                  "domains": len({r.port for r in self.received})})

    async def _reset(self, request: web.Request) -> web.Response:
        self.reset()
        return web.json_response({"reset": True})


# --- scenery for delivery tests: local artists, remote followers living on the sink -------------------


async def local_artist(ctx: Any, username: str = "ada", **extra: Any) -> Any:
    from cara_fed.services import accounts

    async with ctx.transaction() as tx:
        return await accounts.create_account(ctx, tx, username, f"{username}@example.org", "password123",
                                             bypass_registration=True, **extra)


async def remote_actor(ctx: Any, sink: Sink, index: int, username: str, *, shared: bool = True) -> Any:
    """A remote account on the sink instance `index` (its actor document is never fetched)."""
    from cara_fed.services.remote import RemoteActor, upsert_actor

    base = sink.url(index, f"/users/{username}")
    return await upsert_actor(ctx, RemoteActor(
        uri=base, username=username, domain=sink.domain(index), inbox=base + "/inbox",
        shared_inbox=sink.url(index, "/inbox") if shared else None, followers_url=base + "/followers",
        public_key_pem="(not used)", key_id=base + "#main-key"))


def trust_local(sink: Sink, ctx: Any, account: Any) -> None:
    """Let the sink verify what `account` signs (as a peer would after fetching its actor)."""
    sink.trust(ctx.url(f"/users/{account.username}#main-key"), account.public_key_pem)


def activities(sink: Sink, type_: str | None = None) -> list[Received]:
    return [r for r in sink.received if type_ is None or r.json.get("type") == type_]


async def _serve(args: argparse.Namespace, keys: dict[str, str]) -> None:
    sink = await Sink(keys, latency=args.latency, keep_bodies=False).start(args.ports)
    print(json.dumps({"ports": sink.ports}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the parent closes stdin
    await sink.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ports", type=int, default=1)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before answering")
    parser.add_argument("--keys", help="JSON file: {key id: public key PEM}")
    args = parser.parse_args()
    keys = json.loads(Path(args.keys).read_text()) if args.keys else {}
    asyncio.run(_serve(args, keys))


if __name__ == "__main__":
    main()
