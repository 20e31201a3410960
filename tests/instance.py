"""Run a real `cara-fed serve` process for flow tests (browser, two instances, peers)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Instance:
    url: str
    port: int
    data_dir: Path
    log_path: Path
    env: dict[str, str]
    pid: int | None = None  # the `cara-fed serve` process

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        """Run another `cara-fed` command against this instance's config (e.g. createuser)."""
        return subprocess.run([sys.executable, "-m", "cara_fed_run.cli", *args], env=self.env, cwd=self.data_dir.parent,
                              capture_output=True, text=True, timeout=120, check=True)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@contextmanager
def running_instance(root: Path, *, settings: dict[str, str] | None = None, timeout: float = 60) -> Iterator[Instance]:
    """Start `cara-fed serve` on a free loopback port with its own data dir (embedded SQLite + worker)."""
    port = free_port()
    root.mkdir(parents=True, exist_ok=True)
    data_dir = root / "data"
    env = {**os.environ, "CARA_FED__SERVER__PORT": str(port), "CARA_FED__SERVER__DOMAIN": f"127.0.0.1:{port}",
           "CARA_FED__SERVER__SCHEME": "http", "CARA_FED__SERVER__DATA_DIR": str(data_dir),
           "CARA_FED__FEDERATION__ALLOW_PRIVATE_ADDRESSES": "true",
           # argon2id at the lowest accepted costs: createuser and every log-in hash (see tests/conftest.py)
           "CARA_FED__SECURITY__PASSWORD_HASH_MEMORY_KIB": "8192", "CARA_FED__SECURITY__PASSWORD_HASH_TIME_COST": "1",
           **(settings or {})}
    env.pop("CARA_FED_CONFIG", None)
    log_path = root / "serve.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "cara_fed_run.cli", "serve"], env=env, cwd=root,
                                   stdout=log, stderr=subprocess.STDOUT)
    instance = Instance(f"http://127.0.0.1:{port}", port, data_dir, log_path, env, process.pid)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"cara-fed serve exited with {process.returncode}:\n{instance.log()}")
            try:
                with urllib.request.urlopen(instance.url + "/about", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"cara-fed serve did not answer within {timeout}s:\n{instance.log()}")
            time.sleep(0.2)
        yield instance
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
