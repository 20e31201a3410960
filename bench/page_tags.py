"""Portfolio pages while remote Likes on another artist's works are processed (issue 15, caching for a surge: the
page cache must not be emptied by every unrelated write).

Seeds one data dir (embedded SQLite, in process, the real upload pipeline): `ada` with a few works, `bob` with
`--works` works. Then, per round and per code under test (this checkout, and `--base`, a checkout of the code
to compare with, e.g. main: `git worktree add --detach /tmp/base-main main`), on a fresh copy of that data dir:
starts `cara-fed serve` (embedded worker: the inbox's rows are processed in the same process, as by default),
lets `--actors` remote actors (served from this process, on loopback) like one of bob's works each so their
first contact (fetching and storing the actor) is behind us, then runs wrk on ada's anonymous portfolio:
  quiet: no other traffic;
  likes: while signed Likes of bob's other works are sent at `--likes-per-second` (distinct actor and work
         each, so every one is a write; 16 senders) to the shared inbox and the worker processes them.
Rounds interleave the two codes so machine noise hits both; medians are printed, with the Likes accepted (202)
and stored (processed) per second during the window: under a saturating page load the embedded worker falls
behind the senders, so compare the page rates at the stored rates they came with. The machine is shared:
compare only figures from one run. Usage:
    .venv/bin/python bench/page_tags.py --base /tmp/base-main [--seconds 5] [--rounds 3] [--connections 8]
                                        [--likes-per-second 8,40] [--actors 40] [--works 12]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import wrk_lua  # noqa: E402
from bench.inbox import start_remote  # noqa: E402
from federation.signatures import generate_key_pair, sign_request  # noqa: E402
from tests.instance import running_instance  # noqa: E402

DOMAIN = "tags-bench.example"  # every instance serves this host; requests name it in Host
INBOX_URL = f"http://{DOMAIN}/inbox"
AP = "application/activity+json"
AS = "https://www.w3.org/ns/activitystreams"
Signed = tuple[dict[str, str], bytes]
SENDERS = 16
_LOCK = threading.Lock()


async def _seed(data_dir: Path, works: int) -> list[int]:
    from aiohttp.test_utils import TestClient, TestServer

    from cara_fed.config import load_config
    from cara_fed_run.app import create_app
    from tests import images
    from tests.conftest import sign_up
    from tests.web.test_artworks import upload

    config = load_config(environ={"CARA_FED__SERVER__DATA_DIR": str(data_dir), "CARA_FED__SERVER__DOMAIN": DOMAIN,
                                  "CARA_FED__SERVER__SCHEME": "http"})
    ids: dict[str, list[int]] = {}
    async with TestClient(TestServer(create_app(config, jobs="inline", migrate=True))) as client:
        for name, count in (("ada", 6), ("bob", works)):
            client.session.cookie_jar.clear()
            assert (await sign_up(client, name)).status == 303
            for n in range(count):
                response = await upload(client, [("a.jpg", images.jpeg(640, 480), "alt")], title=f"{name} {n}")
                assert response.status == 303, await response.text()
                ids.setdefault(name, []).append(int(response.headers["Location"].rsplit("/", 1)[1]))
    return ids["bob"]


def _like(base: str, index: int, key: tuple[str, str], work: int) -> Signed:
    actor_id = f"{base}/users/actor{index}"
    body = json.dumps({"@context": AS, "id": f"{actor_id}/likes/{uuid.uuid4().hex}", "type": "Like",
                       "actor": actor_id, "object": f"http://{DOMAIN}/@bob/{work}"}).encode()
    headers = {"Content-Type": AP, "Host": DOMAIN,
               **sign_request("POST", INBOX_URL, {}, body, f"{actor_id}#main-key", key[0])}
    return headers, body


def _post_all(port: int, requests: list[Signed], rate: float | None, stop: threading.Event,
              statuses: dict[int, int]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    next_at = time.monotonic()
    for headers, body in requests:
        if stop.is_set():
            break
        connection.request("POST", "/inbox", body, headers)
        response = connection.getresponse()
        response.read()
        with _LOCK:
            statuses[response.status] = statuses.get(response.status, 0) + 1
        if rate:
            next_at += 1 / rate
            time.sleep(max(0.0, next_at - time.monotonic()))
    connection.close()


def _scalar(data_dir: Path, sql: str) -> int:
    with sqlite3.connect(data_dir / "cara-fed.db", timeout=30) as db:
        return int(db.execute(sql).fetchone()[0])


def _settle(data_dir: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while _scalar(data_dir, "SELECT count(*) FROM inbox_items WHERE state IN ('received', 'retry')"):
        if time.monotonic() > deadline:
            raise RuntimeError("the worker did not process the warm-up Likes")
        time.sleep(0.2)


def one_run(code: Path, seeded: Path, scratch: Path, warm: list[Signed], likes: list[Signed], rate: float,
            args: argparse.Namespace) -> dict:
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(seeded, scratch / "data")
    settings = {"CARA_FED__SERVER__DATA_DIR": str(scratch / "data"), "CARA_FED__SERVER__DOMAIN": DOMAIN,
                "CARA_FED__CACHE__PAGE_SECONDS": "30", "PYTHONPATH": str(code)}
    with running_instance(scratch, settings=settings) as instance:
        statuses: dict[int, int] = {}
        _post_all(instance.port, warm, None, threading.Event(), statuses)  # first contact: actors fetched, stored
        _settle(scratch / "data")
        url = instance.url + "/@ada"
        wrk_lua.run(url, 1, args.connections)  # warm the cache
        quiet = wrk_lua.run(url, args.seconds, args.connections)
        before = _scalar(scratch / "data", "SELECT count(*) FROM likes")
        stop, sent = threading.Event(), {}
        # Several senders, each at its share of the rate: one waits for each 202 (the group commit), and under
        # load that takes longer than the gap between Likes.
        senders = [threading.Thread(target=_post_all, args=(instance.port, likes[n::SENDERS],
                                                            rate / SENDERS, stop, sent))
                   for n in range(SENDERS)]
        for sender in senders:
            sender.start()
        busy = wrk_lua.run(url, args.seconds, args.connections)
        stop.set()
        for sender in senders:
            sender.join()
        stored = _scalar(scratch / "data", "SELECT count(*) FROM likes") - before
    bad = {status: n for status, n in [*statuses.items(), *sent.items()] if status != 202}
    if bad or quiet["socket_errors"] or busy["socket_errors"] or set(busy["statuses"]) - {"200"}:
        raise RuntimeError(f"errors: inbox {bad}, wrk {quiet['statuses']} {busy['statuses']}")
    return {"quiet": quiet["rate"], "likes": busy["rate"], "p99": busy["p99_ms"],
            "sent_per_s": sent.get(202, 0) / args.seconds, "stored_per_s": stored / args.seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=Path, required=True, help="checkout of the code to compare with")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--likes-per-second", default="8,40", help="one rate, or several (comma-separated)")
    parser.add_argument("--actors", type=int, default=40)
    parser.add_argument("--works", type=int, default=12)
    args = parser.parse_args()
    wrk_lua.require_wrk("bench/page_tags.py")
    if not (args.base / "cara_fed" / "cache.py").exists():
        raise SystemExit(f"{args.base} is not a cara-fed checkout")
    root = Path(tempfile.mkdtemp(prefix="page-tags-"))
    try:
        seeded = root / "seeded"
        started = time.monotonic()
        works = asyncio.run(_seed(seeded, args.works))
        keys = [generate_key_pair() for _ in range(args.actors)]
        base, _ = start_remote(keys)
        warm = [_like(base, i, keys[i], works[0]) for i in range(args.actors)]
        rates = [float(r) for r in args.likes_per_second.split(",")]
        needed = int(max(rates) * args.seconds * 1.5) + 1
        pairs = [(i, w) for w in works[1:] for i in range(args.actors)][:needed]
        if len(pairs) < needed:
            raise SystemExit(f"{len(pairs)} distinct Likes, {needed} needed: raise --actors or --works")
        likes = [_like(base, i, keys[i], w) for i, w in pairs]
        print(f"seeded and signed in {time.monotonic() - started:.0f} s; portfolio /@ada, wrk {args.connections} "
              f"connections x {args.seconds} s; Likes of bob's works sent at {args.likes_per_second}/s", flush=True)
        codes = {"base": args.base.resolve(), "tags": ROOT}
        results: dict[tuple[float, str], list[dict]] = {(rate, name): [] for rate in rates for name in codes}
        for round_ in range(args.rounds):
            for rate in rates:
                for name, code in (codes.items() if round_ % 2 == 0 else reversed(codes.items())):
                    result = one_run(code, seeded, root / name, warm, likes, rate, args)
                    results[rate, name].append(result)
                    print(f"round {round_ + 1} {rate:g} Likes/s {name:4}: quiet {result['quiet']:6.0f} req/s, during "
                          f"Likes {result['likes']:6.0f} req/s (p99 {result['p99']:.0f} ms; Likes accepted "
                          f"{result['sent_per_s']:.0f}/s, stored {result['stored_per_s']:.0f}/s)  load "
                          f"{os.getloadavg()[0]:.1f}", flush=True)
        print("\nmedians (req/s of ada's anonymous portfolio):")
        for (rate, name), runs in results.items():
            def median(field: str, runs: list[dict] = runs) -> float:
                return statistics.median(r[field] for r in runs)
            print(f"  Likes sent at {rate:g}/s, {name:4} ({codes[name]}): quiet {median('quiet'):.0f}, during Likes "
                  f"{median('likes'):.0f} (p99 {median('p99'):.0f} ms); Likes accepted {median('sent_per_s'):.0f}/s, "
                  f"stored {median('stored_per_s'):.0f}/s")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
