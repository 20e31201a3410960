"""The client API's timelines and account statuses read their works as plain rows (cara_fed/queries_statuses.py),
while a single status (GET /api/v1/statuses/:id) still renders an ORM Artwork: both must give the same Status JSON,
field for field, for the author, a follower and a stranger. Also: the timelines' statements stay few whatever the
number of works, and none of them reads an account's keys or secrets. Real HTTP, SQLite and PostgreSQL."""

from __future__ import annotations

from tests.web.api_support import account_with_token, auth, post_work
from tests.web.test_page_queries import counting

SECRETS = ("private_key_pem", "password_hash", "totp_secret", "ed25519_private_key_pem")


async def _same_as_single(client, path: str, headers: dict[str, str]) -> list[dict]:  # type: ignore[no-untyped-def]
    answer = await client.get(path, headers=headers)
    assert answer.status == 200, await answer.text()
    listed = await answer.json()
    for status in listed:
        single = await (await client.get(f"/api/v1/statuses/{status['id']}", headers=headers)).json()
        assert status == single, status["id"]
    return listed


async def test_timeline_statuses_equal_the_single_status_entity(client):
    ada, ada_token = await account_with_token(client, "ada", display_name="Ada L.")
    _bob, bob_token = await account_with_token(client, "bob")
    _, stranger_token = await account_with_token(client, "cy")
    two_images = await post_work(client, ada_token, "Diptych\nTwo panels, @bob helped", media=2,
                                 spoiler_text="flashing colours", sensitive=True)
    await post_work(client, ada_token, "Sketch #study", visibility="unlisted")
    await post_work(client, bob_token, "Bob's study #study")
    assert (await client.post(f"/api/v1/accounts/{ada.id}/follow", headers=auth(bob_token))).status == 200
    assert (await client.post(f"/api/v1/statuses/{two_images['id']}/favourite",
                              headers=auth(bob_token))).status == 200
    assert (await client.post(f"/api/v1/statuses/{two_images['id']}/pin", headers=auth(ada_token))).status == 200

    home = await _same_as_single(client, "/api/v1/timelines/home", auth(bob_token))
    assert [s["account"]["username"] for s in home] == ["bob", "ada", "ada"]
    diptych = next(s for s in home if s["id"] == two_images["id"])
    assert len(diptych["media_attachments"]) == 2 and all(m["url"] for m in diptych["media_attachments"])
    assert diptych["favourited"] is True and diptych["favourites_count"] == 1
    assert diptych["spoiler_text"] == "flashing colours" and diptych["mentions"][0]["username"] == "bob"
    own = await _same_as_single(client, "/api/v1/timelines/home", auth(ada_token))
    assert next(s for s in own if s["id"] == two_images["id"])["pinned"] is True  # the owner's own fields
    assert "state" in next(s for s in own if s["id"] == two_images["id"])["cara"]
    public = await _same_as_single(client, "/api/v1/timelines/public", {})
    assert {s["id"] for s in public} == {two_images["id"], next(s["id"] for s in home if s["account"]["username"]
                                                                  == "bob")}  # the unlisted sketch stays out
    tagged = await _same_as_single(client, "/api/v1/timelines/tag/study", auth(stranger_token))
    assert [s["account"]["username"] for s in tagged] == ["bob"]
    own_works = await _same_as_single(client, f"/api/v1/accounts/{ada.id}/statuses", auth(ada_token))
    assert len(own_works) == 2  # the artist sees her unlisted sketch too
    assert [s["id"] for s in await _same_as_single(client, f"/api/v1/accounts/{ada.id}/statuses?pinned=true",
                                                   auth(stranger_token))] == [two_images["id"]]
    await _same_as_single(client, f"/api/v1/accounts/{ada.id}/statuses?limit=1", {})
    oldest = home[-1]["id"]  # min_id pages come oldest first from the database and are answered newest first
    after = await _same_as_single(client, f"/api/v1/timelines/home?min_id={oldest}", auth(bob_token))
    assert [s["id"] for s in after] == [s["id"] for s in home[:-1]]


