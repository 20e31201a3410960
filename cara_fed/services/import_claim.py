"""How an import job (following CSV, portfolio archive) starts or resumes: one compare-and-set on its row, so a
job queued twice, or requeued by the sweep while the first run still moves, works from the row's own state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cara_fed.context import Context
from cara_fed.models import Account, DataImport
from cara_fed.states import transition


@dataclass(frozen=True)
class ClaimedImport:
    account: Account
    payload: dict[str, Any]
    done: int  # items finished by earlier runs: resume here


async def claim_import(ctx: Context, import_id: int, kind: str) -> ClaimedImport | None:
    """Mark the import running and return what the job needs; None when the row is gone, of another kind, or
    already finished (done, failed): the job then has nothing to do."""
    async with ctx.transaction(changes_pages=False) as tx:
        row = await tx.session.get(DataImport, int(import_id))
        if row is None or row.kind != kind or row.state not in ("queued", "running"):
            return None
        if row.state == "queued":
            transition(row, "running")
        account = await tx.session.get(Account, row.account_id)
        return ClaimedImport(account=account, payload=dict(row.payload), done=row.done)
