"""The SQLite engine runs each write in one aiosqlite thread hop and each read on the event loop's thread within a
budget (cara_fed/db_sqlite.py), and still behaves as a DBAPI cursor must: rows, rowcount, lastrowid,
executemany, errors mapped to SQLAlchemy's, transactions rolled back, server-side streaming."""

from __future__ import annotations

import asyncio
import threading
import time

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from cara_fed import db_sqlite
from cara_fed.db import make_engine


@pytest.fixture
async def engine(tmp_path):
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/one-hop.db")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE works (id INTEGER PRIMARY KEY, title TEXT UNIQUE NOT NULL)"))
    yield engine
    await engine.dispose()


@pytest.fixture
def hops(monkeypatch) -> list[str]:
    """Every function queued on an aiosqlite connection's thread (the library's own queue entry point)."""
    seen: list[str] = []
    original = aiosqlite.Connection._execute

    async def counting(self, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counting)
    return seen


async def test_a_select_costs_no_hop_and_runs_on_the_loops_thread(engine, hops) -> None:
    threads: list[int] = []
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))  # the connection's own setup hops happen here
        hops.clear()
        raw = (await connection.get_raw_connection()).driver_connection._conn
        raw.create_function("thread_id", 0, lambda: threads.append(threading.get_ident()) or 1)
        rows = (await connection.execute(text("SELECT :a AS a, :b AS b, thread_id() AS t"),
                                         {"a": 1, "b": "two"})).all()
        assert [tuple(row) for row in rows] == [(1, "two", 1)]
        assert hops == []  # the stock adapter made four hops per statement
        assert threads == [threading.get_ident()]


async def test_a_write_still_costs_one_hop(engine, hops) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("SELECT 1"))
        hops.clear()
        await connection.execute(text("INSERT INTO works (title) VALUES ('one')"))
        assert hops == ["_run"]  # cursor, execute, fetch and close together
    assert hops == ["_run", "_finish"]  # and the commit


async def test_a_read_only_connection_goes_back_to_the_pool_without_a_hop(engine, hops) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
        hops.clear()
        await connection.execute(text("SELECT count(*) FROM works"))
    assert hops == []  # the read ran inline, and the pool's rollback had no transaction to end


SLOW_SELECT = text("SELECT (SELECT count(*) FROM works a, works b, works c), (SELECT max(title) FROM works)")


async def test_a_read_past_its_budget_is_run_again_on_the_connections_thread(engine, hops) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO works (title) VALUES (:title)"),
                                 [{"title": f"w{i:03}"} for i in range(200)])
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
        hops.clear()
        started = time.perf_counter()
        row = (await connection.execute(SLOW_SELECT)).one()  # 8 million rows joined: far past 2 ms
        assert tuple(row) == (200 ** 3, "w199")  # the whole answer, from the second run
        assert hops == ["_run"]
        assert time.perf_counter() - started > db_sqlite.READ_BUDGET_SECONDS


async def test_the_loop_keeps_running_during_a_long_read(engine) -> None:
    """A long read holds the event loop for its budget at most; then it runs on the connection's thread, where
    sqlite3 lets go of the GIL, and other tasks go on."""
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO works (title) VALUES (:title)"),
                                 [{"title": f"w{i:03}"} for i in range(200)])
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    async with engine.connect() as connection:
        started = time.perf_counter()
        await connection.execute(SLOW_SELECT)
        took = time.perf_counter() - started
    done.set()
    await ticking
    assert took > 0.05, "the read was meant to be long"
    assert max(gaps) < took / 2, (max(gaps), took)  # the loop was never held for the whole read
    assert len(gaps) > 10


async def test_an_error_in_an_inline_read_is_mapped(engine) -> None:
    with pytest.raises(OperationalError, match="no such column"):
        async with engine.connect() as connection:
            await connection.execute(text("SELECT nope FROM works"))


async def test_an_uncommitted_write_is_still_rolled_back_on_return(engine, hops) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("INSERT INTO works (title) VALUES ('dropped')"))
        hops.clear()
    assert hops == ["_finish"]  # the rollback, and the turn given back, in one hop
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM works"))).scalar() == 0


async def test_rows_rowcount_lastrowid_and_executemany(engine) -> None:
    async with engine.begin() as connection:
        inserted = await connection.execute(text("INSERT INTO works (title) VALUES ('first')"))
        assert inserted.lastrowid == 1
        many = await connection.execute(text("INSERT INTO works (title) VALUES (:title)"),
                                        [{"title": "second"}, {"title": "third"}])
        assert many.rowcount == 2
        updated = await connection.execute(text("UPDATE works SET title = title || '!' WHERE id > 1"))
        assert updated.rowcount == 2
        titles = (await connection.execute(text("SELECT title FROM works ORDER BY id"))).scalars().all()
        assert titles == ["first", "second!", "third!"]
        assert (await connection.execute(text("SELECT title FROM works WHERE id = 99"))).first() is None


async def test_errors_are_mapped_and_the_transaction_rolls_back(engine) -> None:
    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO works (title) VALUES ('kept?')"))
            await connection.execute(text("INSERT INTO works (title) VALUES ('kept?')"))  # UNIQUE
    with pytest.raises(OperationalError, match="no such table"):
        async with engine.connect() as connection:
            await connection.execute(text("SELECT * FROM missing"))
    async with engine.connect() as connection:  # the failed transaction left nothing behind
        assert (await connection.execute(text("SELECT count(*) FROM works"))).scalar() == 0


async def test_server_side_stream_still_works(engine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO works (title) VALUES (:title)"),
                                 [{"title": f"w{i}"} for i in range(250)])
    async with engine.connect() as connection:
        result = await connection.stream(text("SELECT title FROM works ORDER BY id"))
        titles = [row[0] async for row in result]
    assert len(titles) == 250 and titles[0] == "w0" and titles[-1] == "w249"
