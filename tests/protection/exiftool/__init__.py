"""ExifTool from npm (`exiftool-vendored.pl`, run with the system perl) as a second reader of our XMP.

    tool = require_exiftool()                  # npm ci once (lockfile), or skip / fail under CI
    tags = exiftool_xmp(tool, [path])[0]       # {"XMP-plus:DataMining": "http://ns.useplus.org/...", ...}
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.services import STRICT

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "node_modules" / "exiftool-vendored.pl" / "bin" / "exiftool"
VERSION = "13.59.3"
INSTALL_TIMEOUT = 300


class ExifToolUnavailable(RuntimeError):
    pass


def _installed() -> bool:
    manifest = HERE / "node_modules" / "exiftool-vendored.pl" / "package.json"
    try:
        return json.loads(manifest.read_text())["version"] == VERSION and SCRIPT.is_file()
    except (OSError, ValueError, KeyError):
        return False


def ensure_exiftool() -> Path:
    """`npm ci` here if needed (parallel test processes install once) and return the exiftool script."""
    if shutil.which("perl") is None:
        raise ExifToolUnavailable("perl is not installed, so ExifTool cannot run")
    if _installed():
        return SCRIPT
    npm = shutil.which("npm")
    if npm is None:
        raise ExifToolUnavailable("npm is not installed, so exiftool-vendored.pl cannot be installed")
    lock_path = Path(tempfile.gettempdir()) / f"cara-fed-exiftool-{hashlib.sha1(bytes(HERE)).hexdigest()[:12]}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _installed():
            try:
                done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HERE,
                                      capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
            except subprocess.TimeoutExpired as exc:
                raise ExifToolUnavailable(f"npm ci took longer than {INSTALL_TIMEOUT}s") from exc
            if done.returncode != 0 or not _installed():
                raise ExifToolUnavailable(f"npm ci failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return SCRIPT


def require_exiftool() -> Path:
    try:
        return ensure_exiftool()
    except ExifToolUnavailable as exc:
        if STRICT:
            pytest.fail(f"{exc} (CARA_FED_REQUIRE_SERVICES is set, so this is a failure, not a skip)")
        pytest.skip(str(exc))


def exiftool_xmp(tool: Path, paths: list[Path]) -> list[dict[str, Any]]:
    """Every XMP tag ExifTool finds in each file, raw values (-n), grouped names (-G1), plus its validation."""
    done = subprocess.run(["perl", str(tool), "-json", "-n", "-G1", "-XMP:all", "-validate", "-Warning",
                           *map(str, paths)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"exiftool failed ({done.returncode}): {done.stderr}"
    return json.loads(done.stdout)
