"""Preview stampede (issue 15): 1,000 concurrent anonymous fetches of one artwork page right after it is
published (as the link-preview fetchers of every server its post reached do), against the same 1,000 fetches of
a static file of the same size served by the same process, measured in the same run.

Starts `cara-fed serve` (embedded SQLite and worker), publishes a new work per round through the upload form
(its page is never fetched anonymously before the stampede: the artist's own polling is signed in and bypasses
the page cache), then opens 1,000 connections with wrk (-c1000, one request each: a Lua delay() holds every
connection after its first answer) with varying User-Agents, Accept and Accept-Encoding headers. The ceiling
is the same stampede on a public media file of the page's size (a sendfile after a cached access check).
Reported: errors (any non-200 or socket error), latency, and the server process's CPU time (utime + stime from
/proc/<pid>/stat) for each, medians of rounds; once with back-pressure off (`[server] max_inflight_requests =
0`: like for like CPU) and once with its defaults (the page must still get 1,000 answers; the file is shed). Usage:
    .venv/bin/python bench/stampede.py [--fetches 1000] [--rounds 3]

Goal: 0 errors, and the page stampede's CPU at most 0.10 core-seconds (10 % of one core over the second the
stampede lasts) beyond the ceiling's.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import wrk_lua  # noqa: E402
from tests.flows.users import Browserless, eventually  # noqa: E402
from tests.instance import running_instance  # noqa: E402

GOAL_EXTRA_CPU_S = 0.10

# One real request per connection; afterwards delay() parks the connection, and the thread stops (writing a
# marker file) once every real request has its answer.
STAMPEDE_LUA = r"""
local quota, scheduled, sent, answered, marker = 0, 0, 0, 0, ""
local agents = {
  "Mastodon/4.3.2 (http.rb/5.2.0; +https://m%d.example/)",
  "Pleroma 2.7.0; https://p%d.example <admin@p%d.example>",
  "Misskey/2024.11.0 (https://k%d.example)",
  "GoToSocial/0.17.3 gotosocial (+https://g%d.example/)",
  "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
  "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
  "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
}
local accepts = {"text/html", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
function init(args) quota = tonumber(args[1]); marker = args[2] end
function delay()  -- wrk asks before every request, the first of each connection included
  if scheduled >= quota then return 3600000 end
  scheduled = scheduled + 1
  return 0
end
function request()
  sent = sent + 1
  local headers = {["User-Agent"] = string.format(agents[sent % #agents + 1], sent, sent),
                   ["Accept"] = accepts[sent % 2 + 1]}
  if sent % 3 ~= 0 then headers["Accept-Encoding"] = "gzip, deflate" end
  return wrk.format("GET", nil, headers)
end
function after_response(status, headers, body)
  answered = answered + 1
  if answered == quota then
    local f = assert(io.open(marker, "w")) f:write("done") f:close()
    wrk.thread:stop()
  end
end
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def stampede(url: str, fetches: int, pid: int, folder: Path) -> dict:
    marker = folder / f"done-{secrets.token_hex(4)}"
    path = folder / f"stampede-{secrets.token_hex(4)}.lua"
    path.write_text(STAMPEDE_LUA + wrk_lua.COUNTING)
    cpu_before, started = cpu_seconds(pid), time.monotonic()
    process = subprocess.Popen(["wrk", "-t1", f"-c{fetches}", "-d120s", "--timeout=60s", "-s", str(path), url, "--",
                                str(fetches), str(marker)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while not marker.exists() and process.poll() is None and time.monotonic() - started < 120:
        time.sleep(0.005)
    seconds = time.monotonic() - started
    cpu = cpu_seconds(pid) - cpu_before
    process.send_signal(signal.SIGINT)
    out, err = process.communicate()
    result = wrk_lua.parse(out + err)
    result.update(cpu_s=cpu, wall_s=seconds, complete=marker.exists())
    result["errors_total"] = result["socket_errors"] + sum(n for s, n in result["statuses"].items() if s != "200")
    return result


def photo(seed: int) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.radial_gradient("L").resize((1600, 1200)).convert("RGB")
    draw = ImageDraw.Draw(image)
    for i in range(6):
        draw.ellipse((seed * 37 % 1200 + i * 40, i * 90, seed * 37 % 1200 + i * 40 + 300, i * 90 + 260),
                     fill=(40 * i % 255, 200 - 20 * i, (seed * 50) % 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88)
    return out.getvalue()


async def publish(base: str, artist: Browserless, title: str) -> str:
    location = await artist.upload(title, [("p.jpg", photo(len(title)), f"{title}, a painting")])

    async def ready() -> bool:
        status, html = await artist.get(location)  # signed in: never fills the anonymous page cache
        return status == 200 and "Processing…" not in html and "/media/" in html
    await eventually(ready, within=300, what=f"{title} published")
    return base + location


async def seed_static(settings: dict[str, str], size: int) -> str:
    """A public file of `size` bytes (a media derivative) in the same data dir; returns its /media/ path."""
    from sqlalchemy import select

    from cara_fed.config import load_config
    from cara_fed.context import Context
    from cara_fed.models import Account, MediaAsset, MediaDerivative
    from cara_fed.storage import content_key, object_headers

    data = secrets.token_bytes(size)
    ctx = Context.create(load_config(environ=settings))
    try:
        key = content_key(data, ".jpg", salt="stampede")
        await ctx.storage.put("public", key, data, object_headers(key, noai=True))
        async with ctx.transaction() as tx:
            owner = await tx.session.scalar(select(Account.id).where(Account.username == "ada"))
            asset = MediaAsset(account_id=owner, purpose="avatar", state="ready", original_type="image/jpeg",
                               original_size=size)
            asset.derivatives = [MediaDerivative(long_edge=1, format="jpeg", content_type="image/jpeg", width=1,
                                                 height=1, size=size, key=key)]
            tx.session.add(asset)
        return f"/media/{key}"
    finally:
        await ctx.close()


async def run(args: argparse.Namespace, root: Path, inflight: str | None) -> tuple[list[dict], list[dict], int]:
    settings = {"CARA_FED__PROTECTION__MEDIA_RATE_LIMIT_PER_MINUTE": "0"}
    if inflight is not None:
        settings["CARA_FED__SERVER__MAX_INFLIGHT_REQUESTS"] = inflight
    with running_instance(root, settings=settings) as cara:
        cara.cli("createuser", "ada", "--email", "ada@bench.example", "--password", "ada password")
        artist = Browserless(cara.url)
        pages, ceilings, size = [], [], 0
        try:
            await artist.login("ada", "ada password")
            static_url = ""
            for n in range(args.rounds):
                page_url = await publish(cara.url, artist, f"Harbour at dusk {n}")
                await asyncio.sleep(1)  # let the worker's follow-up jobs of the publish settle
                if not static_url:  # the ceiling file: the size of the page as the stampede will get it
                    _, html = await artist.get(page_url.removeprefix(cara.url))
                    size = len(html.encode())
                    static_url = cara.url + await seed_static({**cara.env}, size)
                    stampede(static_url, 50, cara.pid, root)  # warm-up of the file path (access cache)
                ceilings.append(await asyncio.to_thread(stampede, static_url, args.fetches, cara.pid, root))
                pages.append(await asyncio.to_thread(stampede, page_url, args.fetches, cara.pid, root))
        finally:
            await artist.close()
    return pages, ceilings, size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fetches", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    wrk_lua.require_wrk("bench/stampede.py")
    # First with back-pressure off, so that both stampedes answer all 1,000 and their CPU compares like for
    # like; then with the default [server] max_inflight_requests, where the static file is partly shed (503)
    # and the page must still be answered 1,000 times (cached pages pass back-pressure).
    modes = {"back-pressure off (max_inflight_requests = 0)": "0", "default back-pressure": None}
    results = {}
    for name, inflight in modes.items():
        with tempfile.TemporaryDirectory(prefix="cara-stampede-") as tmp:
            results[name] = asyncio.run(run(args, Path(tmp), inflight))
    med = lambda runs, key: statistics.median(r[key] for r in runs)  # noqa: E731
    size = next(iter(results.values()))[2]
    print(f"{args.fetches} concurrent fetches (wrk -c{args.fetches}, one request each), {args.rounds} rounds; "
          f"page {size:,} bytes; {os.cpu_count()} cores (shared machine: compare within this run only)")
    for mode, (pages, ceilings, _size) in results.items():
        print(f"{mode}:")
        for name, runs in (("static file of that size", ceilings), ("new artwork page", pages)):
            rounds = ", ".join(f"{r['cpu_s']:.3f}" for r in runs)
            print(f"  {name:25} CPU {med(runs, 'cpu_s'):.3f} s (rounds: {rounds}); "
                  f"all answered in {med(runs, 'wall_s'):.2f} s; p50 {med(runs, 'p50_ms'):.0f} ms, "
                  f"p99 {med(runs, 'p99_ms'):.0f} ms; errors {sum(r['errors_total'] for r in runs)} "
                  f"{[r['statuses'] for r in runs]}")
    pages, ceilings, _ = results["back-pressure off (max_inflight_requests = 0)"]
    extra = med(pages, "cpu_s") - med(ceilings, "cpu_s")
    all_pages = [r for pages, _c, _s in results.values() for r in pages]
    errors = sum(r["errors_total"] for r in all_pages) + sum(not r["complete"] for r in all_pages)
    print(f"page CPU beyond the ceiling (back-pressure off): {extra:+.3f} core-seconds (goal <= "
          f"{GOAL_EXTRA_CPU_S:.2f}): {'PASS' if extra <= GOAL_EXTRA_CPU_S else 'FAIL'}; page errors in both modes: "
          f"{errors} (goal 0): {'PASS' if errors == 0 else 'FAIL'}")

if __name__ == "__main__":
    main()
