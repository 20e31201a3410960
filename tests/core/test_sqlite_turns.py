"""SQLite writers take turns (cara_fed/sqlite_turns.py): a transaction's first write waits for its connection's
turn, held until the transaction ends, across connections and processes; reads never wait; a writer that
waited past the busy timeout goes on without its turn instead of hanging."""

from __future__ import annotations

import asyncio
import fcntl
import os
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from cara_fed.db import make_engine
from cara_fed.db_sqlite import COMMIT_WITH_STATEMENT
from cara_fed.sqlite_turns import is_write, turn_path


def turn_is_free(database: Path) -> bool:
    """Whether no connection holds the database's write turn (tried through a file of our own)."""
    descriptor = os.open(f"{database}-write-turn", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(descriptor)
    return True


@pytest.fixture
def database(tmp_path) -> Path:
    return tmp_path / "turns.db"


@pytest.fixture
async def engines(database):
    """Two engines (two pools, as two web processes have) on one database file."""
    first, second = (make_engine(f"sqlite+aiosqlite:///{database}") for _ in range(2))
    async with first.begin() as connection:
        await connection.execute(text("CREATE TABLE works (id INTEGER PRIMARY KEY, title TEXT NOT NULL)"))
    yield first, second
    await first.dispose()
    await second.dispose()


def test_what_takes_a_turn() -> None:
    assert is_write("INSERT INTO works VALUES (1)") and is_write("  update works SET x = 1")
    assert is_write("DELETE FROM works") and is_write("REPLACE INTO works VALUES (1)")
    assert not is_write("SELECT 1") and not is_write("PRAGMA busy_timeout=30000")
    assert turn_path("/data/cara-fed.db") == "/data/cara-fed.db-write-turn"
    assert turn_path("file:/data/cara%20fed.db?mode=ro", uri=True) == "/data/cara fed.db-write-turn"
    assert turn_path(":memory:") is None and turn_path("") is None
    assert turn_path("file:shared?mode=memory&cache=shared", uri=True) is None


async def test_a_second_writer_waits_until_the_first_commits(engines, database) -> None:
    first, second = engines
    async with first.connect() as holder:
        await holder.execute(text("SELECT count(*) FROM works"))
        assert turn_is_free(database), "a read takes no turn"
        await holder.execute(text("INSERT INTO works (title) VALUES ('first')"))
        assert not turn_is_free(database), "the first write of a transaction takes the turn"

        async def write_second() -> float:
            async with second.begin() as connection:
                await connection.execute(text("INSERT INTO works (title) VALUES ('second')"))
            return time.monotonic()

        waiting = asyncio.create_task(write_second())
        await asyncio.sleep(0.3)
        assert not waiting.done(), "the second writer went ahead while the first held its turn"
        # Reads go on meanwhile, from either engine.
        async with second.connect() as reader:
            assert (await reader.execute(text("SELECT count(*) FROM works"))).scalar() == 0
        committed = time.monotonic()
        await holder.commit()
        finished = await asyncio.wait_for(waiting, 5)
    assert finished - committed < 1.0  # handed over at once (SQLite's own backoff reaches 100 ms sleeps)
    assert turn_is_free(database), "both transactions gave their turns back"
    async with first.connect() as reader:
        titles = (await reader.execute(text("SELECT title FROM works ORDER BY id"))).scalars().all()
    assert titles == ["first", "second"]


async def test_a_rollback_and_an_error_give_the_turn_back(engines, database) -> None:
    first, _ = engines
    async with first.connect() as connection:
        await connection.execute(text("INSERT INTO works (title) VALUES ('dropped')"))
        assert not turn_is_free(database)
        await connection.rollback()
        assert turn_is_free(database)
    with pytest.raises(Exception, match="NOT NULL"):
        async with first.begin() as connection:
            await connection.execute(text("INSERT INTO works (title) VALUES ('kept until the error')"))
            await connection.execute(text("INSERT INTO works (title) VALUES (NULL)"))
    assert turn_is_free(database)
    async with first.connect() as reader:
        assert (await reader.execute(text("SELECT count(*) FROM works"))).scalar() == 0


async def test_a_writer_in_another_process_holds_the_turn(engines, database) -> None:
    """Another process (a second web process, `cara-fed worker`) holding the turn makes our writer wait for it."""
    first, _ = engines
    hold = ("import fcntl, os, sys, time\n"
            f"fd = os.open({str(database) + '-write-turn'!r}, os.O_RDWR | os.O_CREAT)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(0.6)\n"
            "print(time.monotonic(), flush=True)\n")
    other = await asyncio.create_subprocess_exec(sys.executable, "-c", hold, stdout=asyncio.subprocess.PIPE)
    assert other.stdout is not None
    assert (await other.stdout.readline()).strip() == b"held"
    async with first.begin() as connection:
        await connection.execute(text("INSERT INTO works (title) VALUES ('after the other process')"))
        wrote = time.monotonic()
    released = float(await other.stdout.readline())
    assert await asyncio.wait_for(other.wait(), 5) == 0
    assert wrote >= released, "our write went ahead while another process held the turn"


async def test_a_writer_goes_on_without_its_turn_after_the_busy_timeout(database) -> None:
    """A turn that is never given back (here: held by a file nobody releases) delays writers by the busy timeout,
    then SQLite's own lock decides: the write is not lost and nothing hangs."""
    engine = make_engine(f"sqlite+aiosqlite:///{database}", sqlite_timeout=0.4)
    stuck = os.open(f"{database}-write-turn", os.O_RDWR | os.O_CREAT)
    fcntl.flock(stuck, fcntl.LOCK_EX)
    try:
        started = time.monotonic()
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE works (id INTEGER PRIMARY KEY, title TEXT NOT NULL)"))
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO works (title) VALUES ('late but kept')"))
        assert 0.4 <= time.monotonic() - started < 5
        async with engine.connect() as reader:
            assert (await reader.execute(text("SELECT title FROM works"))).scalars().all() == ["late but kept"]
    finally:
        os.close(stuck)
        await engine.dispose()


async def test_a_last_statement_can_commit_in_its_own_hop(engines, database) -> None:
    """COMMIT_WITH_STATEMENT: the write lock and the turn are let go with the statement, before the event loop
    comes back for the transaction's commit; the commit that follows has nothing left to do."""
    first, second = engines
    async with first.begin() as connection:
        await connection.execute(text("INSERT INTO works (title) VALUES ('a')"))
        inserted = await connection.execute(text("INSERT INTO works (title) VALUES ('b') RETURNING id"),
                                            execution_options={COMMIT_WITH_STATEMENT: True})
        assert inserted.scalar() == 2
        assert turn_is_free(database)
        async with second.connect() as reader:  # already committed: another connection sees both rows
            assert (await reader.execute(text("SELECT count(*) FROM works"))).scalar() == 2
    async with first.begin() as connection:  # a plain statement after it still waits for the commit
        await connection.execute(text("INSERT INTO works (title) VALUES ('c')"))
        assert not turn_is_free(database)
    assert turn_is_free(database)
