"""Anonymous portfolio page throughput vs. a pre-rendered static-HTML handler, measured in the same run.

Starts a real `cara-fed serve` (demo data, embedded SQLite) and a bare aiohttp app that returns the same
HTML bytes, then loads each with wrk (Debian package) or, without wrk, a Python aiohttp load generator.
Prints requests/s for both, their ratio and the goal (ratio >= 0.5). Usage:
    .venv/bin/python bench/portfolio_page.py [--seconds 8] [--rounds 3] [--connections 32]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.instance import free_port, running_instance  # noqa: E402

STATIC_SERVER = """
import sys
from aiohttp import web
body = open(sys.argv[1], "rb").read()
async def page(request):
    return web.Response(body=body, content_type="text/html")
app = web.Application()
app.router.add_get("/@demo", page)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[2]), print=None, access_log=None)
"""


def wrk(url: str, seconds: int, connections: int) -> float:
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", url], capture_output=True,
                         text=True, check=True).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not match or "Non-2xx" in out:
        raise RuntimeError(f"wrk run failed:\n{out}")
    return float(match.group(1))


async def python_load(url: str, seconds: int, connections: int) -> float:
    import aiohttp

    done = 0
    deadline = time.monotonic() + seconds

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal done
        while time.monotonic() < deadline:
            async with session.get(url) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"{url} answered {response.status}")
            done += 1

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections)) as session:
        start = time.monotonic()
        await asyncio.gather(*(worker(session) for _ in range(connections)))
        return done / (time.monotonic() - start)


def measure(url: str, seconds: int, connections: int) -> float:
    if shutil.which("wrk"):
        return wrk(url, seconds, connections)
    return asyncio.run(python_load(url, seconds, connections))


def wait_up(url: str) -> None:
    for _ in range(100):
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    tool = "wrk" if shutil.which("wrk") else "python aiohttp client"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = {**os.environ, "CARA_FED__SERVER__DATA_DIR": str(root / "data")}
        subprocess.run([sys.executable, "-m", "cara_fed_run.cli", "demo"], env=env, cwd=root, check=True,
                       capture_output=True)
        with running_instance(root, settings={"CARA_FED__SERVER__DATA_DIR": str(root / "data")}) as instance:
            page_url = instance.url + "/@demo"
            # Let the demo images finish processing so the page is the real, complete one.
            for _ in range(300):
                with urllib.request.urlopen(page_url) as response:
                    html = response.read()
                if b"Processing" not in html:
                    break
                time.sleep(0.2)
            (root / "page.html").write_bytes(html)
            static_port = free_port()
            static = subprocess.Popen([sys.executable, "-c", STATIC_SERVER, str(root / "page.html"),
                                       str(static_port)])
            try:
                static_url = f"http://127.0.0.1:{static_port}/@demo"
                wait_up(static_url)
                measure(page_url, 1, args.connections)  # warm-up: render once, fill the cache
                ours, ceiling = [], []
                for _ in range(args.rounds):  # interleave so machine noise hits both alike
                    ceiling.append(measure(static_url, args.seconds, args.connections))
                    ours.append(measure(page_url, args.seconds, args.connections))
            finally:
                static.terminate()
                static.wait()
    ours_median, ceiling_median = statistics.median(ours), statistics.median(ceiling)
    ratio = ours_median / ceiling_median
    print(f"load generator: {tool}, {args.connections} connections, {args.rounds} rounds x {args.seconds}s")
    print(f"page size: {len(html)} bytes")
    print(f"static-HTML ceiling: {ceiling_median:,.0f} req/s (rounds: {', '.join(f'{r:,.0f}' for r in ceiling)})")
    print(f"portfolio /@demo:    {ours_median:,.0f} req/s (rounds: {', '.join(f'{r:,.0f}' for r in ours)})")
    print(f"ratio: {ratio:.2f}  goal: >= 0.50  {'PASS' if ratio >= 0.5 else 'FAIL'}")


if __name__ == "__main__":
    main()
