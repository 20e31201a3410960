"""The `build_export` job: the artist's outbox as AS2 (the same Creates /users/{name}/outbox serves, every page
inline), handed to the core, which writes the portfolio archive (cara_fed/services/archive_export.py).
It lives here because only the federation edge builds ActivityStreams JSON."""

from __future__ import annotations

from typing import Any

from cara_fed import queries_threads as threads
from cara_fed import urls
from cara_fed.context import Context
from cara_fed.models import Account, DataExport
from cara_fed.services import archive_export
from federation.outbound.documents import outbox_items
from federation.wire import serialize as s

PAGE = 200


async def _outbox(ctx: Context, account_id: int) -> dict[str, Any]:
    items: list[dict] = []
    cursor: str | None = None
    async with ctx.sessions() as session:
        account = await session.get(Account, account_id)
        while True:
            page = await threads.outbox(session, account, cursor, limit=PAGE)
            items += await outbox_items(ctx, session, page)
            if not page.next_cursor:
                break
            cursor = page.next_cursor
        base = ctx.url(urls.actor_collection(account.username, "outbox"))
    return s.ordered_collection(base, len(items), items=items)


async def build_export(ctx: Context, export_id: int | str) -> None:
    async with ctx.sessions() as session:
        row = await session.get(DataExport, int(export_id))
        if row is None or row.state != "queued":
            return
        account_id = row.account_id
    await archive_export.write_archive(ctx, int(export_id), await _outbox(ctx, account_id))
