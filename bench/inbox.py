"""Inbox throughput: signed Create activities accepted (202) and durably stored per second, beside the RSA
verify ceiling (`verify_request` calls per second on the same number of cores, one process each) measured on the
same requests in the same run.

A real `cara-fed serve` (embedded SQLite + huey, default config; --postgres: a throwaway PostgreSQL database
on 127.0.0.1:5432) with one local user, `ada`. A "remote"
server on loopback (a thread of this process) publishes N actors; the first request of each actor makes
the server fetch that actor's key for real, later ones use its cache. Every request is a distinct
Create(Note) (~1 KB, no attachments, addressed to ada) signed draft-cavage rsa-sha256 before any timing.
The load generator (wrk with a Lua script, else an aiohttp client in its own process) keeps
--connections requests in flight until all M of a round are answered; afterwards the InboxItem rows are
counted (every 202 must be a stored row). Two modes, each on a fresh instance:
  inbox-only: CARA_FED__JOBS__EMBEDDED_WORKER=false (rows are stored and queued, nobody processes them);
  worker:     the default, the embedded worker processes the rows (handlers) on the same event loop
              while the load runs; the time until every row is processed is reported too.
Besides the rates, it prints the serve processes' CPU per activity (accepted; with the worker, accepted and
processed): on a shared machine the rates move with the other jobs, the CPU per activity much less.
Everything (server, worker, load generator) is pinned to --cores CPUs (default 2). Usage:
    .venv/bin/python bench/inbox.py [--requests 20000] [--rounds 3] [--actors 16] [--connections 100]
                                    [--mode both|inbox-only|worker] [--cores 2] [--processes 0] [--postgres]
--processes sets `[server] processes` (0, the default: one web process per pinned core, as an operator with
`processes = 0` on a 2-core machine gets).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.inbox_load import fire  # noqa: E402
from federation.signatures import generate_key_pair, sign_request, verify_request  # noqa: E402
from tests.instance import free_port, running_instance  # noqa: E402

GOAL = 1500.0  # issue 15: activities accepted and processed per second on 2 cores
# Every instance serves this public host (as behind a reverse proxy), so one set of pre-signed requests fits
# all of them; the load generator connects to the instance's loopback port and sends `Host: DOMAIN`.
DOMAIN = "inbox-bench.example"
INBOX_URL = f"http://{DOMAIN}/users/ada/inbox"
AP = "application/activity+json"
AS = "https://www.w3.org/ns/activitystreams"
Signed = tuple[dict[str, str], bytes]  # headers, body


# --- the remote side: actor documents with keys, on loopback --------------------------------------------


def start_remote(keys: list[tuple[str, str]]) -> tuple[str, list[int]]:
    """Serve actor{i} documents in a thread; returns (base URL, [GET count]) once listening."""
    from aiohttp import web

    port, gets, ready = free_port(), [0], threading.Event()
    base = f"http://127.0.0.1:{port}"

    async def actor(request: web.Request) -> web.Response:
        gets[0] += 1
        index = int(request.match_info["index"])
        actor_id = f"{base}/users/actor{index}"
        return web.json_response({"@context": [AS, "https://w3id.org/security/v1"], "id": actor_id,
                                  "type": "Person", "preferredUsername": f"actor{index}",
                                  "inbox": f"{actor_id}/inbox", "followers": f"{actor_id}/followers",
                                  "publicKey": {"id": f"{actor_id}#main-key", "owner": actor_id,
                                                "publicKeyPem": keys[index][1]}}, content_type=AP)

    def serve() -> None:
        app = web.Application()
        app.router.add_get("/users/actor{index:\\d+}", actor)
        loop = asyncio.new_event_loop()
        runner = web.AppRunner(app, access_log=None)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        ready.set()
        loop.run_forever()

    threading.Thread(target=serve, daemon=True, name="remote-actors").start()
    ready.wait(10)
    return base, gets


# --- pre-signing (before any timing) ----------------------------------------------------------------------


def _activity(actor_id: str, ada: str) -> bytes:
    note_id = f"{actor_id}/notes/{uuid.uuid4().hex}"
    words = "A study of light on water, oil on linen, painted over three winter mornings. " * 9
    return json.dumps({
        "@context": AS, "id": f"{actor_id}/activities/{uuid.uuid4().hex}", "type": "Create", "actor": actor_id,
        "published": "2025-01-01T00:00:00Z", "to": [ada], "cc": [],
        "object": {"id": note_id, "type": "Note", "attributedTo": actor_id, "to": [ada], "cc": [],
                   "published": "2025-01-01T00:00:00Z", "url": note_id, "content": f"<p>{words}</p>"}}).encode()


def _sign_chunk(job: tuple[str, str, list[tuple[str, str]], list[int]]) -> list[Signed]:
    inbox_url, base, keys, actors = job
    ada = inbox_url.removesuffix("/inbox")
    out = []
    for index in actors:
        actor_id = f"{base}/users/actor{index}"
        body = _activity(actor_id, ada)
        headers = {"Content-Type": AP, **sign_request("POST", inbox_url, {}, body, f"{actor_id}#main-key",
                                                       keys[index][0])}
        out.append((headers, body))
    return out


def presign(inbox_url: str, base: str, keys: list[tuple[str, str]], count: int, workers: int) -> list[Signed]:
    actors = [i % len(keys) for i in range(count)]
    chunks = [actors[i:i + 500] for i in range(0, count, 500)]
    with ProcessPoolExecutor(workers) as pool:
        parts = pool.map(_sign_chunk, [(inbox_url, base, keys, chunk) for chunk in chunks])
        return [signed for part in parts for signed in part]


# --- measurements -----------------------------------------------------------------------------------------


def verify_ceiling_on(cores: int, inbox_url: str, requests: list[Signed], pems: dict[str, str],
                      seconds: float = 2.0) -> float:
    """`verify_request` calls per second on `cores` processes at once (the cores the server gets)."""
    with ProcessPoolExecutor(cores) as pool:
        return sum(pool.map(verify_ceiling, [inbox_url] * cores, [requests] * cores, [pems] * cores, [seconds] * cores))


def verify_ceiling(inbox_url: str, requests: list[Signed], pems: dict[str, str], seconds: float = 2.0) -> float:
    """`verify_request` calls per second on one core, on the round's own requests (all must verify)."""
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        headers, body = requests[done % len(requests)]
        key_id = headers["Signature"].split('keyId="', 1)[1].split('"', 1)[0]
        verify_request("POST", inbox_url, headers, body, pems[key_id])
        done += 1
    return done / (time.perf_counter() - start)


