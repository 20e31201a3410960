"""Blocks, mutes and reports between local accounts, and the moderators' reports queue (SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import select

from cara_fed.models import Follow, Report
from tests.conftest import csrf_from
from tests.web.test_discovery import make_artist, publish
from tests.web.test_social import login


async def post(client, path: str, data: dict | None = None, token_from: str = "/explore"):  # type: ignore[no-untyped-def]
    token = await csrf_from(client, token_from)
    return await client.post(path, data={"csrf_token": token, **(data or {})}, allow_redirects=False)


async def test_block_ends_follows_refuses_new_ones_and_hides_works(client, ctx):
    ada = await make_artist(ctx, "ada")
    bob = await make_artist(ctx, "bob")
    await publish(ctx, ada, "Private sketch", visibility="followers", tags=["ink"])
    public_id = await publish(ctx, ada, "Public harbour", tags=["ink"])
    await publish(ctx, bob, "Bob's boat", tags=["ink"])

    await login(client, "bob")
    assert (await post(client, f"/accounts/{ada.id}/follow")).status == 303
    assert "Private sketch" in await (await client.get("/feed")).text()

    await login(client, "ada")
    profile = await (await client.get("/@bob")).text()
    assert f'action="/accounts/{bob.id}/block"' in profile
    assert (await post(client, f"/accounts/{bob.id}/follow")).status == 303  # ada follows bob too
    blocked = await post(client, f"/accounts/{bob.id}/block")
    assert blocked.status == 303 and blocked.headers["Location"] == "/@bob"
    async with ctx.sessions() as session:
        states = {(f.follower_id, f.followee_id): f.state for f in (await session.scalars(select(Follow))).unique()}
    assert states == {(bob.id, ada.id): "cancelled", (ada.id, bob.id): "cancelled"}  # both ways
    assert "Unblock" in await (await client.get("/@bob")).text()
    # Ada no longer sees Bob's works in her listings.
    assert "Bob&#39;s boat" not in await (await client.get("/explore")).text()
    assert "Bob&#39;s boat" not in await (await client.get("/tags/ink")).text()

    await login(client, "bob")
    refused = await post(client, f"/accounts/{ada.id}/follow")
    assert refused.status == 403 and "blocked" in await refused.text()
    feed = await (await client.get("/feed")).text()
    assert "Private sketch" not in feed
    assert (await client.get(f"/@ada/{public_id}")).status == 404  # nothing across a block
    assert "Public harbour" not in await (await client.get("/explore")).text()

    await login(client, "ada")
    assert (await post(client, f"/accounts/{bob.id}/unblock")).status == 303
    assert "Bob&#39;s boat" in await (await client.get("/explore")).text()
    await login(client, "bob")
    assert (await post(client, f"/accounts/{ada.id}/follow")).status == 303


async def test_mute_hides_works_from_feed_and_explore_only(client, ctx):
    ada = await make_artist(ctx, "ada")
    await make_artist(ctx, "viv")
    await publish(ctx, ada, "Loud poster")
    await login(client, "viv")
    await post(client, f"/accounts/{ada.id}/follow")
    assert "Loud poster" in await (await client.get("/feed")).text()
    assert (await post(client, f"/accounts/{ada.id}/mute")).status == 303
    assert "Loud poster" not in await (await client.get("/feed")).text()
    assert "Loud poster" not in await (await client.get("/explore")).text()
    assert "Unfollow" in await (await client.get("/@ada")).text()  # still following: a mute is not a block
    assert "Loud poster" in await (await client.get("/@ada")).text()  # their profile still shows them
    await post(client, f"/accounts/{ada.id}/unmute")
    assert "Loud poster" in await (await client.get("/feed")).text()


async def test_bad_block_and_report_input_gets_clear_4xx(client, ctx):
    viv = await make_artist(ctx, "viv")
    ada = await make_artist(ctx, "ada")
    await login(client, "viv")
    myself = await post(client, f"/accounts/{viv.id}/block")
    assert myself.status == 400 and "cannot block yourself" in await myself.text()
    assert (await post(client, f"/accounts/{viv.id}/mute")).status == 400
    assert (await post(client, "/accounts/999999/block")).status == 404
    missing = await post(client, "/accounts/999999/report", {"reason": "spam"})
    assert missing.status == 404
    no_work = await post(client, f"/accounts/{ada.id}/report", {"reason": "spam", "artwork": "424242"})
    assert no_work.status == 404 and "no such artwork" in (await no_work.text()).lower()
    bad_work = await post(client, f"/accounts/{ada.id}/report", {"reason": "spam", "artwork": "abc"})
    assert bad_work.status == 400
    empty = await post(client, f"/accounts/{ada.id}/report", {"reason": "  "})
    assert empty.status == 400 and "Say what is wrong" in await empty.text()
    long = await post(client, f"/accounts/{ada.id}/report", {"reason": "x" * 1001})
    assert long.status == 400 and "under 1000 characters" in await long.text()
    self_report = await post(client, f"/accounts/{viv.id}/report", {"reason": "me"})
    assert self_report.status == 400
    async with ctx.sessions() as session:
        assert (await session.scalars(select(Report))).all() == []


async def test_report_an_artwork_and_moderators_resolve_it(client, ctx):
    from cara_fed.services import accounts

    ada = await make_artist(ctx, "ada")
    await make_artist(ctx, "viv")
    async with ctx.transaction() as tx:
        await accounts.create_account(ctx, tx, "boss", "boss@example.org", "correct horse 1", is_admin=True,
                                      bypass_registration=True)
    work_id = await publish(ctx, ada, "Traced piece")
    await login(client, "viv")
    artwork_page = await (await client.get(f"/@ada/{work_id}")).text()
    assert f'/accounts/{ada.id}/report?artwork={work_id}' in artwork_page
    form = await client.get(f"/accounts/{ada.id}/report?artwork={work_id}")
    assert form.status == 200 and "Traced piece" in await form.text()
    sent = await post(client, f"/accounts/{ada.id}/report", {"reason": "Traced from another artist's work",
                                                             "artwork": str(work_id)})
    assert sent.status == 200 and "Report sent" in await sent.text()
    assert (await client.get("/admin/reports")).status == 403  # moderators only

    await login(client, "boss")
    queue = await (await client.get("/admin/reports")).text()
    assert "Traced piece" in queue and "Traced from another artist" in queue and "by @viv" in queue
    async with ctx.sessions() as session:
        report = await session.scalar(select(Report))
    decided = await post(client, f"/admin/reports/{report.id}/resolve", {"note": "Removed after checking"},
                         token_from="/admin/reports")
    assert decided.status == 303
    assert "Traced piece" not in await (await client.get("/admin/reports")).text()
    log = await (await client.get("/admin/reports?state=resolved")).text()
    assert "Resolved by @boss" in log and "Removed after checking" in log
    assert (await post(client, "/admin/reports/99999/dismiss", token_from="/admin/reports")).status == 404
