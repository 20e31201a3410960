"""Database engine, sessions and column types shared by every model.

SQLite (WAL) is the embedded default; PostgreSQL via asyncpg runs the same code.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator


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


class Base(DeclarativeBase):
    pass


def make_engine(url: str, echo: bool = False, *, enforce_foreign_keys: bool = True, pool_size: int = 10,
                max_overflow: int = 10, pool_timeout: int = 30, pool_recycle: int = 1800) -> AsyncEngine:
    """enforce_foreign_keys=False is for migrations only: SQLite's batch ALTER copies and drops a table, and
    with enforcement on, dropping `accounts` would cascade-delete every row that references it."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")  # durable enough with WAL, much faster commits
            cursor.execute(f"PRAGMA foreign_keys={'ON' if enforce_foreign_keys else 'OFF'}")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    # No pre-ping: it costs a round trip on every checkout (several per page). After a database restart the
    # first statement on a stale connection fails, SQLAlchemy then discards every older pooled connection,
    # so one request errors instead of every request paying; pool_recycle retires idle connections anyway.
    return create_async_engine(url, echo=echo, pool_pre_ping=False, pool_recycle=pool_recycle, pool_size=pool_size,
                               max_overflow=max_overflow, pool_timeout=pool_timeout)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
