"""Explore, search, tag pages with follow-a-tag, and suggested artists on a seeded instance (SQLite and
PostgreSQL): opted-out artists never appear in them, but keep their works on their own profile."""

from __future__ import annotations

from sqlalchemy import select

from cara_fed.models import Account
from cara_fed.services import accounts, artworks, follows
from cara_fed.services.artworks import ArtworkInput
from cara_fed.services.media import Upload
from tests import images
from tests.conftest import csrf_from
from tests.web.test_social import login


async def make_artist(ctx, name: str, display_name: str = "", **flags: bool) -> Account:  # type: ignore[no-untyped-def]
    async with ctx.transaction() as tx:
        account = await accounts.create_account(ctx, tx, name, f"{name}@example.org", "correct horse 1",
                                                display_name=display_name or name.title(), bypass_registration=True)
        for flag, value in flags.items():
            setattr(account, flag, value)
    return account


async def publish(ctx, account: Account, title: str, **fields) -> int:  # type: ignore[no-untyped-def]
    work = await artworks.create_artwork(ctx, account, ArtworkInput(title=title, **fields),
                                         [Upload(images.jpeg(64, 48), "w.jpg")])
    return work.id


async def seed(ctx) -> dict[str, Account]:  # type: ignore[no-untyped-def]
    ada = await make_artist(ctx, "ada", "Ada Lovelace")
    bea = await make_artist(ctx, "bea", "Bea Painter")
    hid = await make_artist(ctx, "hidden", "Hidden Harbour", discoverable=False)
    noidx = await make_artist(ctx, "noindex", "Noindex Nell", indexable=False)
    viewer = await make_artist(ctx, "viv", "Viv Viewer")
    await publish(ctx, ada, "Harbour at dawn", description="Boats and gulls", tags=["ink", "sea"],
                  field="Illustration", medium="Traditional Ink")
    await publish(ctx, bea, "Forest spirits", description="A harbour of trees", tags=["forest"],
                  field="Concept Art", medium="Digital 2D")
    await publish(ctx, hid, "Harbour secret", tags=["ink"], field="Illustration", medium="Traditional Ink")
    await publish(ctx, noidx, "Harbour unlisted in search", tags=["ink"], field="Illustration")
    await publish(ctx, viewer, "My own sketch", field="Illustration")
    return {"ada": ada, "bea": bea, "hidden": hid, "noindex": noidx, "viv": viewer}


async def test_explore_filters_and_keeps_opted_out_artists_out(client, ctx):
    people = await seed(ctx)
    page = await client.get("/explore")
    html = await page.text()
    assert page.status == 200
    assert "Harbour at dawn" in html and "Forest spirits" in html
    assert "Harbour secret" not in html and "Harbour unlisted in search" not in html
    assert html.index("Forest spirits") < html.index("Harbour at dawn")  # newest first, no ranking

    ink = await (await client.get("/explore", params={"medium": "Traditional Ink"})).text()
    assert "Harbour at dawn" in ink and "Forest spirits" not in ink
    concept = await (await client.get("/explore", params={"field": "Concept Art"})).text()
    assert "Forest spirits" in concept and "Harbour at dawn" not in concept
    tagged = await (await client.get("/explore", params={"tag": "#Ink"})).text()
    assert "Harbour at dawn" in tagged and "Forest spirits" not in tagged and "Harbour secret" not in tagged
    popular = await (await client.get("/explore", params={"sort": "popular"})).text()
    assert "Harbour at dawn" in popular and "Harbour secret" not in popular
    assert popular.index("Forest spirits") < popular.index("Harbour at dawn")  # nobody follows either yet
    await follows.request_follow(ctx, people["viv"], people["ada"])  # now Ada has a follower here, Bea none
    popular = await (await client.get("/explore", params={"sort": "popular"})).text()
    assert popular.index("Harbour at dawn") < popular.index("Forest spirits")
    latest = await (await client.get("/explore")).text()
    assert latest.index("Forest spirits") < latest.index("Harbour at dawn")  # the default stays unranked

    # The opted-out artists keep their works on their own profiles.
    assert "Harbour secret" in await (await client.get("/@hidden")).text()
    assert "Harbour unlisted in search" in await (await client.get("/@noindex")).text()

    bad = await client.get("/explore", params={"field": "Underwater Basket Weaving"})
    assert bad.status == 400 and "is not a field" in await bad.text()


async def test_explore_pages_with_a_keyset_cursor(client, ctx):
    ada = await make_artist(ctx, "ada")
    for n in range(26):
        await publish(ctx, ada, f"Study {n:02d}")
    first = await (await client.get("/explore")).text()
    assert "Study 25" in first and "Study 01" not in first
    cursor = first.split("before=")[1].split('"')[0]
    second = await (await client.get(f"/explore?before={cursor}")).text()
    assert "Study 01" in second and "Study 00" in second and "Study 25" not in second


