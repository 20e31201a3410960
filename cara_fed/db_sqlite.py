"""SQLite through aiosqlite in one thread hop per statement (issue 15: uncached pages).

aiosqlite runs each sqlite3 call on its connection's own thread; SQLAlchemy's adapter makes four such calls per
statement (open a cursor, execute, fetch all, close), and each hop costs a queue put, a thread wake-up, a GIL
hand-over and a self-pipe wake-up of the event loop. Measured on a trivial SELECT: 274 µs of CPU per statement
through the stock adapter, 26 µs for SQLAlchemy over plain sqlite3, 31 µs for one raw hop. This adapter runs the
whole statement (cursor, execute, fetch, close) as one function on aiosqlite's thread, so a page's five
statements cost five hops instead of twenty. A rollback with no transaction open (the pool's reset after a
read-only page) costs none.

Only the client-side cursor changes; server-side cursors (`stream()`) keep SQLAlchemy's own. Errors are sqlite3's,
raised on the thread and mapped by SQLAlchemy as before. Relies on aiosqlite's `Connection._execute` (queue a
callable on the connection's thread) and `_conn` (the sqlite3 connection), stable since aiosqlite 0.17; the
pyproject pin keeps the pair tested together (tests/core/test_db_sqlite.py).
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util.concurrency import await_

_Result = tuple[Any, list[Any], int, int | None]


def _run(connection: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> _Result:
    """On aiosqlite's thread: the statement from cursor to close, returning what SQLAlchemy reads afterwards."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        else:
            cursor.execute(operation, parameters if parameters is not None else ())
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """A client-side cursor that holds a finished statement's rows; no aiosqlite cursor behind it."""

    __slots__ = ("_description", "_rowcount", "_lastrowid")
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
        try:
            self._description, rows, self._rowcount, self._lastrowid = await_(
                connection._execute(_run, connection._conn, operation, parameters, many))
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
    __slots__ = ()
    _cursor_cls = OneHopCursor

    def rollback(self) -> None:
        # The pool rolls back every connection it gets back: after a read-only page that is a hop for nothing
        # (sqlite3 opens a transaction only for writes, so there is none to end). `in_transaction` only reads
        # sqlite3's autocommit flag, safe from this thread while nothing else runs on the connection.
        raw = self._connection._conn
        if raw is not None and not raw.in_transaction:
            return
        super().rollback()


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The aiosqlite DBAPI shim with one-hop cursors: pass as `module=` to create_async_engine."""

    def connect(self, *args: Any, **kwargs: Any) -> OneHopConnection:
        stock = super().connect(*args, **kwargs)
        return OneHopConnection(self, stock._connection)


def one_hop_dbapi() -> OneHopDBAPI:
    return OneHopDBAPI(aiosqlite, sqlite3)