async def test_timeline_statements_do_not_grow_with_works_nor_read_secrets(client):
    _, ada_token = await account_with_token(client, "ada")
    _, bob_token = await account_with_token(client, "bob")
    counts = []
    for _ in range(2):
        await post_work(client, ada_token, "A work", media=2)
        await post_work(client, bob_token, "Another work")
        await client.get("/api/v1/timelines/public")  # once first: anything a previous write left to do is done
        with counting(client) as statements:
            answer = await client.get("/api/v1/timelines/public")
            assert answer.status == 200 and len(await answer.json()) in (2, 4)
        counts.append(len(statements))
        assert not [s for s in statements if any(secret in s for secret in SECRETS)], statements
    assert counts[0] == counts[1] <= 5, counts  # works, authors, images, facts (+ avatars when any is set)


async def test_an_authors_avatar_and_header_cost_one_statement(client):
    """Avatars and headers of a page's authors come as plain rows with their files in one statement (the ORM read
    the assets, then their derivatives), and show as the single status shows them."""
    from aiohttp import FormData

    from tests import images

    _, ada_token = await account_with_token(client, "ada")
    await post_work(client, ada_token, "A work")
    await client.get("/api/v1/timelines/public")
    with counting(client) as without:
        assert (await client.get("/api/v1/timelines/public")).status == 200
    form = FormData()
    form.add_field("avatar", images.png(200, 200), filename="me.png", content_type="image/png")
    form.add_field("header", images.jpeg(1200, 400), filename="wide.jpg", content_type="image/jpeg")
    assert (await client.patch("/api/v1/accounts/update_credentials", data=form, headers=auth(ada_token))).status == 200
    await client.get("/api/v1/timelines/public")
    with counting(client) as with_files:
        assert (await client.get("/api/v1/timelines/public")).status == 200
    assert len(with_files) == len(without) + 1, with_files
    [status] = await _same_as_single(client, "/api/v1/timelines/public", {})
    assert "/media/" in status["account"]["avatar"] and "/media/" in status["account"]["header"]


async def test_an_author_who_moved_shows_where_and_costs_statements_only_then(client):
    """A plain-row author who moved shows Mastodon's `moved` (the account it went to, with its avatar) as the
    single status does; authors who did not move cost no statement for it."""
    from aiohttp import FormData

    from tests import images

    new_home, new_token = await account_with_token(client, "ada_new", display_name="Ada (new)")
    form = FormData()
    form.add_field("avatar", images.png(200, 200), filename="me.png", content_type="image/png")
    assert (await client.patch("/api/v1/accounts/update_credentials", data=form, headers=auth(new_token))).status == 200
    _, ada_token = await account_with_token(client, "ada", moved_to_id=new_home.id)
    _, bob_token = await account_with_token(client, "bob")
    await post_work(client, bob_token, "Bob's work")
    await client.get("/api/v1/timelines/public")
    with counting(client) as unmoved:
        assert (await client.get("/api/v1/timelines/public")).status == 200
    await post_work(client, ada_token, "Ada's last work here")
    await client.get("/api/v1/timelines/public")
    with counting(client) as with_move:
        assert (await client.get("/api/v1/timelines/public")).status == 200
    assert len(with_move) == len(unmoved) + 2, with_move  # the target, then its avatar (with the facts)
    listed = await _same_as_single(client, "/api/v1/timelines/public", {})
    moved = next(s["account"] for s in listed if s["account"]["username"] == "ada")
    assert moved["moved"]["username"] == "ada_new" and moved["moved"]["display_name"] == "Ada (new)"
    assert "moved" not in next(s["account"] for s in listed if s["account"]["username"] == "bob")
    assert "/media/" in moved["moved"]["avatar"], moved["moved"]  # its own avatar, not the placeholder
