"""`[server] processes`: several web processes share the port; one embedded worker; they stop together; /metrics
adds up what every process counted."""

from __future__ import annotations

import os
import signal
import time
import urllib.request
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


def test_two_processes_share_the_port_and_stop_together(tmp_path: Path) -> None:
    with running_instance(tmp_path, settings={"CARA_FED__SERVER__PROCESSES": "2"}) as instance:
        assert instance.pid is not None
        children = [pid for pid in children_of(instance.pid)
                    if b"cara_fed" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        assert len(children) == 1, children
        child = children[0]
        before = cpu_ticks(child)
        for _ in range(300):  # a fresh connection each time: the kernel spreads them over both processes
            with urllib.request.urlopen(instance.url + "/about", timeout=10) as response:
                assert response.status == 200
        assert cpu_ticks(child) > before, "the second process answered nothing"
        # /metrics from either process sums both: the 300 pages plus the one start-up probe that got a 200.
        for _ in range(4):
            with urllib.request.urlopen(instance.url + "/metrics", timeout=10) as response:
                text = response.read().decode()
            assert 'cara_fed_http_request_duration_seconds_count{method="GET",route="/about",status="200"} 301.0' \
                in text, [line for line in text.splitlines() if 'route="/about"' in line]
        assert list((instance.data_dir / "metrics").glob("*.db")), "no per-process metric files"
        assert "with 2 processes" in instance.log()
        # The worker runs in the first process only: the second logs no worker start.
        assert instance.log().count("embedded worker started") == 1
    assert wait_until(lambda: not alive(child)), "the second web process outlived the first"


def test_second_process_dies_with_a_killed_first(tmp_path: Path) -> None:
    with running_instance(tmp_path, settings={"CARA_FED__SERVER__PROCESSES": "2"}) as instance:
        assert instance.pid is not None
        child = children_of(instance.pid)[0]
        os.kill(instance.pid, signal.SIGKILL)
        assert wait_until(lambda: not alive(child)), "an orphaned web process kept the port"
