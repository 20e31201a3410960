"""Migrations and models must agree: a fresh database at head has exactly the models' schema."""

import asyncio
import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

import cara_fed.models  # noqa: F401
from cara_fed.db import Base, make_engine
from cara_fed.migrate import alembic_config, upgrade
from tests.services import fresh_postgres_database

# Each test migrates its database itself, from empty (no copy of a migrated one).
pytestmark = pytest.mark.empty_database


# SQLite reflection cannot name foreign keys added by a batch migration, nor see the PostgreSQL-only full-text
# index (compared on PostgreSQL); the comparison itself is sound.
@pytest.mark.filterwarnings("ignore:.*SQL-parsed foreign key constraint")
@pytest.mark.filterwarnings("ignore:autogenerate skipping .* expression-based index 'ix_artworks_search'")
async def test_models_match_migrations(ctx):
    def diff(connection):  # type: ignore[no-untyped-def]
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        return compare_metadata(context, Base.metadata)

    async with ctx.engine.connect() as connection:
        differences = await connection.run_sync(diff)
    assert differences == [], f"models and migrations differ; write a migration: {differences}"


async def test_upgrading_keeps_existing_data(config):
    """Data written at an older revision survives every later migration (SQLite rebuilds tables to alter them)."""
    from sqlalchemy import func, select

    from cara_fed.context import Context
    from cara_fed.migrate import upgrade
    from cara_fed.models import Account, Artwork, MediaAsset
    from cara_fed.queue import InlineJobs
    from cara_fed.services import accounts, artworks
    from cara_fed.services.artworks import ArtworkInput
    from cara_fed.services.media import Upload
    from cara_fed_run.worker import build_registry
    from tests import images

    ctx = Context.create(config)
    try:
        await upgrade(ctx.engine, "0001")
        ctx.jobs = InlineJobs(build_registry(), lambda: ctx)
        # Write rows at 0001 with raw SQL-shaped inserts through the ORM subset that existed then.
        async with ctx.engine.begin() as connection:
            await connection.exec_driver_sql(
                "INSERT INTO accounts (username, kind, status, is_admin, display_name, bio, bio_html, location, links,"
                " skills, open_to_work, noai_default, locked, discoverable, request_note, created_at, updated_at)"
                " VALUES ('old', 'artist', 'active', false, 'Old', '', '', '', '[]', '[]', false, true, false, true,"
                " '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")
            account_id = (await connection.exec_driver_sql("SELECT id FROM accounts")).scalar()
            await connection.exec_driver_sql(
                "INSERT INTO media_assets (account_id, state, state_changed_at, purpose, original_type, original_size,"
                " original_name, focal_x, focal_y, attempts, report, created_at) VALUES"
                f" ({account_id}, 'ready', CURRENT_TIMESTAMP, 'artwork', 'image/jpeg', 1, 'a.jpg', 0, 0, 1, '{{}}',"
                " CURRENT_TIMESTAMP)")
            await connection.exec_driver_sql(
                "INSERT INTO artworks (account_id, state, state_changed_at, title, description, description_html,"
                " field, medium, software, content_warning, sensitive, license, visibility, noai, created_at,"
                f" updated_at) VALUES ({account_id}, 'published', CURRENT_TIMESTAMP, 'Kept', '', '', '', '', '[]', '',"
                " false, 'all-rights-reserved', 'public', true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")
        await upgrade(ctx.engine)
        async with ctx.sessions() as session:
            counts = [await session.scalar(select(func.count()).select_from(m)) for m in (Account, MediaAsset, Artwork)]
        assert counts == [1, 1, 1]
        # And the upgraded database still works for new writes.
        async with ctx.transaction() as tx:
            artist = await accounts.create_account(ctx, tx, "new", "new@example.org", "password123",
                                                   bypass_registration=True)
        await artworks.create_artwork(ctx, artist, ArtworkInput(title="After"), [Upload(images.jpeg(), "a.jpg", "")])
    finally:
        await ctx.close()


