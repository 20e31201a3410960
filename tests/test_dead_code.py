"""No dead code: vulture over our packages finds no unused function, method, property or class.

What only a framework, a template, a tool or a test calls is named, with the reason, in
tests/dead_code_allowlist.py (vulture reads it as code that uses those names). Anything else vulture reports
is code nothing runs: delete it, or say in the allowlist who calls it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("cara_fed", "cara_fed_run", "federation", "web", "protection")
# Route handlers and event listeners are called through their decorators.
DECORATORS = "@*.get,@*.post,@*.put,@*.patch,@*.delete,@*.route,@*.view,@event.listens_for,@*.setter,@*.command"
# Variables and attributes are left out: dataclass fields, columns and JSON shapes read them by name.
KINDS = ("unused function", "unused method", "unused property", "unused class")


def test_nothing_unused_outside_the_allowlist() -> None:
    pytest.importorskip("vulture", reason="vulture is in the test extra: pip install -e '.[test]'")
    found = subprocess.run(
        [sys.executable, "-m", "vulture", *PACKAGES, "tests/dead_code_allowlist.py", "--min-confidence", "60",
         "--exclude", "cara_fed/migrations", "--ignore-decorators", DECORATORS],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert found.returncode in (0, 3), found.stderr  # 3: vulture found something; anything else is its own error
    unused = [line for line in found.stdout.splitlines() if any(kind in line for kind in KINDS)]
    assert unused == [], "\n".join(unused)
