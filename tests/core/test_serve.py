"""`[server] processes`: several web processes under gunicorn share the port; one embedded worker; they stop
together; /metrics adds up what every process counted."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.instance import running_instance


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_until(predicate, timeout: float = 20) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


REQUEST_IDS: list[str] = []  # every X-Request-Id ten_pages saw


def ten_pages(port: int) -> list[int]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        statuses = []
        for _ in range(10):
            connection.request("GET", "/about")
            response = connection.getresponse()
            response.read()
            statuses.append(response.status)
            REQUEST_IDS.append(response.getheader("X-Request-Id", ""))
        return statuses
    finally:
        connection.close()


def about_pages_counted(metrics_dir: Path, pid: int) -> float:
    """How many 200 /about pages one process counted, read from its own metric file alone."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    with tempfile.TemporaryDirectory() as alone:
        for file in metrics_dir.glob(f"histogram_{pid}.db"):
            shutil.copy(file, alone)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=alone)
        return registry.get_sample_value("cara_fed_http_request_duration_seconds_count",
                                         {"method": "GET", "route": "/about", "status": "200"}) or 0.0


def test_two_processes_share_the_port_and_stop_together(tmp_path: Path) -> None:
    with running_instance(tmp_path, settings={"CARA_FED__SERVER__PROCESSES": "2"}) as instance:
        assert instance.pid is not None
        # gunicorn's master (the `serve` process) forks the two web processes.
        children = [pid for pid in children_of(instance.pid)
                    if b"cara_fed" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        assert len(children) == 2, children
        # 30 keep-alive clients at once, 10 pages each: the kernel spreads the connections over the processes'
        # own sockets (on one shared socket, one process accepted the whole burst).
        REQUEST_IDS.clear()
        with ThreadPoolExecutor(30) as pool:
            assert list(pool.map(lambda _: ten_pages(instance.port), range(30))) == [[200] * 10] * 30
        # Request ids come from each process's own generator, reseeded in the fork: none repeats across them.
        assert len(set(REQUEST_IDS)) == 300 and all(re.fullmatch("[0-9a-f]{16}", rid) for rid in REQUEST_IDS)
        # /metrics from either process sums both: the 300 pages plus the one start-up probe that got a 200.
        for _ in range(4):
            with urllib.request.urlopen(instance.url + "/metrics", timeout=10) as response:
                text = response.read().decode()
            assert 'cara_fed_http_request_duration_seconds_count{method="GET",route="/about",status="200"} 301.0' \
                in text, [line for line in text.splitlines() if 'route="/about"' in line]
        metrics_dir = instance.data_dir / "metrics"
        counted = {pid: about_pages_counted(metrics_dir, pid) for pid in children}
        assert sum(counted.values()) == 301 and all(counted.values()), f"a process answered nothing: {counted}"
        assert "with 2 processes" in instance.log()
        assert "Using worker: aiohttp.GunicornWebWorker" in instance.log()
        listening = [line for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
                     if line.split()[1].endswith(f":{instance.port:04X}") and line.split()[3] == "0A"]
        assert len(listening) == 2, "each process should listen on its own socket (SO_REUSEPORT)"
        # Migrated once, by the master, before forking: one run of the first migration in the log.
        assert instance.log().count("Running upgrade  -> 0001") == 1
        # The worker runs in one process only (slot 0): the other logs no worker start.
        assert instance.log().count("embedded worker started") == 1
    for child in children:
        assert wait_until(lambda child=child: not alive(child)), "a web process outlived the master"


def test_a_dead_process_is_replaced_and_the_embedded_worker_stays_single(tmp_path: Path) -> None:
    """gunicorn restarts a web process that dies; the replacement takes the free slot, so a killed slot-0
    process brings the embedded worker back once, and a killed slot-1 process brings none."""
    with running_instance(tmp_path, settings={"CARA_FED__SERVER__PROCESSES": "2"}) as instance:
        assert instance.pid is not None
        seen = set(children_of(instance.pid))
        assert len(seen) == 2
        for victim in sorted(seen):
            os.kill(victim, signal.SIGKILL)

            def replaced(victim: int = victim, known: frozenset[int] = frozenset(seen)) -> bool:
                now = set(children_of(instance.pid))
                return victim not in now and len(now) == 2 and bool(now - known)
            assert wait_until(replaced), "no replacement process"
            seen |= set(children_of(instance.pid))
        assert wait_until(lambda: instance.log().count("embedded worker started") == 2), instance.log()[-3000:]
        with urllib.request.urlopen(instance.url + "/about", timeout=10) as response:
            assert response.status == 200


def test_gunicorn_lines_follow_the_json_log_format(tmp_path: Path) -> None:
    settings = {"CARA_FED__SERVER__PROCESSES": "2", "CARA_FED__SERVER__LOG_FORMAT": "json"}
    with running_instance(tmp_path, settings=settings) as instance:
        with urllib.request.urlopen(instance.url + "/about", timeout=10) as response:
            assert response.status == 200
        lines = [line for line in instance.log().splitlines() if line.startswith("{")]
    booted = [json.loads(line) for line in lines if "Booting worker" in line]
    assert len(booted) == 2 and all(entry["logger"] == "gunicorn.error" for entry in booted), lines[:10]
    assert any(json.loads(line).get("path") == "/about" for line in lines)  # our access lines beside them


def test_second_process_dies_with_a_killed_first(tmp_path: Path) -> None:
    with running_instance(tmp_path, settings={"CARA_FED__SERVER__PROCESSES": "2"}) as instance:
        assert instance.pid is not None
        children = children_of(instance.pid)
        assert children
        os.kill(instance.pid, signal.SIGKILL)
        for child in children:  # gunicorn's processes check their parent every second
            assert wait_until(lambda child=child: not alive(child)), "an orphaned web process kept the port"
