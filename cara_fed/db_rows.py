"""Plain rows for a reused read statement, straight from the driver (issue 15: uncached pages and the surge).

SQLAlchemy Core costs ~65 µs of CPU per statement before the driver (execution context, cursor adapter, result
metadata) and ~1.4 µs per row after it (row objects, processors): an artwork card's images with their twelve
derivatives are 144 rows, 461 µs through Core against 200 µs straight through asyncpg (PostgreSQL, surge data).
The statements pages and timelines run on every request are built once (module constants, functools.cache), so
they can be compiled once per dialect and handed to the driver directly:

- PostgreSQL: `asyncpg.Connection.fetch` (asyncpg keeps the prepared statement); an expanding `IN` becomes
  `= ANY($n)` with the list as one array parameter, so every length of list shares one prepared statement.
- SQLite: sqlite3 on the event loop's thread under cara_fed/db_sqlite.py's read budget, on the connection's own
  thread past it; an expanding `IN` becomes `IN (SELECT value FROM json_each(?))`.
- Both: a value SQLAlchemy renders into the text at execution (literal_execute, such as aggregate_strings'
  separator) is rendered once into the plan; a statement run with another value for it goes to Core.

Same answers as Core: the statement's own bind and result processors run, rows are named tuples (index, slice
and attribute access as Row), and the engine's before_cursor_execute listeners still see every statement (the
NUL guard, the read-session guard, statement counters in tests and benches). Only reads take this path, and
only a statement seen a second time (a statement built per request never repeats, and compiling it here would
cost more than Core's cache). Any driver error runs the statement again through Core, which raises its usual
exceptions (cara_fed/db.py is_unavailable and the edges' 503 rely on them).
"""

from __future__ import annotations

import functools
import json
import re
from collections import OrderedDict, namedtuple
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql import Executable

from cara_fed.db_sqlite import ReadBudget, read_rows

# An expanding IN as SQLAlchemy compiles it (its list is rendered at execution, per length).
_EXPANDING = re.compile(r"(NOT )?IN \(__\[POSTCOMPILE_(\w+)\]\)")
# Statements seen once wait here for a second sighting (kept, so an id is not reused while it waits).
_SEEN_LIMIT = 256
# Plans kept (the reused statements are a few dozen).
_PLANS_LIMIT = 512


@dataclass(slots=True)
class _Plan:
    """One statement compiled for one dialect: the driver's SQL, its parameters in order, how to build rows."""

    sql: str
    compiled: Any  # SQLAlchemy's Compiled: construct_params fills defaults and literal values
    names: tuple[str, ...]  # parameter names in the driver's order
    expanding: frozenset[str]  # names bound as one list (array or JSON text)
    literals: frozenset[str]  # names rendered into the SQL (literal_execute): their statement's values
    bind_processors: dict[str, Callable[[Any], Any]]
    columns: list[Any]  # SQLAlchemy's result columns: (key, name, objects, type)
    make_row: Callable[[Any], Any] | None = None  # on the first run: some processors depend on the driver's types

    def row_maker(self, dialect: Dialect, driver_types: list[Any]) -> Callable[[Any], Any]:
        """As SQLAlchemy's cursor result builds them: each type's processor for the driver's column type."""
        row_type = namedtuple("Row", [column[0] for column in self.columns], rename=True)  # type: ignore[misc]
        processors = [column[3]._cached_result_processor(dialect, driver_type)
                      for column, driver_type in zip(self.columns, driver_types, strict=True)]
        self.make_row = _row_maker(row_type, processors)
        return self.make_row


class _Plans:
    """Plans by statement identity, per dialect name; a statement gets one on its second execution."""

    def __init__(self) -> None:
        self.plans: OrderedDict[tuple[str, int], tuple[Executable, _Plan | None]] = OrderedDict()
        self.seen: OrderedDict[tuple[str, int], Executable] = OrderedDict()

    def get(self, statement: Executable, dialect: Dialect) -> _Plan | None:
        key = (dialect.name, id(statement))
        found = self.plans.get(key)
        if found is not None and found[0] is statement:
            self.plans.move_to_end(key)
            return found[1]
        if self.seen.get(key) is not statement:
            self.seen[key] = statement
            if len(self.seen) > _SEEN_LIMIT:
                self.seen.popitem(last=False)
            return None
        del self.seen[key]
        plan = _plan(statement, dialect)
        self.plans[key] = (statement, plan)
        if len(self.plans) > _PLANS_LIMIT:  # a statement built per request and run twice: its plan ages out
            self.plans.popitem(last=False)
        return plan


_PLANS = _Plans()


