"""Reused read statements go straight through the driver (cara_fed/db_rows.py): the rows must be Core's rows,
value for value and type for type, on SQLite and PostgreSQL; the engine's listeners still see each statement;
a statement built per request stays on Core; a driver error comes back as Core's error. Real databases, the
demo artist's real works, images and derivatives."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, bindparam, event, func, insert, select, true
from sqlalchemy.exc import DBAPIError

from cara_fed import (
    queries,
    queries_api,
    queries_artwork,
    queries_cards,
    queries_jobs,
    queries_safety,
    queries_social,
    queries_statuses,
)
from cara_fed.context import Context
from cara_fed.db import utcnow
from cara_fed.db_rows import core_rows, fast_rows
from cara_fed.demo import seed_demo
from cara_fed.models import Account, Artwork, ArtworkTag, JobPost, MediaAsset

_NOT_AMONG = select(Artwork.id, Artwork.title).where(Artwork.id.not_in(bindparam("ids", expanding=True))) \
    .order_by(Artwork.id)
_TITLES = select(Artwork.title).where(Artwork.id.in_(bindparam("ids", expanding=True))).order_by(Artwork.id)


async def _both_ways(ctx: Context, statement, params=None):  # type: ignore[no-untyped-def]
    """(Core's rows, the driver's rows) for one statement, in a read session as pages run them."""
    async with ctx.reads() as session:
        connection = await session.connection()
        core = list((await connection.execute(statement, params)).all())
        await fast_rows(connection, statement, params)  # a statement's first sighting stays on Core
        fast = await fast_rows(connection, statement, params)
    assert fast is not None, "a reused statement should take the driver path"
    return core, fast


def _assert_same(core: list, fast: list) -> None:
    assert len(fast) == len(core)
    for core_row, fast_row in zip(core, fast, strict=True):
        assert tuple(fast_row) == tuple(core_row)
        assert [type(value) for value in fast_row] == [type(value) for value in core_row]
        assert fast_row[1:3] == tuple(core_row[1:3])  # slices, as the card code takes them
        names = [name for name in core_row._fields if core_row._fields.count(name) == 1 and name.isidentifier()]
        for name in names:
            assert getattr(fast_row, name) == getattr(core_row, name)


async def _demo(ctx: Context) -> tuple[Account, list[int], list[int]]:
    assert await seed_demo(ctx)
    async with ctx.sessions() as session:
        artist = await session.scalar(select(Account).where(Account.username == "demo"))
        works = list((await session.scalars(select(Artwork.id).order_by(Artwork.id))).all())
        assets = list((await session.scalars(select(MediaAsset.id))).all())
    assert artist is not None and len(works) >= 6
    return artist, works, assets


async def test_the_driver_rows_equal_cores_for_the_pages_statements(ctx: Context) -> None:
    artist, works, assets = await _demo(ctx)
    async with ctx.transaction() as tx:  # a job post: a timestamp bound, a timestamp read back
        tx.session.add(JobPost(account_id=artist.id, title="Background painter", description="Paint skies.",
                               location="Remote", status="open", published_at=utcnow(),
                               deadline=utcnow() + timedelta(days=30)))
        tx.session.add_all([ArtworkTag(artwork_id=works[0], tag=tag) for tag in ("tidepool", "ink")])
    cases = [
        (queries_cards._IMAGES, {"ids": works}),
        (queries_cards._IMAGES, {"ids": works[:1]}),  # another length of list, the same statement
        (queries_cards._IMAGES, {"ids": []}),
        (queries_cards._AVATARS, {"ids": assets}),
        (queries_statuses._IMAGES, {"ids": works}),
        (queries._PROJECT_CARDS, {"account_id": artist.id}),
        (queries._LOCAL_COUNTS, None),
        (queries_jobs._OPEN_JOB_LINES, {"account_id": artist.id, "now": utcnow(), "limit": 10}),
        # a repeated parameter, a literal list, a LIMIT and an expanding list in the middle
        (queries._portfolio_cards_select(False, True, True),
         {"account_id": artist.id, "page_limit": 4, "before": works[-2], "cover_ids": works[:2]}),
        (queries_safety._FEED_FILTERS, {"viewer_id": artist.id}),
        # the API's page facts: an array parameter on PostgreSQL, expanding lists on SQLite
        (queries_api.FACTS[ctx.engine.dialect.name], {"ids": works, "people": [artist.id], "viewer": artist.id}),
        (queries_social._COUNTS, {"artwork_id": works[0]}),
        # the artwork page's works: the tags' separator is a literal SQLAlchemy renders into the text
        (queries_artwork._WORKS, {"account_id": artist.id, "work_id": works[0], "latest": 7}),
        (_NOT_AMONG, {"ids": works[:3]}),
        (_NOT_AMONG, {"ids": []}),
    ]
    for statement, params in cases:
        core, fast = await _both_ways(ctx, statement, params)
        _assert_same(core, fast)
    core, fast = await _both_ways(ctx, queries_jobs._OPEN_JOB_LINES,
                                  {"account_id": artist.id, "now": utcnow(), "limit": 10})
    assert fast[0].title == "Background painter" and fast[0].deadline.tzinfo is not None
    _, shown = await _both_ways(ctx, queries_artwork._WORKS, {"account_id": artist.id, "work_id": works[0],
                                                              "latest": 7})
    [tags] = [row[-1] for row in shown if row[0] == works[0]]
    assert {"ink", "tidepool"} <= set(tags.split(queries_artwork._TAG_SEPARATOR))  # with the demo's own
    images, _ = await _both_ways(ctx, queries_cards._IMAGES, {"ids": works})
    assert len(images) > len(works)  # each image with its derivatives: the rows that cost Core the most


async def test_listeners_see_every_driver_statement_and_a_statement_built_per_request_stays_on_core(
        ctx: Context) -> None:
    _artist, works, _assets = await _demo(ctx)
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(ctx.engine.sync_engine, "before_cursor_execute", record)
    try:
        async with ctx.reads() as session:
            for _ in range(3):  # a statement of this test's own, so no other test has run it before
                assert [row.title for row in await core_rows(session, _TITLES, {"ids": works})]
            for _ in range(3):  # a new select object each time, as a request building its own would
                built = select(Artwork.id).where(Artwork.id.in_(bindparam("ids", expanding=True)))
                assert len(await core_rows(session, built, {"ids": works})) == len(works)
    finally:
        event.remove(ctx.engine.sync_engine, "before_cursor_execute", record)
    assert len(seen) == 6  # each statement seen once, whichever way it ran
    marker = "= ANY(" if ctx.engine.dialect.name == "postgresql" else "json_each("
    assert [marker in statement for statement in seen] == [False, True, True, False, False, False]


async def test_a_driver_error_comes_back_as_cores_error_and_the_session_goes_on(ctx: Context) -> None:
    if ctx.engine.dialect.name != "postgresql":
        pytest.skip("SQLite compares any value with any column: no typed parameter to refuse")
    artist, _works, _assets = await _demo(ctx)
    async with ctx.reads() as session:
        for _ in range(2):
            assert await core_rows(session, queries._PROJECT_CARDS, {"account_id": artist.id})
        with pytest.raises(DBAPIError):  # asyncpg refuses the text for an integer: Core runs it and maps the error
            await core_rows(session, queries._PROJECT_CARDS, {"account_id": "not a number"})
        assert await core_rows(session, queries._PROJECT_CARDS, {"account_id": artist.id})


async def test_a_long_sqlite_read_leaves_the_event_loop_and_still_answers(ctx: Context) -> None:
    if ctx.engine.dialect.name != "sqlite":
        pytest.skip("the read budget is SQLite's (PostgreSQL reads never run on the event loop's thread)")
    numbers = Table("db_rows_numbers", MetaData(), Column("n", Integer))
    async with ctx.engine.begin() as connection:
        await connection.run_sync(numbers.metadata.create_all)
        await connection.execute(insert(numbers), [{"n": n} for n in range(2_000)])
    # 4,000,000 joined rows: well past the 2 ms a read may hold the loop, so it moves to the connection's thread
    pairs = numbers.alias("b")
    count = select(func.count()).select_from(numbers.join(pairs, true())).where(numbers.c.n >= bindparam("low"))
    core, fast = await _both_ways(ctx, count, {"low": 0})
    assert [tuple(row) for row in fast] == [tuple(row) for row in core] == [(4_000_000,)]
