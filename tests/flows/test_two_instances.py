"""Two cara-fed instances on loopback, each with its own database and worker, federating over real HTTP."""

from __future__ import annotations

import re

import pytest

from tests import images
from tests.flows.users import Browserless, eventually
from tests.instance import running_instance

pytestmark = pytest.mark.flow


@pytest.fixture
def two_instances(tmp_path):  # type: ignore[no-untyped-def]
    with running_instance(tmp_path / "a") as a, running_instance(tmp_path / "b") as b:
        a.cli("createuser", "alice", "--email", "alice@a.example", "--password", "alice password")
        a.cli("createuser", "carol", "--email", "carol@a.example", "--password", "carol password")
        b.cli("createuser", "bob", "--email", "bob@b.example", "--password", "bob password")
        yield a, b


async def test_follow_publish_edit_delete_unfollow(two_instances):
    a, b = two_instances
    alice, bob = Browserless(a.url), Browserless(b.url)
    try:
        await alice.login("alice", "alice password")
        await bob.login("bob", "bob password")
        handle = f"@alice@127.0.0.1:{a.port}"

        # Bob finds Alice by handle (WebFinger across instances) and follows her.
        async with bob.http.get(f"{b.url}/follow", params={"handle": handle}, allow_redirects=False) as found:
            assert found.status == 303, await found.text()
            profile = found.headers["Location"]
        assert profile == f"/@alice@127.0.0.1:{a.port}"
        status, page = await bob.get(profile)
        assert status == 200
        account_id = re.search(r"/accounts/(\d+)/follow", page).group(1)
        await bob.post(f"/accounts/{account_id}/follow", {}, token_from=profile)

        async def accepted():  # type: ignore[no-untyped-def]
            _, html = await bob.get(profile)
            return "Unfollow" in html
        await eventually(accepted, what="Alice's instance accepting Bob's follow")

        # Alice publishes; the artwork arrives at B with both images, alt text and processed media.
        location = await alice.upload("Harbour at dawn", [
            ("one.jpg", images.jpeg(1600, 1000), "Boats in the harbour at dawn"),
            ("two.png", images.png(600, 900, mode="RGB"), "Close-up of a red sail")])

        async def arrived():  # type: ignore[no-untyped-def]
            _, html = await bob.get("/feed")
            return "Harbour at dawn" in html and "/media/" in html and html
        feed = await eventually(arrived, what="the artwork reaching B's home feed with processed media")
        remote_path = re.search(r'href="(/@alice@[^"/]+/\d+)"', feed).group(1)
        status, work = await bob.get(remote_path)
        assert status == 200
        assert 'alt="Boats in the harbour at dawn"' in work and 'alt="Close-up of a red sail"' in work
        assert work.count('/media/') >= 2 and f"127.0.0.1:{a.port}/media/" not in work  # cached copies, no hotlinks
        assert "noai, noimageai" in work  # the artist's NoAI choice travels with the work

        # Alice sees where her work went: B's server, delivered.
        artwork_id = location.rsplit("/", 1)[1]

        async def delivered():  # type: ignore[no-untyped-def]
            _, html = await alice.get(f"/artworks/{artwork_id}/deliveries")
            return f"127.0.0.1:{b.port}" in html and "state-sent" in html
        await eventually(delivered, what="the delivery log showing B as sent")

        # Edit on A → updated on B.
        edited = await alice.post(f"/artworks/{artwork_id}/edit", {
            "title": "Harbour at dusk", "description": "", "tags": "ink", "license": "all-rights-reserved",
            "visibility": "public", "noai": "on"}, token_from=f"/artworks/{artwork_id}/edit")
        assert edited.status == 303

        async def updated():  # type: ignore[no-untyped-def]
            _, html = await bob.get(remote_path)
            return "Harbour at dusk" in html
        await eventually(updated, what="the edit reaching B")

        # Delete on A → gone on B.
        await alice.post(f"/artworks/{artwork_id}/delete", {}, token_from=location)

        async def deleted():  # type: ignore[no-untyped-def]
            status, _ = await bob.get(remote_path)
            return status == 404
        await eventually(deleted, what="the delete reaching B")

        # Unfollow from B → A no longer counts Bob as a follower.
        await bob.post(f"/accounts/{account_id}/unfollow", {}, token_from=profile)

        async def unfollowed():  # type: ignore[no-untyped-def]
            async with alice.http.get(f"{a.url}/users/alice/followers",
                                      headers={"Accept": "application/activity+json"}) as response:
                return (await response.json()).get("totalItems") == 0
        await eventually(unfollowed, what="the Undo(Follow) reaching A")
    finally:
        await alice.close()
        await bob.close()


async def test_locked_account_request_then_approve(two_instances):
    a, b = two_instances
    carol, bob = Browserless(a.url), Browserless(b.url)
    try:
        await carol.login("carol", "carol password")
        await bob.login("bob", "bob password")
        saved = await carol.post("/settings", {"display_name": "Carol", "bio": "", "location": "", "skills": "",
                                               "locked": "on", "noai_default": "on", "discoverable": "on"},
                                 token_from="/settings")
        assert saved.status == 303
        async with bob.http.get(f"{b.url}/follow", params={"handle": f"carol@127.0.0.1:{a.port}"},
                                allow_redirects=False) as found:
            profile = found.headers["Location"]
        _, page = await bob.get(profile)
        account_id = re.search(r"/accounts/(\d+)/follow", page).group(1)
        await bob.post(f"/accounts/{account_id}/follow", {}, token_from=profile)

        async def requested():  # type: ignore[no-untyped-def]
            _, html = await carol.get("/follow-requests")
            return "@bob" in html and html
        html = await eventually(requested, what="Bob's request reaching Carol")
        _, remote_page = await bob.get(profile)
        assert "Requested" in remote_page
        follow_id = re.search(r"/follow-requests/(\d+)/approve", html).group(1)
        await carol.post(f"/follow-requests/{follow_id}/approve", {}, token_from="/follow-requests")

        async def approved():  # type: ignore[no-untyped-def]
            _, html = await bob.get(profile)
            return "Unfollow" in html
        await eventually(approved, what="Carol's Accept reaching B")
    finally:
        await carol.close()
        await bob.close()
