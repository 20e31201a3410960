"""The move settings over real HTTP, without a browser (issue 18): CSRF on every form, aliases resolved by
WebFinger against a loopback peer and published as alsoKnownAs, a move refused for a wrong password (before any
network), for a target that does not list us, then done: movedTo, the portfolio notice, the API's `moved`, and
new follows refused."""

from __future__ import annotations

import re

from cara_fed.context import CONTEXT_KEY
from tests import images
from tests.conftest import csrf_from, sign_up
from tests.web.test_artworks import upload

AP = {"Accept": "application/activity+json"}


async def _actor(client, name: str = "ada") -> dict:  # type: ignore[no-untyped-def]
    response = await client.get(f"/users/{name}", headers=AP)
    assert response.status == 200
    return await response.json(content_type=None)


async def test_move_settings_forms(client, peer):  # type: ignore[no-untyped-def]
    ctx = client.app[CONTEXT_KEY]
    ctx.config.federation.allow_private_addresses = True  # the peer lives on loopback
    assert (await sign_up(client, "ada", "ada password 1")).status == 303
    assert (await upload(client, [("a.jpg", images.jpeg(), "harbour")], title="Harbour")).status == 303
    me = await _actor(client)
    old = peer.add_actor("old")
    new = peer.add_actor("new", slot=1)

    page = await client.get("/settings/move")
    assert page.status == 200 and page.headers["Cache-Control"] == "no-store"
    assert 'action="/settings/aliases"' in await page.text() and 'action="/settings/move"' in await page.text()

    # Every form needs its CSRF token; without it nothing changes.
    for path, data in (("/settings/aliases", {"alias": f"@old@{peer.host}"}),
                       ("/settings/aliases/remove", {"uri": old.id}),
                       ("/settings/move", {"target": f"@new@{peer.host}", "password": "ada password 1"})):
        refused = await client.post(path, data=data, allow_redirects=False)
        assert refused.status == 403, path
    assert "alsoKnownAs" not in await _actor(client) and "movedTo" not in await _actor(client)

    # Aliases: nonsense is refused with a sentence; a handle is resolved by WebFinger and published.
    token = await csrf_from(client, "/settings/move")
    bad = await client.post("/settings/aliases", data={"csrf_token": token, "alias": "not a handle"})
    assert bad.status == 400 and "handle like @name@example.social" in await bad.text()
    added = await client.post("/settings/aliases", data={"csrf_token": token, "alias": f"@old@{peer.host}"},
                              allow_redirects=False)
    assert added.status == 303
    assert (await _actor(client))["alsoKnownAs"] == [old.id]
    assert old.id in await (await client.get("/settings/move")).text()
    removed = await client.post("/settings/aliases/remove", data={"csrf_token": token, "uri": old.id},
                                allow_redirects=False)
    assert removed.status == 303 and "alsoKnownAs" not in await _actor(client)

    # A wrong password is refused before anything is fetched.
    fetched_before = len(peer.gets)
    wrong = await client.post("/settings/move", data={"csrf_token": token, "target": f"@new@{peer.host}",
                                                      "password": "not my password"})
    assert wrong.status == 400 and "password is not right" in await wrong.text()
    assert len(peer.gets) == fetched_before

    # The target does not list us yet: refused, and the page says what to do.
    unlisted = await client.post("/settings/move", data={"csrf_token": token, "target": f"@new@{peer.host}",
                                                         "password": "ada password 1"})
    text = await unlisted.text()
    assert unlisted.status == 400 and "does not list" in text and "as an alias on the new server first" in text
    assert "movedTo" not in await _actor(client)

    new.extra["alsoKnownAs"] = [me["id"]]
    moved = await client.post("/settings/move", data={"csrf_token": token, "target": new.id,
                                                      "password": "ada password 1"}, allow_redirects=False)
    assert moved.status == 303, await moved.text()
    assert (await _actor(client))["movedTo"] == new.id
    assert "This account has moved to" in await (await client.get("/settings/move")).text()
    portfolio = await (await client.get("/@ada")).text()
    assert "This artist has moved to" in portfolio and f"@new@{peer.host}" in portfolio

    # The client API shows where the account went, as Mastodon's `moved`.
    account_id = re.search(r'"id": ?"(\d+)"', await (await client.get("/api/v1/accounts/lookup?acct=ada")).text())
    entity = await (await client.get(f"/api/v1/accounts/{account_id.group(1)}")).json()
    assert entity["moved"]["acct"] == f"new@{peer.host}" and entity["moved"]["uri"] == new.id
    # Also as the author of a status (authors are read without their move, then filled in: web/api/views.py).
    [status] = await (await client.get("/api/v1/timelines/public?local=true")).json()
    assert status["account"]["moved"]["acct"] == f"new@{peer.host}", status["account"]

    # Nobody can start following the moved account.
    await client.post("/logout", data={"csrf_token": token})
    client.session.cookie_jar.clear()
    assert (await sign_up(client, "bea", "bea password 1")).status == 303
    token = await csrf_from(client, "/@ada")
    assert f'action="/accounts/{account_id.group(1)}/follow"' not in await (await client.get("/@ada")).text()
    follow = await client.post(f"/accounts/{account_id.group(1)}/follow", data={"csrf_token": token},
                               allow_redirects=False)
    assert follow.status == 403 and "has moved" in await follow.text()
