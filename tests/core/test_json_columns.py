"""JSON columns are read with orjson (cara_fed/db.py load_json_column), which refuses what json.dumps may have
stored from a remote activity (NaN) or reads it differently (an integer past 64 bits becomes a float). Such rows
must read back as stored, through the ORM, Core and the driver path (cara_fed/db_rows.py), on SQLite and
PostgreSQL."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import bindparam, select

from cara_fed.context import Context
from cara_fed.db_rows import core_rows
from cara_fed.models import Account

_LINKS = select(Account.links).where(Account.id == bindparam("id"))


async def _stored(ctx: Context, links: list) -> int:
    async with ctx.transaction() as tx:
        account = Account(username="remote_ada", domain="far.example", links=links)
        tx.session.add(account)
        await tx.session.flush()
        return account.id


async def _read_three_ways(ctx: Context, key: int) -> list[list]:
    async with ctx.reads() as session:
        orm = (await session.get(Account, key)).links  # type: ignore[union-attr]
        driver = [(await core_rows(session, _LINKS, {"id": key}))[0][0] for _ in range(3)]  # 2nd, 3rd: the driver
    return [orm, *driver]


async def test_integers_past_64_bits_read_back_as_integers(ctx: Context) -> None:
    links = [{"name": "big", "url": "https://far.example/", "n": 2**70 + 1, "id": "12345678901234567890123",
              "small": -3, "f": 1.5}]
    key = await _stored(ctx, links)
    for read in await _read_three_ways(ctx, key):
        assert read == links and type(read[0]["n"]) is int and read[0]["n"] == 2**70 + 1


async def test_nan_reads_back_where_the_database_keeps_it(ctx: Context) -> None:
    if ctx.config.database.url.startswith("postgresql"):
        pytest.skip("PostgreSQL's json type refuses NaN on the way in: no such row can be stored to read back")
    key = await _stored(ctx, [{"name": "odd", "score": float("nan")}])
    for read in await _read_three_ways(ctx, key):
        assert read[0]["name"] == "odd" and math.isnan(read[0]["score"])
