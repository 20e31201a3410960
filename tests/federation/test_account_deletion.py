"""Deleting an account (issue 18) over real HTTP, on SQLite and PostgreSQL: the owner asks in Settings with
their password and cancels within the grace period; when the period is over a signed Delete(actor) reaches
every server that knew the account (one per shared inbox, on the loopback sink), the media files are gone from
storage, the name cannot be registered again and the actor URL and WebFinger answer 410 (in the grace period the
actor says suspended: true); an admin's suspension hides the account and, lifted within the grace period,
restores it with its works — both written to the moderation audit log."""

from __future__ import annotations

from sqlalchemy import func, select, update

from cara_fed import scheduler
from cara_fed.db import Base
from cara_fed.models import Account, Artwork, AuditEntry, Follow, MediaAsset
from cara_fed.services import account_deletion, follows, interactions, projects
from cara_fed_run.worker import periodic_jobs
from tests import images
from tests.conftest import csrf_from, sign_up
from tests.federation.sink import activities, remote_actor, trust_local
from tests.web.test_artworks import upload
from tests.web.test_two_factor import enrol

AP = {"Accept": "application/activity+json"}
PASSWORD = "correct horse 1"


async def _account(ctx, username: str) -> Account:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        return await session.scalar(select(Account).where(Account.username == username, Account.domain.is_(None)))


async def _artist_with_work_and_followers(client, ctx, sink, username: str = "ada"):  # type: ignore[no-untyped-def]
    ctx.config.federation.allow_private_addresses = True  # the sink lives on loopback
    assert (await sign_up(client, username)).status == 303
    response = await upload(client, [("a.jpg", images.jpeg(640, 480), "A ferry at night")], title="Night ferry")
    assert response.status == 303, await response.text()
    artist = await _account(ctx, username)
    trust_local(sink, ctx, artist)
    for index, count in enumerate((2, 1)):  # three followers on two servers
        for n in range(count):
            fan = await remote_actor(ctx, sink, index, f"fan{index}x{n}")
            await follows.receive_follow(ctx, fan, artist, f"{fan.uri}/follows/1")
    sink.reset()
    return artist


async def _files(ctx, account_id: int) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        assets = (await session.scalars(select(MediaAsset).where(MediaAsset.account_id == account_id))).all()
        keys = [("private", a.original_key) for a in assets if a.original_key]
        return keys + [("public", d.key) for a in assets for d in a.derivatives]


