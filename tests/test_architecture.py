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
    assert "Contracts: 6 kept, 0 broken." in result.stdout


def test_ruff_clean():
    result = subprocess.run([_tool("ruff"), "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _late_imports(path: Path) -> list[tuple[int, str]]:
    """Import statements inside a function body (not counting `if TYPE_CHECKING:` blocks), with their line."""
    import ast

    found = []

    def visit(node: ast.AST, nested: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if nested and isinstance(child, ast.Import | ast.ImportFrom):
                found.append((child.lineno, ast.unparse(child)))
            visit(child, nested or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef))

    visit(ast.parse(path.read_text()), False)
    return found


def test_federation_late_imports_say_why():
    """A function-level import in federation/ hides an edge from the import graph: each one left says why
    on its line (the cycle it breaks, or the import-time side effect it defers)."""
    offenders = []
    for path in (ROOT / "federation").rglob("*.py"):
        lines = path.read_text().splitlines()
        offenders += [f"{path.relative_to(ROOT)}:{n} {code}" for n, code in _late_imports(path)
                      if "#" not in lines[n - 1]]
    assert offenders == []
    assert len([hit for path in (ROOT / "federation").rglob("*.py") for hit in _late_imports(path)]) <= 1


def test_the_late_import_scan_finds_one(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import os\n\ndef f():\n    from federation.wire import serialize\n    return serialize\n")
    assert _late_imports(sample) == [(4, "from federation.wire import serialize")]


def test_protection_is_pure():
    """protection/ must not even mention our other packages (a stronger check than the import graph)."""
    offenders = [str(p) for p in (ROOT / "protection").rglob("*.py")
                 if any(f"import {pkg}" in p.read_text() or f"from {pkg}" in p.read_text()
                        for pkg in ("cara_fed", "federation", "web"))]
    assert offenders == []


# --- typed events and task handles (DESIGN §2): no job is named by a string typed at a call site -------

def _job_name_literals(path: Path) -> list[str]:
    """Strings, f-strings or conditional strings passed as the job of `enqueue(...)` or
    `after_commit(<...>.enqueue, ...)`, plus any string equal to a registered job's name."""
    import ast

    from cara_fed_run.worker import build_full_registry

    registered = {spec.name for spec in build_full_registry()}
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in registered:
            found.append(f"{path.name}:{node.lineno} {node.value!r}")
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        job = None
        if node.func.attr == "enqueue" and node.args:
            job = node.args[0]
        elif (node.func.attr == "after_commit" and len(node.args) > 1 and isinstance(node.args[0], ast.Attribute)
              and node.args[0].attr == "enqueue"):
            job = node.args[1]
        if job is not None and any(isinstance(sub, ast.JoinedStr)
                                   or (isinstance(sub, ast.Constant) and isinstance(sub.value, str))
                                   for sub in ast.walk(job)):
            found.append(f"{path.name}:{node.lineno} {ast.unparse(job)}")
    return found


def test_no_string_job_names_outside_the_queue_adapter():
    adapter = {ROOT / "cara_fed" / "tasks.py"}  # where each task's queue name is written, once
    offenders = [hit for package in ("cara_fed", "federation", "web") for path in (ROOT / package).rglob("*.py")
                 if path not in adapter for hit in _job_name_literals(path)]
    assert offenders == []


def test_the_scan_finds_a_string_job_name(tmp_path):
    """The scan above is not vacuous: the shapes services used before typed events are caught."""
    sample = tmp_path / "sample.py"
    sample.write_text('tx.after_commit(ctx.jobs.enqueue, "send_like" if like else "send_announce", 1)\n'
                      'await ctx.jobs.enqueue(f"send_undo_{kind}", 1)\nBATCH = "process_inbox_batch"\n')
    assert len(_job_name_literals(sample)) == 3


def test_every_event_has_one_subscriber_list_of_real_handlers():
    import inspect

    from cara_fed import events, tasks
    from cara_fed_run.worker import build_full_registry

    registry = build_full_registry()
    subscriptions = registry.subscriptions
    defined = events.all_events()
    assert len(defined) >= 20 and all(t.__dataclass_params__.frozen for t in defined)  # type: ignore[attr-defined]
    assert sorted(t.__name__ for t in defined) == sorted(t.__name__ for t in subscriptions)
    for event_type, subscribers in subscriptions.items():
        assert subscribers.handlers, event_type
        ids = [0] * len(event_type.__dataclass_fields__)
        for handler in subscribers.handlers:
            assert inspect.iscoroutinefunction(handler), handler
            inspect.signature(handler).bind(None, *ids)  # a handler takes (ctx, *the event's ids)
        assert registry.get(event_type.__name__).queue == subscribers.queue
    for task in tasks.all_tasks():  # every task handle the core can queue has a function in the full wiring
        assert registry.find(task) is not None, task
        assert inspect.iscoroutinefunction(registry.get(task.name).function), task


def test_subscriptions_are_static():
    """The edge's wiring is plain imports: no importlib, no placeholders for unwired names."""
    for path in (ROOT / "federation" / "subscriptions.py", ROOT / "cara_fed_run" / "worker.py",
                 ROOT / "cara_fed" / "queue.py"):
        text = path.read_text()
        assert "importlib" not in text and "_noop" not in text, path



# --- our own URLs (DESIGN §2): built and parsed in cara_fed/urls.py only --------------------------------------

# The path heads of every local URL kind (the wire's ids and the pages behind them).
LOCAL_URL_HEADS = ("/@", "/users/", "/actor/", "/comments/", "/jobs/", "/activities/", "/media/", "/tags/",
                   "/artworks/")


def _hand_built_urls(path: Path) -> list[str]:
    """f-strings (and rf route templates/patterns) that start with a local URL's head, with their line."""
    import ast

    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.JoinedStr) or not node.values:
            continue
        head = node.values[0]
        if isinstance(head, ast.Constant) and isinstance(head.value, str) and head.value.startswith(LOCAL_URL_HEADS):
            found.append(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name}:{node.lineno} "
                         f"{ast.unparse(node)}")
    return found


def test_no_hand_built_local_urls_outside_the_url_module():
    home = ROOT / "cara_fed" / "urls.py"
    offenders = [hit for package in ("cara_fed", "federation", "web") for path in (ROOT / package).rglob("*.py")
                 if path != home for hit in _hand_built_urls(path)]
    assert offenders == []
    assert _hand_built_urls(home)  # the builders themselves are where the scan looks for them


def test_the_scan_finds_a_hand_built_url(tmp_path):
    """The scan above is not vacuous: the shapes the code used before cara_fed/urls.py are caught."""
    sample = tmp_path / "sample.py"
    sample.write_text('a = ctx.url(f"/@{account.username}/{artwork.id}")\nb = f"/users/{name}/outbox"\n'
                      'c = rf"/comments/{{ref:{REF}}}/replies"\nd = f"/settings/data#import-{n}"\ne = "/users/"\n')
    lines = sorted(hit.split(" ", 1)[0] for hit in _hand_built_urls(sample))
    assert lines == ["sample.py:1", "sample.py:2", "sample.py:3"]


MODULE_LINE_LIMIT = 400  # small modules with one job: split a module by what it does before it grows past this
GENERATED = ("migrations",)  # Alembic revisions are written once and never read as code to take over


def _long_modules(root: Path, package: str, limit: int) -> list[str]:
    return [f"{path.relative_to(root)}: {lines} lines" for path in sorted((root / package).rglob("*.py"))
            if not any(part in GENERATED for part in path.parts)
            and (lines := len(path.read_text().splitlines())) > limit]


def test_no_module_over_the_line_limit():
    found = [hit for package in ("cara_fed", "cara_fed_run", "federation", "web", "protection")
             for hit in _long_modules(ROOT, package, MODULE_LINE_LIMIT)]
    assert found == []


def test_the_size_scan_finds_a_long_module(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "long.py").write_text("x = 1\n" * (MODULE_LINE_LIMIT + 1))
    (tmp_path / "pkg" / "short.py").write_text("x = 1\n" * MODULE_LINE_LIMIT)
    assert _long_modules(tmp_path, "pkg", MODULE_LINE_LIMIT) == [f"pkg/long.py: {MODULE_LINE_LIMIT + 1} lines"]