async def test_search_finds_artists_tags_and_works_but_not_opted_out_ones(client, ctx):
    await seed(ctx)
    found = await (await client.get("/search", params={"q": "harbour"})).text()
    assert "Harbour at dawn" in found
    assert "Forest spirits" in found  # description matches
    assert "Harbour secret" not in found and "Harbour unlisted in search" not in found
    assert "Hidden Harbour" not in found  # the opted-out artist is not listed either

    artists = await (await client.get("/search", params={"q": "lovelace"})).text()
    assert "/@ada" in artists and "Ada Lovelace" in artists
    assert "/@hidden" not in await (await client.get("/search", params={"q": "hidden"})).text()
    # noindex is discoverable as a person, but their works stay out of search.
    nell = await (await client.get("/search", params={"q": "nell"})).text()
    assert "/@noindex" in nell and "Harbour unlisted" not in nell

    tags = await (await client.get("/search", params={"q": "#fore"})).text()
    assert 'href="/tags/forest"' in tags
    by_tag = await (await client.get("/search", params={"q": "sea"})).text()
    assert "Harbour at dawn" in by_tag

    form = await client.get("/search")
    assert form.status == 200 and 'name="q"' in await form.text()
    empty = await client.get("/search", params={"q": "   "})  # issue 16 item 18: a prompt, not empty results
    prompt = await empty.text()
    assert empty.status == 200 and "Type a name" in prompt and "match" not in prompt
    nothing = await (await client.get("/search", params={"q": "zzqx"})).text()  # one empty state, not three
    assert nothing.count('class="empty') == 1 and "Nothing matches “zzqx”" in nothing
    partial = await (await client.get("/search", params={"q": "lovelace"})).text()  # empty sections are left out
    assert 'id="artists-h"' in partial and 'id="tags-h"' not in partial and 'class="empty' not in partial
    long = await client.get("/search", params={"q": "x" * 201})
    assert long.status == 400 and "under 200 characters" in await long.text()


async def test_opting_out_in_settings_takes_works_out_of_search(client, ctx):
    await seed(ctx)
    await login(client, "ada")
    token = await csrf_from(client, "/settings")
    saved = await client.post("/settings", data={"csrf_token": token, "display_name": "Ada", "discoverable": "on"},
                              allow_redirects=False)
    assert saved.status == 303
    async with ctx.sessions() as session:
        ada = await session.scalar(select(Account).where(Account.username == "ada"))
        assert ada.discoverable and not ada.indexable
    assert "Harbour at dawn" not in await (await client.get("/search", params={"q": "harbour"})).text()
    assert "Harbour at dawn" not in await (await client.get("/explore")).text()
    assert "Harbour at dawn" in await (await client.get("/@ada")).text()
    actor = await client.get("/users/ada", headers={"Accept": "application/activity+json"})
    doc = await actor.json()
    assert doc["discoverable"] is True and doc["indexable"] is False


async def test_tag_page_follow_a_tag_brings_works_into_the_home_feed(client, ctx):
    people = await seed(ctx)
    await login(client, "viv")
    feed = await (await client.get("/feed")).text()
    assert "Harbour at dawn" not in feed
    tag_page = await (await client.get("/tags/ink")).text()
    assert "Harbour at dawn" in tag_page and "Harbour secret" not in tag_page and "Follow tag" in tag_page
    token = await csrf_from(client, "/tags/ink")
    followed = await client.post("/tags/ink/follow", data={"csrf_token": token}, allow_redirects=False)
    assert followed.status == 303 and followed.headers["Location"] == "/tags/ink"
    assert "Unfollow tag" in await (await client.get("/tags/ink")).text()
    feed = await (await client.get("/feed")).text()
    assert "Harbour at dawn" in feed and "My own sketch" in feed
    assert "Harbour secret" not in feed and "Harbour unlisted" not in feed  # opted out: not via tags either
    # A later work with the tag joins the feed; unfollowing the tag takes them out again.
    await publish(ctx, people["bea"], "Inky forest", tags=["ink"])
    assert "Inky forest" in await (await client.get("/feed")).text()
    await client.post("/tags/ink/unfollow", data={"csrf_token": token})
    feed = await (await client.get("/feed")).text()
    assert "Harbour at dawn" not in feed and "Inky forest" not in feed
    assert (await client.post("/tags/%23%23/follow", data={"csrf_token": token})).status == 400


async def test_suggested_artists_share_fields_and_skip_followed_and_opted_out(client, ctx):
    people = await seed(ctx)
    await login(client, "viv")
    explore = await (await client.get("/explore")).text()
    suggested = explore.split('id="suggested-h"')[1]
    assert "/@ada" in suggested  # shares Illustration with Viv
    assert "/@bea" not in suggested  # Concept Art only
    assert "/@hidden" not in suggested and "/@noindex" not in suggested and "/@viv" not in suggested
    token = await csrf_from(client, "/explore")
    await client.post(f"/accounts/{people['ada'].id}/follow", data={"csrf_token": token})
    explore = await (await client.get("/explore")).text()
    assert 'id="suggested-h"' not in explore or "/@ada\"" not in explore.split('id="suggested-h"')[1]