async def _left_behind(ctx, account_id: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Rows of the tables a deletion purges that still name the account."""
    found: dict[str, int] = {}
    async with ctx.sessions() as session:
        for name, column in account_deletion.PURGED:
            table = Base.metadata.tables[name]
            count = await session.scalar(select(func.count()).select_from(table).where(table.c[column] == account_id))
            if count:
                found[name] = found.get(name, 0) + count
    return found


async def _ask_deletion(client, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return await client.post("/settings/delete", data={"csrf_token": await csrf_from(client, "/settings/delete"),
                                                      "password": password})


async def _cancel(client, login: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    client.session.cookie_jar.clear()
    return await client.post("/account/cancel-deletion", data={
        "csrf_token": await csrf_from(client, "/account/cancel-deletion"), "login": login, "password": password})


async def _log_in(client, login: str):  # type: ignore[no-untyped-def]
    client.session.cookie_jar.clear()
    return await client.post("/login", data={"login": login, "password": PASSWORD,
                                             "csrf_token": await csrf_from(client, "/login")}, allow_redirects=False)


async def test_deletion_can_be_cancelled_within_the_grace_period(client, ctx, sink):
    ada = await _artist_with_work_and_followers(client, ctx, sink)

    wrong = await _ask_deletion(client, "not my password")
    assert wrong.status == 400 and "not right" in await wrong.text()
    assert (await client.get("/@ada")).status == 200

    asked = await _ask_deletion(client)
    assert asked.status == 200 and "will be deleted" in await asked.text()
    assert (await client.get("/@ada")).status == 410
    await _served_as_suspended(client, ctx, "ada")
    refused = await _log_in(client, "ada")  # sessions ended; logging in only works on the cancel page
    assert refused.status == 401 and "being deleted" in await refused.text()
    assert sink.received == []  # nothing is sent during the grace period

    assert (await _cancel(client, "ada", "wrong password")).status == 400
    cancelled = await _cancel(client, "ada")
    assert cancelled.status == 200 and "back as it was" in await cancelled.text()
    assert (await client.get("/@ada")).status == 200 and "Night ferry" in await (await client.get("/@ada")).text()
    assert (await client.get("/users/ada", headers=AP)).status == 200
    assert (await _log_in(client, "ada")).status == 303
    assert (await account_deletion.finish_due(ctx)) == 0 and sink.received == []
    still = await _account(ctx, "ada")
    assert (still.status, still.deletion_due_at, still.deleted_at) == ("active", None, None)
    assert all([await ctx.storage.exists(area, key) for area, key in await _files(ctx, ada.id)])


async def test_after_the_grace_period_peers_get_a_signed_delete_and_everything_is_gone(client, ctx, sink):
    ada = await _artist_with_work_and_followers(client, ctx, sink)
    files = await _files(ctx, ada.id)
    assert files and all([await ctx.storage.exists(area, key) for area, key in files])
    async with ctx.sessions() as session:
        work_id = await session.scalar(select(Artwork.id).where(Artwork.account_id == ada.id))
    await projects.save_project(ctx, ada, "Ferries", "", [work_id])
    await interactions.bookmark(ctx, ada, work_id, True)
    assert await _left_behind(ctx, ada.id) == {"artworks": 1, "projects": 1, "bookmarks": 1,
                                                   "notifications": 3, "login_sessions": 1}  # 3 new followers
    ctx.config.accounts.deletion_grace_days = 0

    assert (await _ask_deletion(client)).status == 200
    assert sink.received == []
    # The scheduler's own slot claim runs the periodic job (with the sweep and retention; jobs run inline here).
    assert "account_deletion" in await scheduler.run_due(ctx, periodic_jobs(ctx.config), "test")

    deletes = activities(sink, "Delete")
    assert len(sink.received) == len(deletes) == 2  # three followers, two shared inboxes
    assert sorted(r.port for r in deletes) == sorted(sink.ports)
    actor = ctx.url("/users/ada")
    assert all(r.verified and r.error is None and r.key_id == actor + "#main-key" for r in deletes)
    assert all(r.json["actor"] == r.json["object"] == actor for r in deletes)

    assert not any([await ctx.storage.exists(area, key) for area, key in files])
    async with ctx.sessions() as session:
        assert (await session.scalars(select(MediaAsset).where(MediaAsset.account_id == ada.id))).all() == []
        assert (await session.scalars(select(Follow).where(Follow.followee_id == ada.id))).all() == []
    assert await _left_behind(ctx, ada.id) == {}
    tomb = await _account(ctx, "ada")
    assert tomb.deleted_at is not None and tomb.email is None and tomb.password_hash is None
    assert (await client.get("/users/ada", headers=AP)).status == 410
    assert (await client.get("/@ada")).status == 410
    gone = await client.get("/.well-known/webfinger", params={"resource": "acct:ada@test.example"})
    assert gone.status == 410 and "deleted" in (await gone.json())["error"]

    client.session.cookie_jar.clear()
    again = await sign_up(client, "ada")
    assert again.status == 400 and "taken" in (await again.text()).lower()
    assert (await _cancel(client, "ada")).status in (400, 401)  # too late: no password any more
    assert await account_deletion.finish_due(ctx) == 0 and len(sink.received) == 2  # done once


async def _served_as_suspended(client, ctx, name: str) -> None:  # type: ignore[no-untyped-def]
    """In the grace period the actor answers as Mastodon's suspended ones do (the account may come back): ids,
    collections and key, `suspended: true`, nothing of the profile; WebFinger still finds it."""
    response = await client.get(f"/users/{name}", headers=AP)
    assert response.status == 200
    actor = await response.json(content_type=None)
    assert actor["id"] == ctx.url(f"/users/{name}") and actor["suspended"] is True
    assert actor["inbox"] == ctx.url(f"/users/{name}/inbox") and "publicKeyPem" in actor["publicKey"]
    assert actor["name"] == actor["summary"] == "" and "icon" not in actor and actor["attachment"] == []
    assert {"suspended": "toot:suspended"}.items() <= actor["@context"][-1].items()
    finger = await client.get("/.well-known/webfinger", params={"resource": f"acct:{name}@test.example"})
    assert finger.status == 200


async def test_admin_suspension_is_reversible_within_the_grace_period(client, ctx, sink):
    bea = await _artist_with_work_and_followers(client, ctx, sink, "bea")
    files = await _files(ctx, bea.id)
    client.session.cookie_jar.clear()
    assert (await sign_up(client, "moda")).status == 303
    async with ctx.transaction() as tx:
        await tx.session.execute(update(Account).where(Account.username == "moda").values(is_admin=True))

    token = await csrf_from(client, "/admin/deletions")
    unknown = await client.post("/admin/deletions/suspend", data={"csrf_token": token, "username": "nobody"})
    assert unknown.status == 400 and "no such account" in await unknown.text()
    response = await client.post("/admin/deletions/suspend", data={"csrf_token": token, "username": "@bea",
                                                                   "reason": "Spam portfolio, report 12"})
    assert response.status == 200 and "@bea" in await response.text()  # followed the redirect to the list
    assert (await client.get("/@bea")).status == 410
    await _served_as_suspended(client, ctx, "bea")
    assert (await account_deletion.finish_due(ctx)) == 0  # 30 days are not over
    twice = await client.post("/admin/deletions/suspend", data={"csrf_token": token, "username": "bea"})
    assert twice.status == 400 and "already suspended" in await twice.text()
    assert (await client.post("/admin/deletions/99999/unsuspend", data={"csrf_token": token})).status == 400
    assert (await client.post("/admin/deletions/99999999999/unsuspend", data={"csrf_token": token})).status == 404

    restored = await client.post(f"/admin/deletions/{bea.id}/unsuspend",
                                 data={"csrf_token": await csrf_from(client, "/admin/deletions"),
                                       "reason": "Appeal upheld"})
    assert restored.status == 200
    # Both decisions are in the moderation log with who and why, newest first, as the admin page shows them.
    async with ctx.sessions() as session:
        entries = (await session.scalars(select(AuditEntry).where(AuditEntry.target == "@bea")
                                         .order_by(AuditEntry.id))).all()
    assert [(e.action, e.actor_name, e.reason, e.target_account_id) for e in entries] == [
        ("account.suspend_delete", "@moda", "Spam portfolio, report 12", bea.id),
        ("account.restore", "@moda", "Appeal upheld", bea.id)]
    log_page = await client.get("/admin/log", params={"target": "@bea"})
    text = await log_page.text()
    assert log_page.status == 200 and "Spam portfolio, report 12" in text and "Appeal upheld" in text
    page = await client.get("/@bea")
    assert page.status == 200 and "Night ferry" in await page.text()
    back = await client.get("/users/bea", headers=AP)
    assert back.status == 200 and "suspended" not in await back.json(content_type=None)  # no stale cached copy
    assert all([await ctx.storage.exists(area, key) for area, key in files])
    assert sink.received == []
    assert (await _log_in(client, "bea")).status == 303
    async with ctx.sessions() as session:
        assert len((await session.scalars(select(Follow).where(Follow.followee_id == bea.id))).all()) == 3


async def test_an_account_with_two_factor_needs_a_code_to_delete_and_to_cancel(client, ctx):
    assert (await sign_up(client, "cy")).status == 303
    totp, recovery = await enrol(client)

    no_code = await _ask_deletion(client)
    assert no_code.status == 400
    assert (await client.get("/@cy")).status == 200  # nothing happened
    asked = await client.post("/settings/delete", data={
        "csrf_token": await csrf_from(client, "/settings/delete"), "password": PASSWORD, "code": recovery[0]})
    assert asked.status == 200, await asked.text()
    assert (await client.get("/@cy")).status == 410

    assert (await _cancel(client, "cy")).status == 400  # the password alone does not bring it back
    assert (await client.get("/@cy")).status == 410
    client.session.cookie_jar.clear()
    back = await client.post("/account/cancel-deletion", data={
        "csrf_token": await csrf_from(client, "/account/cancel-deletion"), "login": "cy", "password": PASSWORD,
        "code": recovery[1]})
    assert back.status == 200, await back.text()
    assert (await client.get("/@cy")).status == 200
