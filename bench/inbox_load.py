"""Load generator for bench/inbox.py: send pre-built HTTP/1.1 requests, each exactly once, with a fixed
number in flight, and count the answers by status. wrk (with the Lua script below) when installed, else
a raw asyncio-streams client in its own process (`python bench/inbox_load.py FILE HOST PORT CONNECTIONS`).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

# Each connection takes the next request; once all are sent, a connection that still needs one sends
# GET /inbox (405, not counted). When every real request has its answer the thread writes the counts and
# the time from the first request to the last answer (CLOCK_MONOTONIC via LuaJIT's FFI) to args[3] and
# stops; wrk itself sleeps for -d, so fire() interrupts it then (its summary gives latency and errors).
# Reads the file raw_requests() writes: `<length>\n<raw request>` records, into a Lua list (surge.py too).
READ_RAW_REQUESTS = r"""
local function read_raw_requests(path)
  local out = {}
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  local pos = 1
  while pos <= #data do
    local nl = data:find("\n", pos, true)
    local len = tonumber(data:sub(pos, nl - 1))
    out[#out + 1] = data:sub(nl + 1, nl + len)
    pos = nl + 1 + len
  end
  return out
end
"""

LUA = READ_RAW_REQUESTS + r"""
local ffi = require("ffi")
ffi.cdef[[ typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
           int clock_gettime(int clock, bench_timespec *ts); ]]
local ts = ffi.new("bench_timespec")
local function now() ffi.C.clock_gettime(1, ts) return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) / 1e9 end
local requests, count, filler, verified, result_file, started = {}, 0, "", false, nil, nil
local sent, ok, real, other = 0, 0, 0, ""
function init(args)
  requests = read_raw_requests(args[1])
  count = #requests
  filler = "GET /inbox HTTP/1.1\r\nHost: " .. args[2] .. "\r\n\r\n"
  result_file = args[3]
end
function request()
  -- wrk calls this once before the run to check the request (script_verify_request): give it the filler.
  if not verified then verified = true return filler end
  sent = sent + 1
  if sent == 1 then started = now() end
  if sent <= count then return requests[sent] end
  return filler
end
function response(status, headers, body)
  if status == 405 then return end
  real = real + 1
  if status == 202 then ok = ok + 1 else other = other .. status .. "," end
  if real == count then
    local f = assert(io.open(result_file .. ".part", "w"))
    f:write(string.format('{"ok": %d, "real": %d, "other": "%s", "seconds": %.6f}', ok, real, other, now() - started))
    f:close()
    os.rename(result_file .. ".part", result_file)
    wrk.thread:stop()
  end
end
function done(summary, latency, requests)
  io.write(string.format('{"p50_ms": %.2f, "p99_ms": %.2f, "errors": "%d/%d/%d/%d"}\n', latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.timeout))
end
"""


def raw_requests(host: str, signed: list[tuple[dict[str, str], bytes]], path: str) -> bytes:
    """The file both clients read: `<length>\\n<raw HTTP/1.1 request>` records."""
    out = bytearray()
    for headers, body in signed:
        lines = [f"POST {path} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in headers.items() if k != "Host"),
                 f"Content-Length: {len(body)}", "", ""]
        raw = "\r\n".join(lines).encode() + body
        out += f"{len(raw)}\n".encode() + raw
    return bytes(out)


def _statuses(outcome: dict) -> dict[str, int]:
    statuses = {"202": outcome["ok"]}
    for status in filter(None, outcome["other"].split(",")):
        statuses[status] = statuses.get(status, 0) + 1
    return statuses


def fire(base_url: str, signed: list[tuple[dict[str, str], bytes]], connections: int, tmp: Path, host: str,
         path: str = "/users/ada/inbox") -> dict:
    """Send every request once to `base_url` (with `Host: host`); returns {"statuses": {status: count},
    "seconds": wall time, "p50_ms", "p99_ms"}."""
    request_file = tmp / "requests.bin"
    request_file.write_bytes(raw_requests(host, signed, path))
    if shutil.which("wrk"):
        outcome = _wrk(base_url, request_file, host, connections, tmp)
    else:
        hostname, port = urlsplit(base_url).netloc.rsplit(":", 1)
        out = subprocess.run([sys.executable, __file__, str(request_file), hostname, port, str(connections)],
                             capture_output=True, text=True, check=True).stdout
        outcome = json.loads(out)
    if outcome["real"] != len(signed):
        raise RuntimeError(f"only {outcome['real']} of {len(signed)} requests were answered: {outcome}")
    return {"statuses": _statuses(outcome), "seconds": outcome["seconds"], "p50_ms": outcome["p50_ms"],
            "p99_ms": outcome["p99_ms"]}


def _wrk(base_url: str, request_file: Path, host: str, connections: int, tmp: Path, limit: int = 600) -> dict:
    script, result = tmp / "inbox.lua", tmp / "wrk-result.json"
    script.write_text(LUA)
    result.unlink(missing_ok=True)
    process = subprocess.Popen(["wrk", "-t1", f"-c{connections}", f"-d{limit}s", "--timeout", "60s", "-s",
                                str(script), base_url + "/", "--", str(request_file), host, str(result)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while not result.exists() and process.poll() is None:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate()
    if not result.exists():
        raise RuntimeError(f"wrk ended before every request was answered:\n{out}\n{err}")
    summary = json.loads(next(line for line in out.splitlines() if line.startswith("{")))
    if summary["errors"] != "0/0/0/0":
        raise RuntimeError(f"wrk saw socket errors (connect/read/write/timeout): {summary['errors']}")
    return {**json.loads(result.read_text()), **summary}


async def _client(data: bytes, host: str, port: int, connections: int) -> dict:
    records, pos = [], 0
    while pos < len(data):
        newline = data.index(b"\n", pos)
        length = int(data[pos:newline])
        records.append(data[newline + 1:newline + 1 + length])
        pos = newline + 1 + length
    next_index, ok, other, latencies = 0, 0, [], []

    async def connection() -> None:
        nonlocal next_index, ok
        reader, writer = await asyncio.open_connection(host, port)
        while next_index < len(records):
            raw, next_index = records[next_index], next_index + 1
            sent = time.perf_counter()
            writer.write(raw)
            status = int((await reader.readline()).split()[1])
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - sent)
            if status == 202:
                ok += 1
            else:
                other.append(str(status))
        writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    latencies.sort()
    return {"ok": ok, "real": len(latencies), "other": ",".join(other), "seconds": time.perf_counter() - start,
            "p50_ms": latencies[len(latencies) // 2] * 1000, "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000}


if __name__ == "__main__":
    file, host, port, connections = sys.argv[1:5]
    print(json.dumps(asyncio.run(_client(Path(file).read_bytes(), host, int(port), int(connections)))))
