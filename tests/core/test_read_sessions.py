"""Read sessions (Context.reads, cara_fed/db.py make_read_sessionmaker): pages read without transaction round
trips on PostgreSQL, and a write through one is refused on both databases instead of being lost or committed
on its own."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, insert, select, text

from cara_fed.context import Context
from cara_fed.db import ReadOnlyWrite
from cara_fed.models import Account
from cara_fed.services import accounts


async def test_a_read_session_on_postgresql_runs_each_statement_in_its_own_transaction(ctx: Context) -> None:
    if ctx.engine.dialect.name != "postgresql":
        pytest.skip("autocommit reads are PostgreSQL's (SQLite reads already cost no round trip)")
    # now() is the start of the current transaction: equal within one, different across autocommit statements.
    async with ctx.reads() as session:
        first = await session.scalar(text("SELECT now()"))
        await asyncio.sleep(0.01)
        second = await session.scalar(text("SELECT now()"))
    assert second > first
    async with ctx.sessions() as session:  # the engine's own sessions are unchanged: one transaction
        first = await session.scalar(text("SELECT now()"))
        await asyncio.sleep(0.01)
        second = await session.scalar(text("SELECT now()"))
    assert second == first


async def test_a_write_through_a_read_session_is_refused_and_nothing_is_written(ctx: Context) -> None:
    await accounts.sign_up(ctx, "ada", "ada@example.com", "correct horse 1")
    async with ctx.reads() as session:
        ada = (await session.scalars(select(Account).where(Account.username == "ada"))).one()
        ada.display_name = "Changed by a reader"
        with pytest.raises(ReadOnlyWrite):
            await session.flush()
    if ctx.engine.dialect.name == "postgresql":  # autocommit: a Core write would commit on its own, so it never runs
        async with ctx.reads() as session:
            with pytest.raises(ReadOnlyWrite):
                await session.execute(insert(Account).values(username="mallory", kind="artist", status="active"))
    async with ctx.sessions() as session:
        assert await session.scalar(select(Account.display_name).where(Account.username == "ada")) != \
            "Changed by a reader"
        assert await session.scalar(select(func.count()).select_from(Account)
                                    .where(Account.username == "mallory")) == 0


async def test_writes_through_transactions_still_commit_beside_read_sessions(ctx: Context) -> None:
    await accounts.sign_up(ctx, "ada", "ada@example.com", "correct horse 1")
    async with ctx.reads() as session:  # a read first, so the pooled connection has served a read session
        assert await session.scalar(select(func.count()).select_from(Account)) == 1
    async with ctx.transaction() as tx:
        ada = (await tx.session.scalars(select(Account).where(Account.username == "ada"))).one()
        ada.display_name = "Ada L."
    async with ctx.reads() as session:
        assert await session.scalar(select(Account.display_name).where(Account.username == "ada")) == "Ada L."
