"""SQLite through aiosqlite: a write in one thread hop per statement, a read on the event loop's own thread (issue 15:
uncached pages).

aiosqlite runs each sqlite3 call on its connection's own thread; SQLAlchemy's adapter makes four such calls per
statement (open a cursor, execute, fetch all, close), and each hop costs a queue put, a thread wake-up, a GIL
hand-over and a self-pipe wake-up of the event loop. Measured on a trivial SELECT: 274 µs of CPU per statement
through the stock adapter, 26 µs for SQLAlchemy over plain sqlite3, 31 µs for one raw hop. This adapter runs the
whole statement (cursor, execute, fetch, close) as one function on aiosqlite's thread, so a page's five
statements cost five hops instead of twenty. A commit or rollback with no transaction open (the pool's reset after
a read-only page) costs none. Writers take turns (cara_fed/sqlite_turns.py).

A SELECT costs no hop at all: it runs on the event loop's own thread (ReadBudget). Measured on the uncached
portfolio page: a hop lets the connection's thread and the event loop fight over the GIL, which sqlite3 drops
and takes again for every row, about 400 context switches a page; inline, 168 -> 259 pages/s on one process.
A read must not stall the loop, so it gets a budget (READ_BUDGET_SECONDS): SQLite's progress handler
interrupts one that runs past it, and the read runs again on the connection's thread as before. Writes always
hop: they may wait for their turn or the lock. With WAL a read does not wait for writers.

Only the client-side cursor changes; server-side cursors (`stream()`) keep SQLAlchemy's own. Errors are sqlite3's,
raised on the thread and mapped by SQLAlchemy as before. Relies on aiosqlite's `Connection._execute` (queue a
callable on the connection's thread) and `_conn` (the sqlite3 connection), stable since aiosqlite 0.17; the
pyproject pin keeps the pair tested together (tests/core/test_db_sqlite.py).
"""

from __future__ import annotations

import collections
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import Any

import aiosqlite
from sqlalchemy import event
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util.concurrency import await_

from cara_fed.sqlite_turns import WriteTurn, is_write, turn_path

_Result = tuple[Any, list[Any], int, int | None]


def _run(connection: sqlite3.Connection, operation: str, parameters: Any, many: bool,
         turn: WriteTurn | None, commit: bool) -> _Result:
    """On aiosqlite's thread: the statement from cursor to close, returning what SQLAlchemy reads afterwards.
    A transaction's first write waits for this connection's turn among writers (cara_fed/sqlite_turns.py);
    `commit` (COMMIT_WITH_STATEMENT) commits right after the statement, in the same hop."""
    if turn is not None and not turn.held and is_write(operation):
        turn.take()
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        else:
            cursor.execute(operation, parameters if parameters is not None else ())
        description = cursor.description
        rows = cursor.fetchall() if description else []
        if commit and connection.in_transaction:
            connection.commit()
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()
        _end_of_transaction(connection, turn)  # a write outside a transaction (autocommit) ends here


# How long a SELECT may hold the event loop before it is interrupted and run again on the connection's thread.
# A page's reads take 0.04-0.3 ms each; search, exports and admin counts over big tables go past it.
READ_BUDGET_SECONDS = 0.002
# SQLite VM instructions between looks at the clock: small reads never call back into Python.
READ_BUDGET_CHECK_EVERY = 20_000


class ReadBudget:
    """SQLite's progress handler for one connection: while a read runs inline (`deadline` set), interrupt it once
    the deadline passes. On the connection's thread `deadline` is 0 and nothing is interrupted."""

    __slots__ = ("deadline", "overran")

    def __init__(self) -> None:
        self.deadline = 0.0
        self.overran = False

    def __call__(self) -> int:
        if self.deadline and time.perf_counter() > self.deadline:
            self.overran = True
            return 1  # SQLite stops the statement: sqlite3.OperationalError("interrupted")
        return 0


def is_plain_read(statement: str) -> bool:
    """SELECT only: a WITH may front an INSERT, UPDATE or DELETE."""
    return statement.lstrip()[:6].upper() == "SELECT"


async def _read_inline(connection: sqlite3.Connection, operation: str, parameters: Any,
                       budget: ReadBudget) -> _Result | None:
    """A coroutine so that SQLAlchemy sees an await (its async engine insists on one); it never suspends.
    None when the read ran past its budget and was interrupted."""
    budget.overran = False
    budget.deadline = time.perf_counter() + READ_BUDGET_SECONDS
    try:
        return _run(connection, operation, parameters, False, None, False)
    except sqlite3.OperationalError:
        if budget.overran:
            return None
        raise
    finally:
        budget.deadline = 0.0


async def read_rows(connection: aiosqlite.Connection, operation: str, parameters: Any,
                    budget: ReadBudget) -> list[Any]:
    """A SELECT's rows for cara_fed/db_rows.py: on the event loop's thread within the read budget, as OneHopCursor
    reads, else on the connection's thread."""
    result = await _read_inline(connection._conn, operation, parameters, budget)  # type: ignore[attr-defined]
    if result is None:
        result = await connection._execute(_run, connection._conn, operation, parameters,  # type: ignore[attr-defined]
                                           False, None, False)
    return result[1]


