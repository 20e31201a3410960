"""Back-pressure past the knee: uncached portfolio pages under more connections than one process can serve,
with `[server] max_inflight_requests` off and on, in the same run.

Starts a real `cara-fed serve` (demo data, embedded SQLite, page cache off so every request renders) twice and
loads `/@demo` with wrk (`apt-get install -y wrk`). Prints, for each: requests/s answered 200, 503s, and the
latency distribution (wrk --latency: all answers together). With the limit on, the excess is answered 503 at
once and the requests let in keep a short queue, so p99 falls instead of growing with the backlog. Usage:
    .venv/bin/python bench/backpressure.py [--seconds 8] [--connections 256] [--limit 8]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.instance import running_instance  # noqa: E402


def wrk(url: str, seconds: int, connections: int) -> dict:
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    shed = int(non2xx.group(1)) if non2xx else 0
    errors = re.search(r"Socket errors: (.*)", out)
    percentiles = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)", out, re.MULTILINE))
    return {"ok_per_s": (total - shed) / seconds, "shed": shed, "total": total, "p50": percentiles.get("50"),
            "p90": percentiles.get("90"), "p99": percentiles.get("99"),
            "socket_errors": errors.group(1) if errors else ""}


def run(root: Path, limit: int, wait_ms: int, seconds: int, connections: int) -> dict:
    settings = {"CARA_FED__SERVER__DATA_DIR": str(root / "data"), "CARA_FED__CACHE__PAGE_SECONDS": "0",
                "CARA_FED__SERVER__MAX_INFLIGHT_REQUESTS": str(limit),
                "CARA_FED__SERVER__INFLIGHT_WAIT_MS": str(wait_ms)}
    with running_instance(root, settings=settings) as instance:
        url = instance.url + "/@demo"
        for _ in range(300):  # the demo images finish processing: the real, complete page
            with urllib.request.urlopen(url) as response:
                if b"Processing" not in response.read():
                    break
            time.sleep(0.2)
        wrk(url, 1, 4)  # warm-up
        return wrk(url, seconds, connections)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=256)
    parser.add_argument("--limit", type=int, default=8)
    parser.add_argument("--wait-ms", type=int, default=100)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is required: apt-get install -y wrk")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = {**os.environ, "CARA_FED__SERVER__DATA_DIR": str(root / "data")}
        subprocess.run([sys.executable, "-m", "cara_fed_run.cli", "demo"], env=env, cwd=root, check=True,
                       capture_output=True)
        results = {"off": run(root, 0, args.wait_ms, args.seconds, args.connections),
                   f"max_inflight_requests={args.limit}": run(root, args.limit, args.wait_ms, args.seconds,
                                                              args.connections)}
    print(f"wrk -t2 -c{args.connections} -d{args.seconds}s /@demo, page cache off, one web process, "
          f"inflight_wait_ms={args.wait_ms}")
    for name, r in results.items():
        print(f"{name:>26}: {r['ok_per_s']:7.1f} ok req/s  {r['shed']:6d} answered 503  p50 {r['p50']}  "
              f"p90 {r['p90']}  p99 {r['p99']}  {r['socket_errors']}")


if __name__ == "__main__":
    main()
