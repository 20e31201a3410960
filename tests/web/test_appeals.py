"""Decisions about an artist and their one appeal (issue 18): the artist is notified, sees the decision on
/settings/decisions, appeals once; an admin upholds or reverses, and reversing a review decision publishes the
work without a label. Over HTTP, SQLite and PostgreSQL."""

import re

from sqlalchemy import select

from cara_fed.models import Account, AuditEntry, Notification
from cara_fed.services import reports
from tests.conftest import csrf_from, sign_up
from tests.web.test_admin import make_admin
from tests.web.test_artworks import upload
from tests.web.test_review import generated_png, work_of
from tests.web.test_social import login as log_in


async def _appeal(client, entry_id: int, text: str):  # type: ignore[no-untyped-def]
    token = await csrf_from(client, "/settings/decisions")
    return await client.post(f"/settings/decisions/{entry_id}/appeal", data={"csrf_token": token, "appeal": text},
                             allow_redirects=False)


async def test_review_decision_is_shown_appealed_once_and_reversed(client, ctx):
    ctx.config.detection.local_policy = "hold"
    await make_admin(ctx, client, "boss")
    await sign_up(client, "ada")
    await upload(client, [("gen.png", generated_png(), "A lighthouse")], title="Dusk light")
    work = await work_of(ctx, "Dusk light")
    await log_in(client, "boss", "admin password")
    case_id = re.search(r'/admin/review/(\d+)"', await (await client.get("/admin/review")).text()).group(1)
    token = await csrf_from(client, f"/admin/review/{case_id}")
    await client.post(f"/admin/review/{case_id}", data={"csrf_token": token, "action": "reject",
                                                        "note": "Generation parameters in the file"})
    assert (await work_of(ctx, "Dusk light")).state == "rejected"

    await log_in(client, "ada", "correct horse 1")
    assert "The moderators" in await (await client.get("/notifications")).text()
    page = await (await client.get("/settings/decisions")).text()
    assert "Generation parameters in the file" in page and f"artwork:{work.id}" in page
    entry_id = int(re.search(r'/settings/decisions/(\d+)/appeal', page).group(1))
    empty = await _appeal(client, entry_id, "   ")
    assert empty.status == 400 and "Say why the decision is wrong." in await empty.text()
    assert (await _appeal(client, entry_id, "I painted it; the file came from my scanner.")).status == 303
    again = await _appeal(client, entry_id, "Please?")
    assert again.status == 400 and "already appealed" in await again.text()
    assert "An administrator will decide." in await (await client.get("/settings/decisions")).text()

    await sign_up(client, "eve")  # someone else cannot appeal Ada's decision
    assert (await _appeal(client, entry_id, "Me too")).status == 404
    assert (await client.get("/admin/appeals")).status == 403

    await log_in(client, "boss", "admin password")
    queue = await (await client.get("/admin/appeals")).text()
    assert "the file came from my scanner" in queue
    token = await csrf_from(client, "/admin/appeals")
    reversed_ = await client.post(f"/admin/appeals/{entry_id}/reverse", data={"csrf_token": token,
                                                                             "note": "Scanner metadata, not AI"},
                                  allow_redirects=False)
    assert reversed_.status == 303
    work = await work_of(ctx, "Dusk light")
    assert (work.state, work.ai_label) == ("published", None)
    assert "No appeals waiting." in await (await client.get("/admin/appeals")).text()
    again = await client.post(f"/admin/appeals/{entry_id}/uphold", data={"csrf_token": token},
                              allow_redirects=False)
    assert again.status == 404  # decided once

    await log_in(client, "ada", "correct horse 1")
    page = await (await client.get("/settings/decisions")).text()
    assert "<strong>reversed</strong>: Scanner metadata, not AI" in page
    async with ctx.sessions() as session:
        ada = await session.scalar(select(Account).where(Account.username == "ada"))
        kinds = (await session.scalars(select(Notification.kind).where(Notification.account_id == ada.id)
                                       .order_by(Notification.id))).all()
        actions = (await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id))).all()
    assert kinds == ["moderation_decision", "appeal_decided"]
    assert actions == ["review.reject", "appeal.filed", "review.publish", "appeal.reversed"]


async def test_report_outcome_appeal_upheld(client, ctx):
    await make_admin(ctx, client, "boss")
    await sign_up(client, "ada")
    async with ctx.sessions() as session:
        boss, ada = [await session.scalar(select(Account).where(Account.username == n)) for n in ("boss", "ada")]
    report = await reports.report(ctx, boss, ada, None, "Traced work", forward=False)
    await reports.decide(ctx, boss, report.id, "resolve", "Traced from a photo")
    page = await (await client.get("/settings/decisions")).text()
    entry_id = int(re.search(r'/settings/decisions/(\d+)/appeal', page).group(1))
    assert (await _appeal(client, entry_id, "I own the photo.")).status == 303
    await log_in(client, "boss", "admin password")
    token = await csrf_from(client, "/admin/appeals")
    assert (await client.post(f"/admin/appeals/{entry_id}/uphold", data={"csrf_token": token, "note": "Still traced"},
                              allow_redirects=False)).status == 303
    async with ctx.sessions() as session:
        entry = await session.get(AuditEntry, entry_id)
    assert (entry.appeal_state, entry.appeal_note, entry.appeal_text) == ("upheld", "Still traced", "I own the photo.")