def _end_of_transaction(connection: sqlite3.Connection, turn: WriteTurn | None) -> None:
    if turn is not None and turn.held and not connection.in_transaction:
        turn.give_back()


def _finish(connection: sqlite3.Connection, finish: Callable[[], None], turn: WriteTurn | None) -> None:
    """On aiosqlite's thread: commit or roll back, then give the turn back if the transaction is over."""
    try:
        finish()
    finally:
        _end_of_transaction(connection, turn)


# Execution option for a write transaction's last statement: on SQLite, commit in the statement's own thread hop.
# A transaction's write lock (and turn) is otherwise held until the event loop gets round to the commit's hop,
# which on a busy loop (the inbox's web process) is milliseconds in which every other writer waits. Only for
# the last statement: anything after it is committed separately and cannot be rolled back with it. PostgreSQL
# ignores it (its writers do not exclude each other).
COMMIT_WITH_STATEMENT = "cara_fed_sqlite_commit_with_statement"


def mark_commits(engine: Any) -> None:
    """Tell each cursor whether its statement carries COMMIT_WITH_STATEMENT (cursors do not see options)."""

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _mark(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if isinstance(cursor, OneHopCursor):
            cursor.commit_after = bool(context is not None and context.execution_options.get(COMMIT_WITH_STATEMENT))


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """A client-side cursor that holds a finished statement's rows; no aiosqlite cursor behind it."""

    __slots__ = ("_description", "_rowcount", "_lastrowid", "commit_after")
    _awaitable_cursor_close = False

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection):  # no hop: nothing opened yet
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = {}  # type: ignore[assignment]
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self.commit_after = False

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        pass  # rows are fetched whole on the thread

    def _hop(self, operation: str, parameters: Any, many: bool) -> None:
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        if not many and is_plain_read(operation):
            try:
                result = await_(_read_inline(connection._conn, operation, parameters,  # type: ignore[attr-defined]
                                             self._adapt_connection._budget))
            except Exception as error:
                self._adapt_connection._handle_exception(error)
            if result is not None:
                self._description, rows, self._rowcount, self._lastrowid = result
                self._rows = collections.deque(rows)
                return
        try:
            self._description, rows, self._rowcount, self._lastrowid = await_(
                connection._execute(_run, connection._conn, operation, parameters, many,
                                    self._adapt_connection._turn, self.commit_after))  # type: ignore[attr-defined]
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._rows = collections.deque(rows)

    def execute(self, operation: Any, parameters: Any = None) -> None:
        self._hop(operation, parameters, False)

    def executemany(self, operation: Any, seq_of_parameters: Sequence[Any]) -> None:
        self._hop(operation, seq_of_parameters, True)

    async def _async_soft_close(self) -> None:
        return None  # nothing open on the thread

    def close(self) -> None:
        self._rows.clear()


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("_turn", "_budget")
    _cursor_cls = OneHopCursor

    def __init__(self, dbapi: Any, connection: aiosqlite.Connection, turn: WriteTurn | None):
        super().__init__(dbapi, connection)
        self._turn = turn
        self._budget = ReadBudget()
        # Safe from the loop's thread: no statement of this connection runs on its own thread now.
        connection._conn.set_progress_handler(self._budget, READ_BUDGET_CHECK_EVERY)  # type: ignore[attr-defined]

    def commit(self) -> None:
        self._end(lambda raw: raw.commit)

    def rollback(self) -> None:
        self._end(lambda raw: raw.rollback)

    def _end(self, finish: Callable[[sqlite3.Connection], Callable[[], None]]) -> None:
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        raw = connection._connection  # None once closed
        # No transaction open, nothing to end and no turn held: no hop. The pool rolls back every connection it
        # gets back, most of them after reads only (sqlite3 opens a transaction for writes alone), and a
        # statement that committed itself (COMMIT_WITH_STATEMENT) leaves its transaction's commit nothing to do.
        # `in_transaction` reads sqlite3's autocommit flag: safe here, no statement of this connection runs now.
        if raw is None or not raw.in_transaction:
            return
        try:
            await_(connection._execute(_finish, connection._conn, finish(connection._conn), self._turn))
        except Exception as error:
            self._handle_exception(error)

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._turn is not None:
                self._turn.close()


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The aiosqlite DBAPI shim with one-hop cursors and writers' turns: pass as `module=` to
    create_async_engine."""

    def connect(self, *args: Any, **kwargs: Any) -> OneHopConnection:
        # Reads run on the event loop's thread, everything else on the connection's own: never two at once.
        kwargs["check_same_thread"] = False
        stock = super().connect(*args, **kwargs)
        database = args[0] if args else kwargs.get("database", "")
        path = turn_path(str(database), uri=bool(kwargs.get("uri")))
        turn = WriteTurn(path, float(kwargs.get("timeout", 5.0))) if path is not None else None
        return OneHopConnection(self, stock._connection, turn)


def one_hop_dbapi() -> OneHopDBAPI:
    return OneHopDBAPI(aiosqlite, sqlite3)
