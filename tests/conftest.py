"""Shared fixtures: every database test runs on SQLite and on PostgreSQL; jobs run inline."""

from __future__ import annotations

import atexit
import re
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from cara_fed.config import Config, load_config
from cara_fed.context import CONTEXT_KEY, Context
from cara_fed.migrate import upgrade
from cara_fed.queue import InlineJobs
from cara_fed_run.worker import build_full_registry
from tests.federation.peer import enable_federation, running_peer
from tests.federation.sink import Sink
from tests.services import fresh_postgres_database

OUTPUT = Path(__file__).resolve().parent.parent / "test-output"
# argon2id at the lowest costs the settings accept (8 MiB, one pass) instead of the production default (19 MiB,
# two passes): hundreds of sign-ups and log-ins hash a password, and what they test is not the cost. Hashing
# itself, its pool and the upgrade of older hashes to the configured costs are tested in
# tests/web/test_password_pool.py at costs set there.
FAST_PASSWORD_HASHING = {"CARA_FED__SECURITY__PASSWORD_HASH_MEMORY_KIB": "8192",
                         "CARA_FED__SECURITY__PASSWORD_HASH_TIME_COST": "1"}


def pytest_configure(config: pytest.Config) -> None:
    # `make test` runs files on two workers (`--dist loadfile`). xdist hands files out by number of tests, most
    # first, unless told not to: the end-to-end flows (a test or two a file, but a minute each: real servers,
    # browsers, peers) then came last, and one worker finished its last flow alone while the other sat idle.
    # Keep the collection order below instead.
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


# Files of minutes that are not flows: the cloaking engine and the CLIP panel on the CPU, the pasture's
# conformance inputs on both databases, the classifier exports (measured with --durations, December 2026).
LONG_FILES = {Path(__file__).parent / name for name in (
    "protection/cloak/test_engine.py", "web/test_cloaking.py", "federation/test_pasture.py",
    "protection/test_classifier_drift.py")}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The longest files first (LONG_FILES, then every file with `flow` tests), so the many short files fill
    both workers' ends evenly; a file's tests keep their order and stay together."""
    flow_files = {item.path for item in items if item.get_closest_marker("flow")}
    items.sort(key=lambda item: 0 if item.path in LONG_FILES else 1 if item.path in flow_files else 2)


_sqlite_template: Path | None = None


async def _migrated_sqlite_template() -> Path:
    """This process's SQLite file migrated to head by our migrations, copied for each test (as PostgreSQL's run
    copies a migrated database: tests/services.py) instead of migrating from empty every time."""
    global _sqlite_template
    if _sqlite_template is None:
        from cara_fed.db import make_engine

        path = Path(tempfile.mkdtemp(prefix="cara-sqlite-template-")) / "template.db"
        engine = make_engine(f"sqlite+aiosqlite:///{path}")
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()  # the last connection closing checkpoints the WAL into the file
        atexit.register(shutil.rmtree, path.parent, True)
        _sqlite_template = path
    return _sqlite_template


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        if not request.node.get_closest_marker("empty_database"):
            shutil.copyfile(await _migrated_sqlite_template(), path)  # migrations then find nothing to do
        yield f"sqlite+aiosqlite:///{path}"
    else:
        # Migrated already (a copy of a migrated database) unless the test migrates an empty one itself.
        async with fresh_postgres_database(migrated=not request.node.get_closest_marker("empty_database")) as url:
            yield url


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    return load_config(environ={
        "CARA_FED__SERVER__DATA_DIR": str(tmp_path / "data"),
        "CARA_FED__DATABASE__URL": database_url,
        "CARA_FED__SERVER__DOMAIN": "test.example",
        "CARA_FED__CACHE__PAGE_SECONDS": "30",
        **FAST_PASSWORD_HASHING,
    })


@pytest.fixture
async def ctx(config: Config) -> AsyncIterator[Context]:
    context = Context.create(config)
    await upgrade(context.engine)
    context.jobs = InlineJobs(build_full_registry(), lambda: context)
    yield context
    await context.close()


@pytest.fixture
async def client(config: Config, aiohttp_client) -> TestClient:  # type: ignore[no-untyped-def]
    from cara_fed_run.app import create_app

    app = create_app(config, jobs="inline", migrate=True)
    return await aiohttp_client(app)


@pytest.fixture
async def app_client(config: Config, aiohttp_client) -> TestClient:  # type: ignore[no-untyped-def]
    """`client`, with federation to loopback peers on: the inbox runs its jobs inline and nothing is sent out."""
    from cara_fed_run.app import create_app

    app = create_app(config, jobs="inline", migrate=True)
    client = await aiohttp_client(app)
    enable_federation(app[CONTEXT_KEY])
    return client


@pytest.fixture
async def peer():  # type: ignore[no-untyped-def]
    """A remote server on loopback whose actors sign what they send us and serve their keys."""
    async with running_peer() as running:
        yield running


@pytest.fixture
async def sink() -> AsyncIterator[Sink]:
    """Two remote instances on loopback that record, and check the signature of, what we deliver."""
    server = await Sink().start(ports=2)
    yield server
    await server.stop()


@pytest.fixture
def fed(ctx: Context) -> Context:
    """The context with federation to loopback allowed (the sink and peers live there); jobs run inline and
    deliver for real."""
    ctx.config.federation.allow_private_addresses = True
    return ctx


@pytest.fixture
def output_dir(request: pytest.FixtureRequest) -> Path:
    """A per-test folder under test-output/ for screenshots and logs."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)[-120:]
    path = OUTPUT / safe
    path.mkdir(parents=True, exist_ok=True)
    return path


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


async def csrf_from(client: TestClient, path: str) -> str:
    response = await client.get(path)
    assert response.status == 200, await response.text()
    match = CSRF_RE.search(await response.text())
    assert match, f"no CSRF token on {path}"
    return match.group(1)


async def sign_up(client: TestClient, username: str = "ada", password: str = "correct horse 1", **extra: str):  # type: ignore[no-untyped-def]
    token = await csrf_from(client, "/signup")
    response = await client.post("/signup", data={"csrf_token": token, "username": username,
                                                  "email": f"{username}@example.org", "password": password,
                                                  "kind": "artist", **extra}, allow_redirects=False)
    return response
