"""Migrations and models must agree: a fresh database at head has exactly the models' schema."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import cara_fed.models  # noqa: F401
from cara_fed.db import Base


# SQLite reflection cannot name foreign keys added by a batch migration; the comparison itself is sound.
@pytest.mark.filterwarnings("ignore:SQL-parsed foreign key constraint")
async def test_models_match_migrations(ctx):
    def diff(connection):  # type: ignore[no-untyped-def]
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        return compare_metadata(context, Base.metadata)

    async with ctx.engine.connect() as connection:
        differences = await connection.run_sync(diff)
    assert differences == [], f"models and migrations differ; write a migration: {differences}"
