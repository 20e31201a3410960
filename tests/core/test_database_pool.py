"""[database] pool settings reach the PostgreSQL engine: a full pool makes the next request wait
pool_timeout_seconds and fail clearly, and a returned connection serves the next one."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import TimeoutError as PoolTimeout

from cara_fed.config import load_config
from cara_fed.context import Context
from tests.services import fresh_postgres_database


async def test_pool_size_overflow_and_timeout_come_from_config(tmp_path) -> None:
    async with fresh_postgres_database() as url:
        config = load_config(environ={"CARA_FED__DATABASE__URL": url,
                                      "CARA_FED__SERVER__DATA_DIR": str(tmp_path / "data"),
                                      "CARA_FED__DATABASE__POOL_SIZE": "2", "CARA_FED__DATABASE__MAX_OVERFLOW": "1",
                                      "CARA_FED__DATABASE__POOL_TIMEOUT_SECONDS": "1"})
        ctx = Context.create(config)
        try:
            assert ctx.engine.pool.size() == 2
            held = [await ctx.engine.connect() for _ in range(3)]  # two pooled + one overflow
            for connection in held:
                assert await connection.scalar(text("SELECT 1")) == 1
            started = time.monotonic()
            with pytest.raises(PoolTimeout):
                await ctx.engine.connect()
            assert 0.9 <= time.monotonic() - started < 5
            await held.pop().close()
            async with ctx.engine.connect() as again:  # the returned slot serves the next request at once
                assert await asyncio.wait_for(again.scalar(text("SELECT 2")), 5) == 2
            for connection in held:
                await connection.close()
        finally:
            await ctx.close()


def test_pool_settings_are_checked() -> None:
    from cara_fed.config import ConfigError

    with pytest.raises(ConfigError) as caught:
        load_config(environ={"CARA_FED__DATABASE__POOL_SIZE": "0", "CARA_FED__DATABASE__POOL_RECYCLE_SECONDS": "5"})
    assert any("pool_size" in p for p in caught.value.problems)
    assert any("pool_recycle_seconds" in p for p in caught.value.problems)
