"""Appeals against moderation decisions (issue 18): the affected local artist appeals a decision once, in a few
words; an admin upholds it or reverses it. Reversing undoes the action where it has an undo (a review decision:
the work is published without a label); a report outcome has none, so reversing it is recorded only."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cara_fed.context import Context
from cara_fed.db import utcnow
from cara_fed.errors import NotFound, PermissionDenied, ValidationError
from cara_fed.models import Account, AuditEntry, Notification, ReviewCase
from cara_fed.services import audit, review

APPEAL_MAX = 1000
OUTCOMES = {"uphold": "upheld", "reverse": "reversed"}


async def about(session: AsyncSession, account: Account, limit: int = 100) -> list[AuditEntry]:
    """The decisions about this account and its works, newest first."""
    return list((await session.scalars(select(AuditEntry).where(AuditEntry.target_account_id == account.id,
                                                                AuditEntry.action.in_(audit.APPEALABLE))
                                       .order_by(AuditEntry.id.desc()).limit(limit))).all())


async def pending(session: AsyncSession, limit: int = 100) -> list[AuditEntry]:
    return list((await session.scalars(select(AuditEntry).where(AuditEntry.appeal_state == "pending")
                                       .order_by(AuditEntry.appealed_at).limit(limit))).all())


async def appeal(ctx: Context, account: Account, entry_id: int, text: str) -> AuditEntry:
    text = text.strip()
    if not text:
        raise ValidationError({"appeal": "Say why the decision is wrong."})
    if len(text) > APPEAL_MAX:
        raise ValidationError({"appeal": f"Keep the appeal under {APPEAL_MAX} characters."})
    async with ctx.transaction(changes_pages=False) as tx:
        entry = await tx.session.get(AuditEntry, entry_id, with_for_update=True)
        if entry is None or entry.target_account_id != account.id or not audit.appealable(entry):
            raise NotFound("No such decision about your account.")
        if entry.appeal_state:
            raise ValidationError({"appeal": "You have already appealed this decision; each can be appealed once."})
        entry.appeal_state, entry.appeal_text, entry.appealed_at = "pending", text, utcnow()
        audit.record(tx.session, account, "appeal.filed", entry.target, text)
    return entry


async def decide(ctx: Context, admin: Account, entry_id: int, outcome: str, note: str = "") -> AuditEntry:
    if not admin.is_admin:
        raise PermissionDenied("Only administrators decide appeals.")
    if outcome not in OUTCOMES:
        raise ValidationError({"outcome": "Choose uphold or reverse."})
    async with ctx.sessions() as session:
        entry = await session.get(AuditEntry, entry_id)
        if entry is None or entry.appeal_state != "pending":
            raise NotFound("No appeal waits on this decision.")
        case_id = await session.scalar(select(ReviewCase.id).where(
            ReviewCase.artwork_id == _artwork_id(entry))) if entry.action.startswith("review.") else None
    if outcome == "reverse" and case_id is not None:
        # The undo first: if it cannot happen (the work is still processing), the appeal stays pending.
        await review.decide(ctx, admin, case_id, "publish", f"appeal upheld: {note}".rstrip(": "))
    async with ctx.transaction() as tx:
        entry = await tx.session.get(AuditEntry, entry_id, with_for_update=True)
        if entry is None or entry.appeal_state != "pending":
            raise NotFound("No appeal waits on this decision.")
        entry.appeal_state, entry.appeal_note = OUTCOMES[outcome], note.strip()[:audit.REASON_MAX]
        entry.appeal_decided_by_id, entry.appeal_decided_at = admin.id, utcnow()
        audit.record(tx.session, admin, f"appeal.{OUTCOMES[outcome]}", entry.target, note)
        tx.session.add(Notification(account_id=entry.target_account_id, kind="appeal_decided",
                                    object_uri=audit.DECISIONS_PATH))
    return entry


def _artwork_id(entry: AuditEntry) -> int | None:
    prefix, _, number = entry.target.partition(":")
    return int(number) if prefix == "artwork" and number.isdigit() else None
