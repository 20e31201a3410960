"""The moderation audit log (issue 18): every moderation action writes one row, in the same transaction as the
action itself, so that an action without its record (or a record of an action that rolled back) cannot exist."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cara_fed.models import Account, AuditEntry, Notification

PAGE_SIZE = 50
REASON_MAX = 2000
# Decisions against a local artist that they are told about and may appeal once (services/appeals.py).
APPEALABLE = ("review.label_ai_generated", "review.label_ai_assisted", "review.hold", "review.reject",
              "report.resolve")
DECISIONS_PATH = "/settings/decisions"


def appealable(entry: AuditEntry) -> bool:
    return entry.action in APPEALABLE and entry.target_account_id is not None


def account_key(account: Account) -> str:
    """The target key of an account: `@name` here, `@name@domain` elsewhere."""
    return f"@{account.username}" if account.domain is None else f"@{account.username}@{account.domain}"


def record(session: AsyncSession, actor: Account | None, action: str, target: str, reason: str = "",
           target_account: Account | None = None) -> AuditEntry:
    """Add the row to the caller's transaction. `actor` None: the instance's own policy acted."""
    entry = AuditEntry(actor_id=actor.id if actor else None, actor_name=account_key(actor) if actor else "",
                       action=action, target=target[:300], reason=reason.strip()[:REASON_MAX],
                       target_account_id=target_account.id if target_account else None)
    session.add(entry)
    if target_account is not None and target_account.is_local and appealable(entry):
        session.add(Notification(account_id=target_account.id, kind="moderation_decision",
                                 object_uri=DECISIONS_PATH))
    return entry


async def page(session: AsyncSession, target: str = "", before: int | None = None,
               limit: int = PAGE_SIZE) -> tuple[list[AuditEntry], int | None]:
    """Newest first, keyset-paginated by id; returns the rows and the `before` of the next page (None: last)."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit + 1)
    if target:
        query = query.where(AuditEntry.target == target)
    if before is not None:
        query = query.where(AuditEntry.id < before)
    rows = list((await session.scalars(query)).all())
    return rows[:limit], (rows[limit - 1].id if len(rows) > limit else None)
