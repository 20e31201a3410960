"""wrk with a Lua script that counts answers by status and prints one JSON summary (latency percentiles in ms,
requests, socket errors), for the benches that need more than wrk's text report: login_storm, stampede, surge.

`script` is Lua that may define `init()`, `request()`, `delay()` and `after_response(status, headers, body)`
(called after each answer is counted); the counting `response()`, `setup()` and `done()` are appended here.
wrk must be installed (Debian: apt-get install -y wrk); the benches refuse to run without it, since a Python
load generator would be the bottleneck.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

COUNTING = r"""
local bench_threads = {}
function setup(thread) table.insert(bench_threads, thread) end
counts = {}
function response(status, headers, body)
  local key = tostring(status)
  counts[key] = (counts[key] or 0) + 1
  if after_response then after_response(status, headers, body) end
end
function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(bench_threads) do
    for status, n in pairs(thread:get("counts") or {}) do total[status] = (total[status] or 0) + n end
  end
  local parts = {}
  for status, n in pairs(total) do parts[#parts + 1] = string.format('"%s": %d', status, n) end
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests": %d, "seconds": %.3f, "p50_ms": %.2f, "p90_ms": %.2f, ' ..
    '"p99_ms": %.2f, "max_ms": %.2f, "errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, ' ..
    '"statuses": {%s}}\n', summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000, e.connect, e.read, e.write,
    e.timeout, table.concat(parts, ", ")))
end
"""


def require_wrk(bench: str) -> None:
    if not shutil.which("wrk"):
        raise SystemExit(f"{bench} needs wrk (apt-get install -y wrk): a Python load generator would be the "
                         "bottleneck and the figures would measure it, not the server.")


def command(url: str, seconds: float, connections: int, script: str = "", *, threads: int = 1,
            timeout_s: int = 30, args: tuple[str, ...] = (), folder: Path | None = None) -> list[str]:
    """The wrk command line; the script (with the counting part) is written to a file in `folder`."""
    folder = folder or Path(tempfile.mkdtemp(prefix="wrk-"))
    path = folder / f"wrk-{abs(hash((script, url)))}.lua"
    path.write_text(script + COUNTING)
    return ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", f"--timeout={timeout_s}s", "-s", str(path),
            url, *(["--", *args] if args else [])]


def parse(out: str) -> dict:
    line = next((line for line in out.splitlines() if line.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{out}")
    result = json.loads(line[len("WRKJSON "):])
    result["rate"] = result["requests"] / result["seconds"] if result["seconds"] else 0.0
    result["socket_errors"] = sum(result["errors"].values())
    return result


def run(url: str, seconds: float, connections: int, script: str = "", **options: object) -> dict:
    """One wrk run; {"requests", "seconds", "rate", "p50_ms", "p90_ms", "p99_ms", "max_ms", "statuses": {...},
    "errors": {...}, "socket_errors"}."""
    out = subprocess.run(command(url, seconds, connections, script, **options),  # type: ignore[arg-type]
                         capture_output=True, text=True, check=True).stdout
    return parse(out)


def start(url: str, seconds: float, connections: int, script: str = "", **options: object) -> subprocess.Popen:
    """The same in the background (e.g. a page load beside a storm); finish with `finish(process)`."""
    return subprocess.Popen(command(url, seconds, connections, script, **options),  # type: ignore[arg-type]
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen) -> dict:
    out, err = process.communicate()
    if process.returncode:
        raise RuntimeError(f"wrk failed ({process.returncode}): {err}")
    return parse(out)
