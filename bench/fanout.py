"""One post to 10,000 followers on 500 instances, end to end through the real queue, against the bare
fan-out ceiling measured in the same run.

    .venv/bin/python bench/fanout.py [--followers 10000] [--instances 500] [--latency 0.1] [--rounds 3]
                                     [--threads N] [--batch N]

Remote side: one sink process (tests/federation/sink.py) with one listening socket per instance, so each
instance is a distinct domain (`127.0.0.1:PORT`) for shared-inbox dedup and the circuit breaker; every
POST's signature is verified, and each answer waits `--latency` seconds. Our side: embedded SQLite and
SqliteHuey, a real Worker on the delivery queue handing jobs to this process's event loop, as `serve` runs.
Measured: publish `ArtworkPublished` -> the sink's last 2xx (recipients query, serialize once, 500
Delivery rows, queue, claim, fresh signature per request, POST, settle). Ceiling: the same 500 bodies,
signed beforehand, POSTed at once with asyncio.gather through a fresh session with the same connector
limits. Goal: <= 2 s. Always exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402

from cara_fed.config import load_config  # noqa: E402
from cara_fed.context import Context  # noqa: E402
from cara_fed.events import ArtworkPublished  # noqa: E402
from cara_fed.migrate import upgrade  # noqa: E402
from cara_fed.models import Account, Artwork, Delivery, Follow, OutgoingActivity  # noqa: E402
from cara_fed.queue import InlineJobs  # noqa: E402
from cara_fed.services import artworks, deliveries  # noqa: E402
from cara_fed.services.artworks import ArtworkInput  # noqa: E402
from cara_fed.services.media import Upload  # noqa: E402
from cara_fed_run.worker import Worker, build_full_registry, build_registry, wire_jobs  # noqa: E402
from federation.outbound import delivery  # noqa: E402
from federation.signatures import sign_request  # noqa: E402
from tests import images  # noqa: E402
from tests.federation.sink import local_artist  # noqa: E402

GOAL_SECONDS = 2.0


def start_sink(root: Path, keys: dict[str, str], instances: int, latency: float) -> tuple[subprocess.Popen, list]:
    (root / "keys.json").write_text(json.dumps(keys))
    process = subprocess.Popen([sys.executable, "-m", "tests.federation.sink", "--ports", str(instances),
                                "--latency", str(latency), "--keys", str(root / "keys.json")],
                               cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, json.loads(process.stdout.readline())["ports"]


async def stats(http: aiohttp.ClientSession, port: int, reset: bool = False) -> dict:
    async with http.get(f"http://127.0.0.1:{port}/{'_reset' if reset else '_stats'}") as response:
        return await response.json()


async def wait_ok(http: aiohttp.ClientSession, port: int, expected: int, within: float = 120.0) -> dict:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        current = await stats(http, port)
        if current["ok"] >= expected:
            return current
        await asyncio.sleep(0.01)
    raise RuntimeError(f"only {current['ok']} of {expected} deliveries succeeded: {current}")


async def seed(ctx: Context, ports: list[int], followers: int, artist: Account) -> None:
    """10,000 accepted remote followers, spread evenly over the instances. Bulk rows (not one transaction
    per follower through the services): this is scenery, not what is measured."""
    async with ctx.transaction() as tx:
        values = []
        for n in range(followers):
            base = f"http://127.0.0.1:{ports[n % len(ports)]}"
            values.append({"username": f"fan{n}", "domain": f"127.0.0.1:{ports[n % len(ports)]}",
                           "uri": f"{base}/users/fan{n}", "inbox_url": f"{base}/users/fan{n}/inbox",
                           "shared_inbox_url": f"{base}/inbox", "key_id": f"{base}/users/fan{n}#main-key",
                           "public_key_pem": "(not used)"})
        ids = list(await tx.session.scalars(insert(Account).returning(Account.id, sort_by_parameter_order=True),
                                            values))
        await tx.session.execute(insert(Follow), [
            {"follower_id": i, "followee_id": artist.id, "state": "accepted", "uri": f"{v['uri']}/follows/1"}
            for i, v in zip(ids, values, strict=True)])


async def publish_quietly(ctx: Context, artist: Account, title: str) -> int:
    """An artwork through the real protection pipeline, published without federating (core-only jobs)."""
    ctx.jobs = InlineJobs(build_registry(), lambda: ctx)
    work = await artworks.create_artwork(ctx, artist, ArtworkInput(title=title),
                                         [Upload(images.jpeg(640, 480), "bench.jpg", "a bench heron")])
    async with ctx.sessions() as session:
        assert (await session.get(Artwork, work.id)).state == "published"
    return work.id


async def ceiling(body: bytes, urls: list[str], key_id: str, key_pem: str) -> tuple[float, float]:
    """(seconds for the bare fan-out, seconds spent pre-signing it)."""
    start = time.perf_counter()
    signed = [{"Content-Type": "application/activity+json", **sign_request("POST", url, {}, body, key_id, key_pem)}
              for url in urls]
    signing = time.perf_counter() - start
    connector = aiohttp.TCPConnector(limit=200, limit_per_host=8)  # what federation.http.session uses

    async def post(http: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> int:
        async with http.post(url, data=body, headers=headers) as response:
            await response.read()
            return response.status

    async with aiohttp.ClientSession(connector=connector) as http:
        start = time.perf_counter()
        statuses = await asyncio.gather(*(post(http, url, h) for url, h in zip(urls, signed, strict=True)))
        elapsed = time.perf_counter() - start
    assert all(200 <= s < 300 for s in statuses), set(statuses)
    return elapsed, signing


async def sent_urls(ctx: Context, work_id: int, expected: int) -> tuple[bytes, list[str]]:
    """The activity's body and its inboxes, once every delivery is settled as sent."""
    for _ in range(500):
        async with ctx.sessions() as session:
            activity = await session.scalar(select(OutgoingActivity).where(OutgoingActivity.artwork_id == work_id))
            urls = list(await session.scalars(select(Delivery.inbox_url).where(
                Delivery.activity_id == activity.id, Delivery.state == "sent")))
        if len(urls) == expected:
            return activity.body.encode(), urls
        await asyncio.sleep(0.02)
    raise RuntimeError(f"{len(urls)} of {expected} deliveries settled as sent")


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = load_config(environ={"CARA_FED__SERVER__DATA_DIR": str(root / "data"),
                                      "CARA_FED__SERVER__DOMAIN": "bench.example",
                                      "CARA_FED__FEDERATION__ALLOW_PRIVATE_ADDRESSES": "true",
                                      "CARA_FED__JOBS__WORKER_THREADS": str(args.threads)})
        ctx = Context.create(config)
        await upgrade(ctx.engine)
        ctx.jobs = InlineJobs(build_registry(), lambda: ctx)
        artist = await local_artist(ctx, "bench")
        key_id = ctx.url("/users/bench#main-key")
        sink, ports = start_sink(root, {key_id: artist.public_key_pem}, args.instances, args.latency)
        if args.batch:
            deliveries.BATCH = args.batch
        if args.concurrency:
            delivery.CONCURRENCY = args.concurrency
        try:
            await seed(ctx, ports, args.followers, artist)
            works = [await publish_quietly(ctx, artist, f"Bench {n}") for n in range(args.rounds)]
            jobs = wire_jobs(ctx, build_full_registry())
            jobs.attach(ctx, asyncio.get_running_loop())
            worker = Worker(jobs, ("delivery",), threads=config.jobs.worker_threads, embedded=True)
            worker.start()
            async with aiohttp.ClientSession() as control:
                ours, bare, signing = [], [], []
                for work_id in works:
                    await asyncio.sleep(args.idle)  # the worker idles (and polls less often) before a post
                    await stats(control, ports[0], reset=True)
                    started = time.time()
                    await ctx.jobs.publish(ArtworkPublished(work_id))
                    done = await wait_ok(control, ports[0], args.instances)
                    ours.append(done["last_ok_at"] - started)
                    assert done["bad_signatures"] == 0 and done["domains"] == args.instances, done
                    body, urls = await sent_urls(ctx, work_id, args.instances)
                    await stats(control, ports[0], reset=True)
                    elapsed, signed_in = await ceiling(body, urls, key_id, artist.private_key_pem)
                    bare.append(elapsed)
                    signing.append(signed_in)
            await asyncio.to_thread(worker.stop)
        finally:
            assert sink.stdin is not None
            sink.stdin.close()
            sink.wait(timeout=30)
            await ctx.close()
    best, ceil = statistics.median(ours), statistics.median(bare)
    print(f"fan-out: 1 post, {args.followers:,} followers on {args.instances} instances "
          f"({args.instances} shared inboxes), peer latency {args.latency * 1000:.0f} ms")
    print(f"queue: SqliteHuey, {config.jobs.worker_threads} worker threads on the delivery queue, "
          f"{deliveries.BATCH} deliveries per job, {delivery.CONCURRENCY} in flight per job")
    print(f"publish -> last 2xx (real queue): {best:.2f} s  (rounds: {', '.join(f'{r:.2f}' for r in ours)})")
    print(f"bare fan-out ceiling (gather):    {ceil:.2f} s  (rounds: {', '.join(f'{r:.2f}' for r in bare)})")
    print(f"signing {args.instances} requests with sign_request: {statistics.median(signing):.2f} s "
          f"({statistics.median(signing) / args.instances * 1000:.1f} ms each; excluded from the ceiling)")
    print(f"ratio (ours / ceiling): {best / ceil:.2f}")
    print(f"goal: <= {GOAL_SECONDS:g} s  {'PASS' if best <= GOAL_SECONDS else 'FAIL'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followers", type=int, default=10_000)
    parser.add_argument("--instances", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--idle", type=float, default=2.0,
                        help="seconds the worker idles before each post (huey polls every 0.1 s, slowing to 1 s)")
    parser.add_argument("--threads", type=int, default=2, help="delivery worker threads (config default: 2)")
    parser.add_argument("--batch", type=int, default=0, help="deliveries per deliver job (default: the service's)")
    parser.add_argument("--concurrency", type=int, default=0, help="POSTs in flight per job (default: the job's)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