_COUNT = "SELECT count(*) FROM inbox_items"
_WAITING = "SELECT count(*) FROM inbox_items WHERE state IN ('received', 'retry')"


def rows(db: Path | str) -> tuple[int, int]:
    """(all InboxItem rows, rows still waiting to be processed); `db` is the SQLite file or a PostgreSQL URL."""
    if isinstance(db, str):
        import asyncpg

        dsn = db.replace("postgresql+asyncpg://", "postgresql://")

        async def count() -> tuple[int, int]:
            connection = await asyncpg.connect(dsn)
            try:
                return await connection.fetchval(_COUNT), await connection.fetchval(_WAITING)
            finally:
                await connection.close()

        return asyncio.run(count())
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as connection:
        total = connection.execute("SELECT count(*) FROM inbox_items").fetchone()[0]
        waiting = connection.execute("SELECT count(*) FROM inbox_items WHERE state IN ('received', 'retry')"
                                     ).fetchone()[0]
    connection.close()
    return total, waiting


def serve_pids() -> list[int]:
    """The `cara-fed serve` process this bench started and the web processes it forked."""
    def parent(pid: str) -> int:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])

    found: list[int] = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and b"serve" in (entry / "cmdline").read_bytes() and \
                    (parent(entry.name) == os.getpid() or parent(entry.name) in found):
                found.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    first = [pid for pid in found if parent(str(pid)) == os.getpid()]
    return first + [pid for pid in found if pid not in first and parent(str(pid)) in first]


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def run_mode(mode: str, args: argparse.Namespace, warmup: list[Signed], rounds: list[list[Signed]],
             pems: dict[str, str], remote_gets: list[int]) -> dict:
    if not args.postgres:
        return _run_mode(mode, args, warmup, rounds, pems, remote_gets, None)
    name = f"cara_bench_{uuid.uuid4().hex[:12]}"
    asyncio.run(_postgres_admin(f'CREATE DATABASE "{name}"'))
    try:
        return _run_mode(mode, args, warmup, rounds, pems, remote_gets,
                         f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}")
    finally:
        asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _postgres_admin(statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(host="127.0.0.1", port=5432, user="postgres", database="postgres")
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _run_mode(mode: str, args: argparse.Namespace, warmup: list[Signed], rounds: list[list[Signed]],
              pems: dict[str, str], remote_gets: list[int], database_url: str | None) -> dict:
    settings = {"CARA_FED__SERVER__DOMAIN": DOMAIN,  # the public host every request was signed for
                "CARA_FED__SERVER__PROCESSES": str(args.processes)}
    if mode == "inbox-only":
        settings["CARA_FED__JOBS__EMBEDDED_WORKER"] = "false"
    if database_url is not None:
        settings["CARA_FED__DATABASE__URL"] = database_url
    result: dict = {"mode": mode, "accepted": [], "stored": [], "ceiling": [], "cpu": [], "processed": [],
                    "latency": [], "statuses": {}, "cpu_ms": [], "cpu_ms_processed": []}
    with tempfile.TemporaryDirectory() as tmp, running_instance(Path(tmp), settings=settings) as instance:
        instance.cli("createuser", "ada", "--email", "ada@example.org", "--password", "bench password 1")
        db: Path | str = database_url or instance.data_dir / "cara-fed.db"
        pid = serve_pids()
        gets_before = remote_gets[0]
        first = fire(instance.url, warmup, args.connections, Path(tmp), DOMAIN)  # first key fetch: real
        if first["statuses"].get("202", 0) != len(warmup):
            errors = [line for line in instance.log().splitlines() if " ERROR " in line or "Error" in line]
            raise RuntimeError(f"{mode}: warm-up answers {first['statuses']}; log: {errors[-5:]}")
        expected = len(warmup)
        for signed in rounds:
            result["ceiling"].append(verify_ceiling_on(args.cores, INBOX_URL, signed[:3000], pems))
            cpu_before, started = cpu_seconds(pid), time.monotonic()
            outcome = fire(instance.url, signed, args.connections, Path(tmp), DOMAIN)
            cpu_used = cpu_seconds(pid) - cpu_before
            for status, count in outcome["statuses"].items():
                result["statuses"][status] = result["statuses"].get(status, 0) + count
            expected += len(signed)
            total, waiting = rows(db)
            if total != expected or outcome["statuses"].get("202", 0) != len(signed):
                raise RuntimeError(f"{mode}: {total} rows stored of {expected}; answers {outcome['statuses']}")
            result["accepted"].append(len(signed) / outcome["seconds"])
            result["stored"].append(len(signed) / outcome["seconds"])
            result["cpu"].append(cpu_used / outcome["seconds"])
            result["cpu_ms"].append(cpu_used * 1000 / len(signed))
            result["latency"].append((outcome["p50_ms"], outcome["p99_ms"]))
            if mode == "worker":
                while waiting:
                    time.sleep(0.2)
                    total, waiting = rows(db)
                result["processed"].append(len(signed) / (time.monotonic() - started))
                result["cpu_ms_processed"].append((cpu_seconds(pid) - cpu_before) * 1000 / len(signed))
        result["key_fetches"] = remote_gets[0] - gets_before
        lines = instance.log().splitlines()
        errors = [i for i, line in enumerate(lines) if " ERROR " in line]
        result["log_errors"] = len(errors)
        result["log_error_lines"] = lines[errors[0]:errors[0] + 25] if errors else []  # the first, with its traceback
    return result


def report(result: dict, args: argparse.Namespace) -> None:
    def rounds(values: list[float]) -> str:
        return ", ".join(f"{value:,.0f}" for value in values)

    accepted, ceiling = statistics.median(result["accepted"]), statistics.median(result["ceiling"])
    database = "PostgreSQL" if args.postgres else "SQLite"
    print(f"[{result['mode']}, {database}] {len(result['accepted'])} rounds x {args.requests} signed Create(Note), "
          f"{args.connections} in flight; answers: {result['statuses']}; remote key fetches: "
          f"{result['key_fetches']}; server log errors: {result['log_errors']}")
    for line in result.get("log_error_lines", []):
        print(f"  server log: {line[:300]}")
    print(f"  RSA verify ceiling (verify_request, {args.cores} processes at once): {ceiling:,.0f}/s "
          f"(rounds: {rounds(result['ceiling'])})")
    print(f"  accepted (202):                              {accepted:,.0f}/s (rounds: {rounds(result['accepted'])})")
    print(f"  durably stored (rows counted after each round = all 202s): "
          f"{statistics.median(result['stored']):,.0f}/s")
    print(f"  serve processes' CPU while loaded: {statistics.median(result['cpu']):.2f} cores "
          f"(rounds: {', '.join(f'{c:.2f}' for c in result['cpu'])})")
    # CPU per activity does not depend on what else the (shared) machine runs, unlike the rates above.
    ms, rsa_ms = statistics.median(result["cpu_ms"]), args.cores * 1000 / ceiling
    print(f"  serve CPU per accepted activity: {ms:.3f} ms (RSA verify alone: {rsa_ms:.3f} ms; "
          f"{args.cores} cores at this cost: {args.cores * 1000 / ms:,.0f}/s)")
    if result["cpu_ms_processed"]:
        ms = statistics.median(result["cpu_ms_processed"])
        print(f"  serve CPU per activity, accepted and processed: {ms:.3f} ms ({args.cores} cores at this cost: "
              f"{args.cores * 1000 / ms:,.0f}/s; rounds: {', '.join(f'{m:.3f}' for m in result['cpu_ms_processed'])})")
    print("  latency p50/p99 per round (ms): " + ", ".join(f"{p50:.1f}/{p99:.1f}" for p50, p99 in result["latency"]))
    print(f"  ratio accepted / verify ceiling: {accepted / ceiling:.2f}")
    if result["processed"]:
        processed = statistics.median(result["processed"])
        print(f"  received -> all processed by the worker:    {processed:,.0f}/s "
              f"(rounds: {rounds(result['processed'])})")
        print(f"  ratio processed / verify ceiling: {processed / ceiling:.2f}")
        print(f"  goal: >= {GOAL:,.0f} processed/s on 2 cores  {'PASS' if processed >= GOAL else 'FAIL'}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--actors", type=int, default=16)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--mode", choices=("both", "inbox-only", "worker"), default="both")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--postgres", action="store_true",
                        help="a throwaway PostgreSQL database on 127.0.0.1:5432 instead of embedded SQLite")
    parser.add_argument("--processes", type=int, default=0, help="[server] processes (0 = one per pinned core)")
    args = parser.parse_args()
    cores = sorted(os.sched_getaffinity(0))[:args.cores]
    os.sched_setaffinity(0, cores)  # children (serve, wrk, signers) inherit it
    keys = [generate_key_pair() for _ in range(args.actors)]
    base, remote_gets = start_remote(keys)
    pems = {f"{base}/users/actor{i}#main-key": public for i, (_, public) in enumerate(keys)}
    started = time.monotonic()
    signed = presign(INBOX_URL, base, keys, args.actors * 4 + args.requests * args.rounds, len(cores))
    warmup, rest = signed[:args.actors * 4], signed[args.actors * 4:]
    rounds = [rest[i * args.requests:(i + 1) * args.requests] for i in range(args.rounds)]
    tool = "wrk (Lua script)" if shutil.which("wrk") else "python aiohttp client (own process)"
    print(f"cores: {len(cores)} (pinned: {cores}); web processes: {args.processes or len(cores)}; "
          f"load generator: {tool}; pre-signed {len(signed):,} requests "
          f"in {time.monotonic() - started:.0f}s; body {len(rounds[0][0][1])} bytes")
    modes = ("inbox-only", "worker") if args.mode == "both" else (args.mode,)
    for mode in modes:
        report(run_mode(mode, args, warmup, rounds, pems, remote_gets), args)


if __name__ == "__main__":
    main()