async def insert_old_account(engine, email_sql: str, username: str = "old") -> None:  # type: ignore[no-untyped-def]
    """An account row as the schema from 0020 on knows it, written in SQL (the ORM knows later columns)."""
    async with engine.begin() as connection:
        await connection.exec_driver_sql(
            "INSERT INTO accounts (username, email, kind, status, is_admin, display_name, bio, bio_html,"
            " location, links, skills, open_to_work, noai_default, locked, discoverable, request_note,"
            f" created_at, updated_at) VALUES ('{username}', {email_sql}, 'artist', 'active', false, 'Old', '',"
            " '', '', '[]', '[]', false, true, false, true, '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")


async def test_0022_treats_existing_addresses_as_confirmed(config):
    """Accounts from before email verification keep everything they could do: their address counts as confirmed."""
    from cara_fed.context import Context
    from cara_fed.migrate import upgrade

    ctx = Context.create(config)
    try:
        await upgrade(ctx.engine, "0020")
        await insert_old_account(ctx.engine, "'old@example.org'")
        await insert_old_account(ctx.engine, "NULL", username="noaddress")
        await upgrade(ctx.engine, "0022")
        async with ctx.engine.connect() as connection:
            rows = dict((await connection.exec_driver_sql(
                "SELECT username, email_verified_at IS NOT NULL FROM accounts ORDER BY username")).all())
        assert rows == {"noaddress": False, "old": True}
    finally:
        await ctx.close()


async def test_0023_existing_accounts_have_no_aliases_and_have_not_moved(config):
    """Accounts from before moves existed read as never moved, with an empty alias list (not NULL)."""
    from cara_fed.context import Context
    from cara_fed.migrate import upgrade

    ctx = Context.create(config)
    try:
        await upgrade(ctx.engine, "0022")
        await insert_old_account(ctx.engine, "'old@example.org'")
        await upgrade(ctx.engine, "0023")
        async with ctx.engine.connect() as connection:
            row = (await connection.exec_driver_sql(
                "SELECT also_known_as, moved_to_id, moved_at FROM accounts WHERE username = 'old'")).one()
        assert (row[0] if isinstance(row[0], list) else json.loads(row[0])) == []
        assert row[1] is None and row[2] is None
    finally:
        await ctx.close()


async def test_0024_adds_exports_and_imports_to_existing_accounts(config):
    """Accounts from before 0024 can build archives and import; their works stay not-imported (import_id NULL)."""
    from sqlalchemy import select

    from cara_fed.context import Context
    from cara_fed.migrate import upgrade
    from cara_fed.models import Artwork, DataExport, DataImport

    ctx = Context.create(config)
    try:
        await upgrade(ctx.engine, "0022")
        await insert_old_account(ctx.engine, "'old@example.org'")
        await upgrade(ctx.engine, "0024")
        async with ctx.engine.connect() as connection:  # not the ORM: later migrations add account columns
            old_id = (await connection.exec_driver_sql("SELECT id FROM accounts WHERE username = 'old'")).scalar()
        async with ctx.transaction() as tx:
            tx.session.add(DataExport(account_id=old_id))
            imported = DataImport(account_id=old_id, kind="archive", payload={"file": "x.zip"})
            tx.session.add(imported)
            await tx.session.flush()
            tx.session.add(Artwork(account_id=old_id, title="Kept", import_id=imported.id))
        async with ctx.sessions() as session:
            work = (await session.execute(select(Artwork.title, Artwork.import_id, Artwork.state))).one()
            assert tuple(work) == ("Kept", imported.id, "processing")
            assert (await session.scalar(select(DataExport))).state == "queued"
    finally:
        await ctx.close()


async def test_concurrent_upgrades_of_a_fresh_postgres_database_both_succeed():
    """Two machines' web services starting at once each migrate first: one waits for the other (advisory lock)
    instead of failing on tables the other just created."""
    async with fresh_postgres_database() as url:
        engines = [make_engine(url), make_engine(url)]
        try:
            # Without the lock the two transactions block each other on the first tables: a bounded wait.
            await asyncio.wait_for(asyncio.gather(*(upgrade(engine) for engine in engines)), 60)
            async with engines[0].connect() as connection:
                version = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
            assert version == ScriptDirectory.from_config(alembic_config(url)).get_current_head()
        finally:
            for engine in engines:
                await engine.dispose()


