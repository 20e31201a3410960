"""Reaching PostgreSQL and Redis from tests: skip with a reason locally, fail under CI's strict mode."""

from __future__ import annotations

import asyncio
import atexit
import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

STRICT = os.environ.get("CARA_FED_REQUIRE_SERVICES", "") not in ("", "0")
PG_HOST, PG_PORT = "127.0.0.1", 5432
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require(name: str, host: str, port: int) -> None:
    if reachable(host, port):
        return
    reason = f"{name} is not reachable at {host}:{port}"
    if STRICT:
        pytest.fail(f"{reason} (CARA_FED_REQUIRE_SERVICES is set, so this is a failure, not a skip)")
    pytest.skip(reason)


def _url(name: str) -> str:
    return f"postgresql+asyncpg://postgres@{PG_HOST}:{PG_PORT}/{name}"


# This process's database migrated to head by our migrations, which `fresh_postgres_database(migrated=True)`
# copies (CREATE DATABASE ... TEMPLATE: a file copy, ~0.1 s) instead of running every migration again for each
# test (~1 s). Made on first use, dropped when the process exits.
_template: str | None = None


async def _migrated_template(admin) -> str:  # type: ignore[no-untyped-def]
    global _template
    if _template is None:
        from cara_fed.db import make_engine
        from cara_fed.migrate import upgrade

        name = f"cara_template_{uuid.uuid4().hex[:12]}"
        await admin.execute(f'CREATE DATABASE "{name}"')
        engine = make_engine(_url(name))
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()  # a template must have no connections when it is copied
        _template = name
        atexit.register(_drop_template, name)
    return _template


def _drop_template(name: str) -> None:
    import asyncpg

    async def drop() -> None:
        admin = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user="postgres", database="postgres")
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
    asyncio.run(drop())


@asynccontextmanager
async def fresh_postgres_database(*, migrated: bool = False) -> AsyncIterator[str]:
    """A throwaway database on the local server; yields its asyncpg URL and drops it afterwards. Empty, or with
    `migrated` a copy of a database our migrations brought to head (the code under test still runs them: they
    find nothing to do)."""
    import asyncpg

    require("PostgreSQL", PG_HOST, PG_PORT)
    name = f"cara_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user="postgres", database="postgres")
    try:
        template = f' TEMPLATE "{await _migrated_template(admin)}"' if migrated else ""
        await admin.execute(f'CREATE DATABASE "{name}"{template}')
    finally:
        await admin.close()
    try:
        yield _url(name)
    finally:
        admin = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user="postgres", database="postgres")
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def redis_url() -> str:
    """Redis database 15 for the first test worker, 14 for the second (pytest-xdist), so parallel flushes never meet."""
    require("Redis", REDIS_HOST, REDIS_PORT)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/{15 - int(worker or 0) % 4}"
