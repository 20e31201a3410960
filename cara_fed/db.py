"""Database engine, sessions and column types shared by every model.

SQLite (WAL) is the embedded default; PostgreSQL via asyncpg runs the same code.
"""

from __future__ import annotations

import json
import re
import socket
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import DateTime, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

from cara_fed.db_sqlite import mark_commits, one_hop_dbapi


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Stores UTC; always returns timezone-aware datetimes (SQLite would drop the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


# 19 digits or more: perhaps an integer past 64 bits, which orjson would turn into a float without a word.
_LONG_NUMBER = re.compile(r"\d{19}")


def load_json_column(text: str) -> Any:
    """JSON columns read back with orjson (json.loads was ~8 % of an API home page's CPU on PostgreSQL: software,
    mentions, links). What orjson reads differently or refuses (integers past 64 bits become floats; NaN, Infinity)
    goes to json.loads: a remote activity that json.dumps stored may hold them, and its row must read as stored."""
    if _LONG_NUMBER.search(text):
        return json.loads(text)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


class Base(DeclarativeBase):
    pass


def make_engine(url: str, echo: bool = False, *, enforce_foreign_keys: bool = True, pool_size: int = 10,
                max_overflow: int = 10, pool_timeout: int = 30, pool_recycle: int = 1800,
                sqlite_timeout: float = 30) -> AsyncEngine:
    """enforce_foreign_keys=False is for migrations only: SQLite's batch ALTER copies and drops a table, and
    with enforcement on, dropping `accounts` would cascade-delete every row that references it.
    `sqlite_timeout`: how long an SQLite writer waits for its turn, then for the lock (cara_fed/sqlite_turns.py)."""
    if url.startswith("sqlite"):
        # One thread hop per statement instead of four (cara_fed/db_sqlite.py).
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": sqlite_timeout}, module=one_hop_dbapi(),
                                     json_deserializer=load_json_column)
        _strip_nul_from_parameters(engine)
        mark_commits(engine)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")  # durable enough with WAL, much faster commits
            cursor.execute(f"PRAGMA foreign_keys={'ON' if enforce_foreign_keys else 'OFF'}")
            cursor.execute(f"PRAGMA busy_timeout={int(sqlite_timeout * 1000)}")
            cursor.close()

        return engine
    # No pre-ping: it costs a round trip on every checkout (several per page). After a database restart the
    # first statement on a stale connection fails, SQLAlchemy then discards every older pooled connection,
    # so one request errors instead of every request paying; pool_recycle retires idle connections anyway.
    engine = create_async_engine(url, echo=echo, pool_pre_ping=False, pool_recycle=pool_recycle, pool_size=pool_size,
                                 max_overflow=max_overflow, pool_timeout=pool_timeout,
                                 json_deserializer=load_json_column)
    _strip_nul_from_parameters(engine)
    return engine


def _without_nul(value: Any) -> Any:
    return value.replace("\x00", "") if isinstance(value, str) and "\x00" in value else value


def _clean_row(row: Any) -> Any:
    if isinstance(row, dict):
        return {key: _without_nul(value) for key, value in row.items()}
    if isinstance(row, list | tuple):
        return type(row)(_without_nul(value) for value in row)
    return row


def _has_nul(row: Any) -> bool:
    values = row.values() if isinstance(row, dict) else row if isinstance(row, list | tuple) else ()
    return any(isinstance(value, str) and "\x00" in value for value in values)


def _strip_nul_from_parameters(engine: AsyncEngine) -> None:
    """PostgreSQL text cannot hold NUL ("invalid byte sequence … 0x00"): a remote Note carrying one would fail
    its insert on every retry. Every string bound to a statement loses its NUL bytes, on both databases, so
    text means the same everywhere; local forms and queries with NUL are already refused at the web edge."""

    @event.listens_for(engine.sync_engine, "before_cursor_execute", retval=True)
    def _strip(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if executemany and isinstance(parameters, list | tuple):
            if any(_has_nul(row) for row in parameters):
                parameters = type(parameters)(_clean_row(row) for row in parameters)
        elif _has_nul(parameters):
            parameters = _clean_row(parameters)
        return statement, parameters


def is_unavailable(error: BaseException) -> bool:
    """Whether an exception means "the database cannot be reached" (down, restarting, pool exhausted), which
    the edges answer with a 503 and Retry-After instead of a 500. Follows the exception's causes, since
    drivers' connection errors arrive wrapped."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionError | socket.gaierror | sa_exc.OperationalError | sa_exc.InterfaceError
                      | sa_exc.TimeoutError):
            return True
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        if type(current).__name__ in _DRIVER_UNAVAILABLE:
            return True
        current = current.__cause__ or current.__context__
    return False


# asyncpg's own "cannot reach / lost the server" errors, by name (importing asyncpg here is optional).
_DRIVER_UNAVAILABLE = {"CannotConnectNowError", "ConnectionDoesNotExistError", "ConnectionFailureError",
                       "TooManyConnectionsError", "AdminShutdownError", "CrashShutdownError"}


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


class ReadOnlyWrite(RuntimeError):
    """A write was attempted in a read session (Context.reads): writes go through Context.transaction."""


class _ReadSession(Session):
    """The sync half of a read session: a flush (an ORM write) is refused."""


@event.listens_for(_ReadSession, "before_flush")
def _refuse_flush(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise ReadOnlyWrite("a read session cannot write; use Context.transaction")


def make_read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for requests that only read (pages, the login-session lookup, media access).

    On PostgreSQL they run in autocommit: no BEGIN before the first statement and no ROLLBACK when the
    connection goes back to the pool, two round trips per page (measured: a session with one statement
    303 -> 213 µs of CPU, 391 -> 243 µs wall). Each statement still sees a consistent snapshot of its own; a
    transaction in READ COMMITTED (PostgreSQL's default, ours) gives no more than that across statements either.
    Anything but a SELECT on such a connection is refused before it reaches the server, since it would commit on
    its own. On SQLite the engine's own sessions already cost no round trip for a read (cara_fed/db_sqlite.py), so
    read sessions share them and only the flush guard differs."""
    if engine.dialect.name != "postgresql":
        return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=_ReadSession)
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")

    @event.listens_for(autocommit.sync_engine, "before_cursor_execute")
    def _only_reads(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        first = statement.lstrip("( \n").split(None, 1)[0].upper() if statement.strip() else ""
        # context is None for cara_fed/db_rows.py's plain reads (driver SQL, no execution context)
        writes = context is not None and (context.isinsert or context.isupdate or context.isdelete)
        if first not in ("SELECT", "WITH") or writes:
            raise ReadOnlyWrite(f"a read session cannot run {statement.split(None, 1)[0]!r}; use Context.transaction")

    return async_sessionmaker(autocommit, expire_on_commit=False, sync_session_class=_ReadSession)
