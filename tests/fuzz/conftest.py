"""One running instance per database for the whole fuzz directory (starting one costs seconds)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator

import pytest

from tests.fuzz.harness import Instance, start_instance
from tests.services import PG_HOST, PG_PORT, require

# PostgreSQL is where bad input used to fail (int4 ids, NUL bytes); SQLite is the embedded default.
DATABASES = os.environ.get("CARA_FED_FUZZ_DATABASES", "sqlite,postgres").split(",")


async def _admin(statement: str) -> None:
    # Not tests.services.fresh_postgres_database: the database must outlive one event loop (a session fixture).
    import asyncpg

    connection = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user="postgres", database="postgres")
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session", params=DATABASES)
def instance(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instance]:
    root = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    database = None
    if request.param == "postgres":
        require("PostgreSQL", PG_HOST, PG_PORT)
        database = f"cara_fuzz_{uuid.uuid4().hex[:12]}"
        asyncio.run(_admin(f'CREATE DATABASE "{database}"'))
        url = f"postgresql+asyncpg://postgres@{PG_HOST}:{PG_PORT}/{database}"
    else:
        url = f"sqlite+aiosqlite:///{root / 'fuzz.db'}"
    running, stop = start_instance(root / "data", url)
    try:
        yield running
    finally:
        stop()
        if database is not None:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        tally = running.tally
        scheme = running.ctx.config.database_url.split(":")[0]
        print(f"\nfuzz[{request.param}] ({scheme}, {running.base}): {tally.requests} requests, "
              f"{tally.server_errors} responses >= 500, {len(running.errors.records)} ERROR records; "
              f"statuses {dict(sorted(tally.by_status.items()))}")


@pytest.fixture
def fresh_errors(instance: Instance) -> int:
    """Where this test's ERROR records start."""
    return len(instance.errors.records)


def example_budget(default: int) -> int:
    return int(os.environ.get("CARA_FED_FUZZ_EXAMPLES", "") or default)