async def test_0025_existing_accounts_are_not_being_deleted(config):
    """Accounts from before 0025 have no deletion due and are no tombstones; the name stays unique either way."""
    from cara_fed.context import Context
    from cara_fed.migrate import upgrade

    ctx = Context.create(config)
    try:
        await upgrade(ctx.engine, "0024")
        await insert_old_account(ctx.engine, "'old@example.org'")
        await upgrade(ctx.engine, "0025")
        async with ctx.engine.connect() as connection:
            row = (await connection.exec_driver_sql(
                "SELECT status, deletion_due_at, deletion_by, deleted_at FROM accounts WHERE username = 'old'")).one()
        assert tuple(row) == ("active", None, None, None)
    finally:
        await ctx.close()


async def test_0026_adds_an_empty_rule_list_and_audit_log(config):
    """An instance upgraded to 0026 has no rules (nothing is invented for it) and an empty audit log."""
    from sqlalchemy import select

    from cara_fed.context import Context
    from cara_fed.migrate import upgrade
    from cara_fed.models import AuditEntry, InstanceRule

    ctx = Context.create(config)
    try:
        await upgrade(ctx.engine, "0024")
        await upgrade(ctx.engine, "0026")
        async with ctx.sessions() as session:
            assert (await session.scalars(select(InstanceRule))).all() == []
            assert (await session.scalars(select(AuditEntry))).all() == []
        async with ctx.transaction() as tx:
            tx.session.add_all([InstanceRule(text="Second", position=2), InstanceRule(text="First", position=1)])
        async with ctx.sessions() as session:
            rows = (await session.scalars(select(InstanceRule).order_by(InstanceRule.position))).all()
            assert [(r.text, r.hint) for r in rows] == [("First", ""), ("Second", "")]
    finally:
        await ctx.close()


async def test_0027_gives_every_existing_local_account_its_own_proof_key(config):
    """Local accounts from before 0027 get an Ed25519 key (their actor publishes its Multikey at once); remote
    accounts get none, and no Multikeys until their actor is fetched again."""
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    from cara_fed.context import Context
    from cara_fed.migrate import upgrade

    ctx = Context.create(config)
    try:
        await upgrade(ctx.engine, "0026")
        await insert_old_account(ctx.engine, "'old@example.org'")
        await insert_old_account(ctx.engine, "'older@example.org'", username="older")
        await insert_old_account(ctx.engine, "NULL", username="far")
        async with ctx.engine.begin() as connection:
            await connection.exec_driver_sql("UPDATE accounts SET domain = 'far.example' WHERE username = 'far'")
        await upgrade(ctx.engine, "0027")
        async with ctx.engine.connect() as connection:
            rows = (await connection.exec_driver_sql(
                "SELECT username, ed25519_private_key_pem, assertion_keys FROM accounts ORDER BY username")).all()
        keys = {name: pem for name, pem, _ in rows}
        assert keys["far"] is None
        assert all(isinstance(load_pem_private_key(keys[n].encode(), None), ed25519.Ed25519PrivateKey)
                   for n in ("old", "older"))
        assert keys["old"] != keys["older"]
        assert [json.loads(a) if isinstance(a, str) else a for *_, a in rows] == [{}, {}, {}]
    finally:
        await ctx.close()


async def test_0029_indexes_the_login_housekeeping_deletes(config):
    """Every login deletes expired sessions and old failures: both columns are indexed after 0029."""
    from sqlalchemy import inspect

    from cara_fed.context import Context
    from cara_fed.migrate import upgrade

    ctx = Context.create(config)
    try:
        await upgrade(ctx.engine, "0026")
        await upgrade(ctx.engine, "0029")
        async with ctx.engine.connect() as connection:
            def indexed(sync_connection, table: str) -> list[list[str]]:
                return [index["column_names"] for index in inspect(sync_connection).get_indexes(table)]
            assert ["expires_at"] in await connection.run_sync(indexed, "login_sessions")
            assert ["created_at"] in await connection.run_sync(indexed, "login_failures")
    finally:
        await ctx.close()
