"""The moderation audit log (issue 18): approvals, rejections, domain policy and report outcomes each write who,
what, target and why in the action's own transaction; /admin/log lists them newest first, 50 a page, filtered
by target; only admins see it. SQLite and PostgreSQL."""

import re

from sqlalchemy import func, select

from cara_fed.models import Account, AuditEntry
from cara_fed.services import accounts, audit, instances, reports
from tests.conftest import csrf_from, sign_up
from tests.web.test_admin import make_admin


async def _account(ctx, name: str) -> Account:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        return await session.scalar(select(Account).where(Account.username == name))


async def _entries(ctx) -> list[tuple]:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        rows = (await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
        return [(r.actor_name, r.action, r.target, r.reason) for r in rows]


async def test_moderation_actions_are_logged_with_who_what_target_and_why(client, ctx):
    async with ctx.transaction() as tx:
        for name in ("newbie", "spammer"):
            await accounts.create_account(ctx, tx, name, f"{name}@example.org", "a password 1",
                                          bypass_registration=True)
    await make_admin(ctx, client)
    async with ctx.transaction() as tx:
        for name in ("newbie", "spammer"):
            (await tx.session.scalar(select(Account).where(Account.username == name))).status = "pending"
    newbie, spammer, boss = await _account(ctx, "newbie"), await _account(ctx, "spammer"), await _account(ctx, "boss")
    token = await csrf_from(client, "/admin")
    for who, decision, reason in ((newbie, "approve", "Portfolio checks out"), (spammer, "reject", "Link farm")):
        decided = await client.post(f"/admin/accounts/{who.id}/{decision}", data={"csrf_token": token,
                                                                                 "reason": reason},
                                    allow_redirects=False)
        assert decided.status == 303
    assert (await client.post("/admin/instances", data={"csrf_token": token, "domain": "Spam.Example",
                                                        "policy": "suspend", "reason": "Spam waves"},
                              allow_redirects=False)).status == 303
    bad = await client.post("/admin/instances", data={"csrf_token": token, "domain": "not a domain!",
                                                     "policy": "silence", "reason": "never written"})
    assert bad.status == 400
    report = await reports.report(ctx, newbie, spammer, None, "Copies my work", forward=False)
    token = await csrf_from(client, "/admin/reports")
    assert (await client.post(f"/admin/reports/{report.id}/resolve", data={"csrf_token": token,
                                                                          "note": "Removed the copies"},
                              allow_redirects=False)).status == 303
    assert await _entries(ctx) == [
        ("@boss", "account.active", "@newbie", "Portfolio checks out"),
        ("@boss", "account.suspended", "@spammer", "Link farm"),
        ("@boss", "domain.suspend", "spam.example", "Spam waves"),
        ("@boss", "report.resolve", "@spammer", f"report {report.id}: Removed the copies"),
    ]  # the refused domain wrote nothing
    async with ctx.sessions() as session:
        rows = (await session.scalars(select(AuditEntry).where(AuditEntry.target == "@spammer"))).all()
        assert {r.target_account_id for r in rows} == {spammer.id} and {r.actor_id for r in rows} == {boss.id}

    page = await (await client.get("/admin/log")).text()
    assert page.index("Removed the copies") < page.index("Spam waves") < page.index("Portfolio checks out")
    only = await (await client.get("/admin/log", params={"target": "@spammer"})).text()
    assert "Link farm" in only and "Removed the copies" in only
    assert "Spam waves" not in only and "Portfolio checks out" not in only
    nothing = await (await client.get("/admin/log", params={"target": "@nobody"})).text()
    assert "No actions recorded on @nobody" in nothing


async def test_log_pages_through_many_actions(client, ctx):
    await make_admin(ctx, client)
    boss = await _account(ctx, "boss")
    for n in range(audit.PAGE_SIZE + 5):
        await instances.set_policy(ctx, f"spam{n}.example", "silence", f"wave {n}", actor=boss)
    await instances.set_policy(ctx, "other.example", "suspend", "other", actor=boss)
    first = await (await client.get("/admin/log", params={"target": "spam3.example"})).text()
    assert re.findall(r"<td>(wave \d+|other)</td>", first) == ["wave 3"]
    page = await (await client.get("/admin/log")).text()
    shown = re.findall(r"<td>(wave \d+|other)</td>", page)
    assert len(shown) == audit.PAGE_SIZE and shown[0] == "other" and shown[1] == f"wave {audit.PAGE_SIZE + 4}"
    older = re.search(r'href="(/admin/log\?before=\d+)"', page).group(1)
    rest = re.findall(r"<td>(wave \d+|other)</td>", await (await client.get(older)).text())
    assert rest == [f"wave {n}" for n in range(5, -1, -1)]
    assert set(shown).isdisjoint(rest)
    for junk in ("abc", "99999999999999999999", "-1", "١٢"):  # bad cursors are ignored, never a 500
        assert (await client.get("/admin/log", params={"before": junk})).status == 200


async def test_only_admins_see_the_log(client, ctx):
    assert (await client.get("/admin/log", allow_redirects=False)).status == 303  # to log in
    await sign_up(client, "ada")
    assert (await client.get("/admin/log")).status == 403
    async with ctx.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(AuditEntry)) == 0
