"""DESIGN.md §1 import rules and code hygiene, checked on every run."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    found = BIN / name
    return str(found) if found.exists() else (shutil.which(name) or name)


def test_import_rules_hold():
    result = subprocess.run([_tool("lint-imports"), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken." in result.stdout


def test_ruff_clean():
    result = subprocess.run([_tool("ruff"), "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_protection_is_pure():
    """protection/ must not even mention our other packages (a stronger check than the import graph)."""
    offenders = [str(p) for p in (ROOT / "protection").rglob("*.py")
                 if any(f"import {pkg}" in p.read_text() or f"from {pkg}" in p.read_text()
                        for pkg in ("cara_fed", "federation", "web"))]
    assert offenders == []