def _plan(statement: Executable, dialect: Dialect) -> _Plan | None:
    """None when the statement is not a plain SELECT this module can hand to the driver unchanged."""
    compiled = statement.compile(dialect=dialect)
    sql = str(compiled)
    if not sql.lstrip().upper().startswith("SELECT") or " FOR UPDATE" in sql or " FOR SHARE" in sql:
        return None
    if not compiled._result_columns:
        return None  # no columns to name (a bare text() select): Core's rows
    positions = list(compiled.positiontup or ())
    literals = frozenset(compiled.bind_names[bind] for bind in compiled.literal_execute_params
                         if not bind.expanding)
    for name in literals:
        bind = compiled.binds[name]
        try:
            literal = compiled.render_literal_value(bind.effective_value, bind.type)
        except Exception:  # noqa: BLE001 - a value SQLAlchemy cannot write as a literal: Core's rows
            return None
        sql = sql.replace(f"__[POSTCOMPILE_{name}]", literal)
    positions = [name for name in positions if name not in literals]
    expanding = frozenset(name for name in positions if compiled.binds[name].expanding)
    processors = dict(compiled._bind_processors)
    if any(name in processors for name in expanding):
        return None  # a list whose items need converting: leave it to Core
    if dialect.name == "postgresql":
        # numeric_dollar: $1.. follow the non-expanding names in order (a repeated name keeps its number); the
        # expanding ones get the numbers after them.
        names = [name for name in positions if name not in expanding]
        lists = sorted(expanding, key=positions.index)
        numbers = {name: len(names) + index + 1 for index, name in enumerate(lists)}
        sql = _EXPANDING.sub(lambda m: f"{'<> ALL' if m[1] else '= ANY'}(${numbers[m[2]]})", sql)
        names += lists
    elif dialect.name == "sqlite":
        names = positions  # qmark: one name per placeholder, in order, expanding ones included
        sql = _EXPANDING.sub(lambda m: f"{m[1] or ''}IN (SELECT value FROM json_each(?))", sql)
    else:
        return None
    if "__[POSTCOMPILE" in sql:
        return None  # an expanding form this module does not rewrite
    return _Plan(sql, compiled, tuple(names), expanding, literals, processors, list(compiled._result_columns))


def _row_maker(row_type: Any, processors: list[Callable[[Any], Any] | None]) -> Callable[[Any], Any]:
    # tuple.__new__ rather than the named tuple's _make: no Python frame per row (the driver's rows always have
    # the statement's width, which _make would check)
    if not any(processors):
        return functools.partial(tuple.__new__, row_type)
    steps = [(index, processor) for index, processor in enumerate(processors) if processor is not None]
    new = tuple.__new__

    def make_processed(raw: Any) -> Any:
        values = list(raw)
        for index, processor in steps:
            values[index] = processor(values[index])
        return new(row_type, values)

    return make_processed


def _parameters(plan: _Plan, params: dict[str, Any] | None, dialect_name: str) -> tuple[Any, ...]:
    values = plan.compiled.construct_params(params or {})
    out = []
    for name in plan.names:
        value = values[name]
        if name in plan.expanding:
            value = list(value) if dialect_name == "postgresql" else json.dumps(list(value))
        else:
            processor = plan.bind_processors.get(name)
            if processor is not None:
                value = processor(value)
        out.append(value)
    return tuple(out)


async def fast_rows(connection: AsyncConnection, statement: Executable,
                    params: dict[str, Any] | None = None) -> list[Any] | None:
    """The statement's rows through the driver, or None when Core should run it (not reusable, not a read,
    or the driver raised: Core then raises its own error, or succeeds after a reconnect)."""
    sync = connection.sync_connection
    assert sync is not None
    dialect = sync.dialect
    plan = _PLANS.get(statement, dialect)
    if plan is None or (plan.literals and params and not plan.literals.isdisjoint(params)):
        return None
    parameters = _parameters(plan, params, dialect.name)
    sql = plan.sql
    if sync._has_events or sync.engine._has_events:
        # Listeners see what they would under Core (statement text, positional parameters); those registered
        # without retval are wrapped by SQLAlchemy to hand both back unchanged.
        for listener in sync.dispatch.before_cursor_execute:
            sql, parameters = listener(sync, None, sql, parameters, None, False)
    fairy = sync.connection
    make = plan.make_row
    try:
        if dialect.name == "postgresql":
            if make is None:  # SQLAlchemy's processors for asyncpg look at each column's type oid
                prepared = await fairy.driver_connection.prepare(sql)
                make = plan.row_maker(dialect, [attribute.type.oid for attribute in prepared.get_attributes()])
                raw = await prepared.fetch(*parameters)
            else:
                raw = await fairy.driver_connection.fetch(sql, *parameters)
        else:
            adapter = fairy.dbapi_connection
            budget: ReadBudget = adapter._budget
            raw = await read_rows(fairy.driver_connection, sql, parameters, budget)
    except Exception:  # noqa: BLE001 - Core runs it again and raises its own, mapped error
        return None
    if make is None:  # sqlite3 reports no column types: SQLAlchemy's processors get None too
        make = plan.row_maker(dialect, [None] * len(plan.columns))
    return [make(row) for row in raw]


async def core_rows(session: AsyncSession, query: Executable, params: dict[str, Any] | None = None) -> list[Any]:
    """Plain rows of a read on the session's connection: straight through the driver when the statement is
    reused (fast_rows), else Core execution. Never the ORM result layer (the columns are mapped attributes, so
    Session.execute would set up ORM column loading for every result)."""
    connection = await session.connection()
    rows = await fast_rows(connection, query, params)
    return rows if rows is not None else list((await connection.execute(query, params)).all())
