"""Run masto.js (npm `masto`, pinned in tests/peers/masto/package-lock.json; the client library Elk is built on)
against our client API. `run_flow(config)` installs it once (`npm ci`, about 2 s, 4 MB) and runs flow.mjs with
the system Node (20 or newer); without Node or npm the test skips, or fails under CARA_FED_REQUIRE_SERVICES."""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.services import STRICT

CLIENT_DIR = Path(__file__).resolve().parent / "masto"
MASTO_VERSION = "7.12.0"


def _unavailable(reason: str) -> None:
    if STRICT:
        pytest.fail(f"{reason} (CARA_FED_REQUIRE_SERVICES is set, so this is a failure, not a skip)")
    pytest.skip(reason)


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        _unavailable("Node is not on PATH (masto.js needs Node 20 or newer)")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    if int(version.lstrip("v").split(".")[0] or 0) < 20:
        _unavailable(f"masto.js needs Node 20 or newer; PATH has {version}")
    return node  # type: ignore[return-value]


def ensure_installed() -> None:
    manifest = CLIENT_DIR / "node_modules" / "masto" / "package.json"
    with open(CLIENT_DIR / ".install.lock", "w") as lock:  # parallel test processes install once
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if json.loads(manifest.read_text())["version"] == MASTO_VERSION:
                return
        except (OSError, ValueError, KeyError):
            pass
        npm = shutil.which("npm")
        if npm is None:
            _unavailable("npm is not on PATH, so masto.js cannot be installed")
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=CLIENT_DIR, capture_output=True,
                              text=True, timeout=300)
        if done.returncode != 0:
            _unavailable(f"npm ci for masto.js failed: {done.stderr[-500:]}")


def run_flow(config: dict[str, Any], timeout: float = 240) -> subprocess.CompletedProcess:
    node = _node()
    ensure_installed()
    return subprocess.run([node, "flow.mjs"], cwd=CLIENT_DIR, input=json.dumps(config), capture_output=True,
                          text=True, timeout=timeout)
