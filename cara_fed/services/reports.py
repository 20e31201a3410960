"""Reports to this instance's moderators: from local accounts (about local or remote works and accounts),
or received from other servers as a Flag. Remote content is reported onwards to its own server by the
federation edge (event `ReportForwarded`, from our instance actor). Moderators resolve or dismiss each report; the
decision (who, which, when, note) is kept on the row and logged."""

from __future__ import annotations

import logging
import secrets

from sqlalchemy import select

from cara_fed.context import Context
from cara_fed.db import utcnow
from cara_fed.errors import NotFound, ValidationError
from cara_fed.events import ReportForwarded, emit
from cara_fed.models import Account, Artwork, Report
from cara_fed.services import audit

log = logging.getLogger(__name__)
REASON_MAX = 1000
DECISIONS = {"resolve": "resolved", "dismiss": "dismissed"}


async def report(ctx: Context, reporter: Account, target: Account, artwork: Artwork | None, reason: str,
                 forward: bool = True) -> Report:
    """A local account reports an account, or one of its artworks, with a reason in words."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say what is wrong, so the moderators can act on it."})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": f"Keep the reason under {REASON_MAX} characters."})
    if target.id == reporter.id:
        raise ValidationError({"report": "You cannot report yourself."})
    if artwork is not None and artwork.account_id != target.id:
        raise ValidationError({"report": "That artwork is not by that account."})
    async with ctx.transaction(changes_pages=False) as tx:
        row = Report(origin="local", reporter_id=reporter.id, target_id=target.id,
                     artwork_id=artwork.id if artwork is not None else None, reason=reason,
                     object_uris=[u for u in (target.uri, artwork.uri if artwork is not None else None) if u])
        tx.session.add(row)
        await tx.session.flush()
        row.uri = ctx.url(f"/reports/{row.id}-{secrets.token_hex(4)}")
        if forward and not target.is_local:
            emit(ctx, tx, ReportForwarded(row.id))
    log.info("report %s by @%s about account %s (artwork %s)", row.id, reporter.username, target.id, row.artwork_id)
    return row


async def receive_flag(ctx: Context, sender: Account, target: Account, artworks: list[Artwork], reason: str,
                       uris: list[str], flag_uri: str) -> Report | None:
    """An inbound Flag about one of our accounts (and some of its works). Idempotent per Flag id."""
    async with ctx.transaction(changes_pages=False) as tx:
        if flag_uri and await tx.session.scalar(select(Report.id).where(Report.uri == flag_uri)) is not None:
            return None
        row = Report(origin="inbound", reporter_id=sender.id, target_id=target.id,
                     artwork_id=artworks[0].id if artworks else None, reason=reason.strip()[:REASON_MAX],
                     object_uris=uris[:20], uri=flag_uri or None)
        tx.session.add(row)
    log.info("report %s received from %s about account %s", row.id, sender.domain, target.id)
    return row


async def mark_forwarded(ctx: Context, report_id: int) -> None:
    async with ctx.transaction(changes_pages=False) as tx:
        row = await tx.session.get(Report, report_id)
        if row is not None:
            row.forwarded = True


async def decide(ctx: Context, moderator: Account, report_id: int, decision: str, note: str = "") -> Report:
    if decision not in DECISIONS:
        raise ValidationError({"decision": "Choose resolve or dismiss."})
    async with ctx.transaction(changes_pages=False) as tx:
        row = await tx.session.get(Report, report_id)
        if row is None:
            raise NotFound("No such report.")
        row.state = DECISIONS[decision]
        row.decided_by_id, row.decided_at = moderator.id, utcnow()
        row.decision_note = note.strip()[:REASON_MAX]
        audit.record(tx.session, moderator, f"report.{decision}", audit.account_key(row.target),
                     f"report {row.id}: {row.decision_note}".rstrip(": "), target_account=row.target)
    log.info("report %s %s by @%s: %s", report_id, row.state, moderator.username, row.decision_note)
    return row
