"""Run Alembic migrations programmatically (`cara-fed migrate`, and `serve` on start)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cara_fed.db import make_engine

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 0x63617261  # "cara": the PostgreSQL advisory lock taken while migrating


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate the database behind `engine` to `revision`."""
    url = engine.url.render_as_string(hide_password=False)

    def _upgrade(connection) -> None:  # type: ignore[no-untyped-def]
        cfg = alembic_config(url)
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)

    if engine.dialect.name != "sqlite":
        async with engine.begin() as connection:
            # Several machines' web services start at once after an upgrade, each migrating first: one migrates,
            # the others wait for its commit (the lock ends with the transaction), then find nothing to do.
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            await connection.run_sync(_upgrade)
        return
    # SQLite rebuilds tables to alter them; foreign-key enforcement must be off or the rebuild cascades deletes.
    migration_engine = make_engine(url, enforce_foreign_keys=False)
    try:
        async with migration_engine.begin() as connection:
            await connection.run_sync(_upgrade)
    finally:
        await migration_engine.dispose()


def make_revision(url: str, message: str) -> None:
    """Developer helper: autogenerate a new migration from the models."""
    command.revision(alembic_config(url), message=message, autogenerate=True)
