"""Retention: finished inbox items, deliveries and sent activities past their ages are deleted (in batches);
anything still waiting, and anything younger, stays — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from cara_fed.db import utcnow
from cara_fed.models import Delivery, InboxItem, OutgoingActivity, ScheduledRun
from cara_fed.services import accounts, retention


async def test_prune_keeps_waiting_and_recent_rows(ctx, monkeypatch):
    monkeypatch.setattr(retention, "BATCH", 2)  # several batches with few rows
    now = utcnow()
    old, recent = now - timedelta(days=400), now - timedelta(days=1)
    async with ctx.transaction() as tx:
        ada = await accounts.create_account(ctx, tx, "ada", "ada@example.org", "password123")
        session = tx.session
        inbox = {}
        for state in ("processed", "ignored", "failed", "received", "retry"):
            for age, when in (("old", old), ("new", recent)):
                item = InboxItem(activity_id=f"https://r.example/{state}/{age}", recipient="shared",
                                 actor_uri="https://r.example/u", activity_type="Create", payload={},
                                 state=state, state_changed_at=when, received_at=when)
                session.add(item)
                inbox[(state, age)] = item
        # An old activity whose deliveries are all finished and old; one with a delivery still retrying;
        # a recent one.
        done = OutgoingActivity(uri="https://test.example/a/done", activity_type="Create", actor_id=ada.id, body="{}",
                                created_at=old)
        busy = OutgoingActivity(uri="https://test.example/a/busy", activity_type="Create", actor_id=ada.id, body="{}",
                                created_at=old)
        fresh = OutgoingActivity(uri="https://test.example/a/fresh", activity_type="Create", actor_id=ada.id,
                                 body="{}", created_at=recent)
        session.add_all([done, busy, fresh])
        await session.flush()
        for n, state in enumerate(("sent", "gone", "failed")):
            session.add(Delivery(activity_id=done.id, inbox_url=f"https://r{n}.example/inbox", domain=f"r{n}.example",
                                 state=state, state_changed_at=old, created_at=old))
        session.add(Delivery(activity_id=busy.id, inbox_url="https://r.example/inbox", domain="r.example",
                             state="retry", state_changed_at=old, created_at=old))
        session.add(Delivery(activity_id=busy.id, inbox_url="https://s.example/inbox", domain="s.example",
                             state="sent", state_changed_at=recent, created_at=old))
        session.add(Delivery(activity_id=fresh.id, inbox_url="https://r.example/inbox", domain="r.example",
                             state="sent", state_changed_at=recent, created_at=recent))
        session.add(ScheduledRun(job="sweep", slot=old, claimed_by="x", claimed_at=old))
        session.add(ScheduledRun(job="sweep", slot=now, claimed_by="x", claimed_at=now))

    pruned = await retention.prune(ctx)
    assert (pruned.inbox_items, pruned.deliveries, pruned.outgoing_activities, pruned.scheduled_runs) == (3, 3, 1, 1)
    async with ctx.sessions() as session:
        left = {(row.activity_id.split("/")[-2], row.activity_id.split("/")[-1])
                for row in (await session.scalars(select(InboxItem))).all()}
        assert left == {("processed", "new"), ("ignored", "new"), ("failed", "new"), ("received", "old"),
                        ("received", "new"), ("retry", "old"), ("retry", "new")}
        deliveries = {(row.domain, row.state) for row in (await session.scalars(select(Delivery))).all()}
        assert deliveries == {("r.example", "retry"), ("s.example", "sent"), ("r.example", "sent")}
        uris = set((await session.scalars(select(OutgoingActivity.uri))).all())
        assert uris == {"https://test.example/a/busy", "https://test.example/a/fresh"}
    # A second run finds nothing more.
    again = await retention.prune(ctx)
    assert (again.inbox_items, again.deliveries, again.outgoing_activities) == (0, 0, 0)


async def test_ages_come_from_config(ctx):
    ctx.config.retention.inbox_days = 1
    async with ctx.transaction() as tx:
        tx.session.add(InboxItem(activity_id="https://r.example/1", recipient="shared", actor_uri="https://r.example/u",
                                 activity_type="Like", payload={}, state="processed",
                                 state_changed_at=utcnow() - timedelta(days=2)))
    assert (await retention.prune(ctx)).inbox_items == 1


async def test_sent_mails_and_expired_links_are_pruned_but_queued_mail_stays(ctx):
    from cara_fed.models import AccountToken, OutgoingMail

    now = utcnow()
    old = now - timedelta(days=ctx.config.retention.deliveries_days + 1)
    async with ctx.transaction() as tx:
        ada = await accounts.create_account(ctx, tx, "ada", "ada@example.org", "password123")
        tx.session.add_all([
            OutgoingMail(to_address="a@example.org", subject="sent", state="sent", state_changed_at=old),
            OutgoingMail(to_address="a@example.org", subject="waiting", state="queued", state_changed_at=old),
            OutgoingMail(to_address="a@example.org", subject="recent", state="sent", state_changed_at=now),
            AccountToken(account_id=ada.id, purpose="reset", token_hash="a" * 64, expires_at=now - timedelta(days=2)),
            AccountToken(account_id=ada.id, purpose="reset", token_hash="b" * 64, expires_at=now + timedelta(hours=1)),
        ])
    pruned = await retention.prune(ctx)
    assert (pruned.mails, pruned.account_tokens) == (1, 1)
    async with ctx.sessions() as session:
        assert set((await session.scalars(select(OutgoingMail.subject))).all()) == {"waiting", "recent"}
        assert (await session.scalars(select(AccountToken.token_hash))).all() == ["b" * 64]
