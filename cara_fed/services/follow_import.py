"""Importing a following CSV: the file is checked whole first (services/data_csv.py), then a background job
resolves each address through WebFinger (the federation edge, ctx.directory) and sends the Follow. Progress is
kept on the DataImport row after every address, so a job that dies resumes where it stopped; an address that
cannot be followed is listed with the reason and the rest go on."""

from __future__ import annotations

from sqlalchemy import func, select

from cara_fed import tasks
from cara_fed.context import Context
from cara_fed.db import utcnow
from cara_fed.errors import PermissionDenied, ValidationError
from cara_fed.models import Account, DataImport
from cara_fed.services import data_csv, follows
from cara_fed.services.import_claim import claim_import
from cara_fed.states import transition


async def start(ctx: Context, account: Account, data: bytes) -> DataImport:
    handles = data_csv.read_following(ctx, data)  # raises before anything is stored
    async with ctx.transaction(changes_pages=False) as tx:
        running = await tx.session.scalar(select(func.count()).select_from(DataImport).where(
            DataImport.account_id == account.id, DataImport.state.in_(("queued", "running"))))
        if running:
            raise ValidationError({"csv": "An import is still running; wait for it to finish."})
        row = DataImport(account_id=account.id, kind="following", total=len(handles), payload={"handles": handles})
        tx.session.add(row)
        await tx.session.flush()
        tx.after_commit(ctx.jobs.enqueue, tasks.IMPORT_FOLLOWS, row.id)
    return row


async def _follow_one(ctx: Context, account: Account, handle: str) -> None:
    username, _, domain = handle.partition("@")
    if domain == ctx.config.server.domain.lower():
        async with ctx.sessions() as session:
            target = await session.scalar(select(Account).where(
                func.lower(Account.username) == username, Account.domain.is_(None)))
        if target is None:
            raise LookupError("No such account here.")
    else:
        if ctx.directory is None:
            raise LookupError("Following people on other servers is not available on this instance.")
        target = await ctx.directory.resolve_handle(username, domain)
    if target.status == "suspended":
        raise LookupError("This account is suspended.")
    await follows.request_follow(ctx, account, target)


async def import_follows(ctx: Context, import_id: int) -> None:
    """Job: follow every address from where the last run stopped."""
    claimed = await claim_import(ctx, import_id, "following")
    if claimed is None:
        return
    account, handles, start_at = claimed.account, list(claimed.payload.get("handles", [])), claimed.done
    for index in range(start_at, len(handles)):
        handle, reason = handles[index], None
        try:
            await _follow_one(ctx, account, handle)
        except (LookupError, ValidationError, PermissionDenied) as exc:
            reason = str(exc.errors.get("follow", exc)) if isinstance(exc, ValidationError) else str(exc)
        async with ctx.transaction(changes_pages=False) as tx:
            row = await tx.session.get(DataImport, int(import_id))
            if row is None:
                return
            row.done, row.state_changed_at = index + 1, utcnow()  # progress, and the sweep's heartbeat
            if reason:
                row.failures = [*row.failures, {"item": handle, "reason": reason or "Could not follow."}]
    async with ctx.transaction(changes_pages=False) as tx:
        row = await tx.session.get(DataImport, int(import_id))
        if row is not None and row.state == "running":
            transition(row, "done")
