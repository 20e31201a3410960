"""Follow and like from anywhere between two real cara-fed instances on loopback (each its own database and
worker): a visitor on A names their account (or only their server) on B; A resolves B's WebFinger to B's
FEP-3b86 intent and sends them to B's /authorize_interaction, where they confirm; the Follow and the Like
arrive at A. Over plain HTTP here, through a real browser (dialog, keyboard, screenshots) in
test_remote_interaction_browser.py, which shares these two instances."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote, urlsplit

import pytest

from tests import images
from tests.flows.users import Browserless, eventually
from tests.instance import Instance, running_instance

pytestmark = pytest.mark.flow


@pytest.fixture(scope="module")
def instances(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Instance, Instance]]:
    root = tmp_path_factory.mktemp("remote-interaction")
    with running_instance(root / "a") as a, running_instance(root / "b") as b:
        a.cli("createuser", "alice", "--email", "alice@a.example", "--password", "alice password")
        b.cli("createuser", "bob", "--email", "bob@b.example", "--password", "bob password")
        b.cli("createuser", "cleo", "--email", "cleo@b.example", "--password", "cleo password")
        yield a, b


async def followers_of(instance: Instance, name: str) -> list[str]:
    """A's own list of who follows `name` (its followers collection, first page)."""
    visitor = Browserless(instance.url)
    try:
        async with visitor.http.get(f"{instance.url}/users/{name}/followers?page=true",
                                    headers={"Accept": "application/activity+json"}) as response:
            return (await response.json(content_type=None)).get("orderedItems", [])
    finally:
        await visitor.close()


def like_count(html: str) -> int:
    match = re.search(r'class="count like-count">(\d+)<', html)
    assert match, "no like count on the page"
    return int(match.group(1))


async def test_follow_and_like_from_another_instance_over_http(instances):
    a, b = instances
    visitor, bob, alice = Browserless(a.url), Browserless(b.url), Browserless(a.url)
    b_host = f"127.0.0.1:{b.port}"
    alice_id = f"{a.url}/users/alice"
    try:
        # A visitor gives their handle on B, or only B's address: both lead to B's Follow intent for Alice.
        for typed in (f"@bob@{b_host}", b_host):
            async with visitor.http.get(f"{a.url}/interact", params={"account": "alice", "handle": typed},
                                        allow_redirects=False) as sent:
                assert sent.status == 303, await sent.text()
                location = sent.headers["Location"]
            assert location == f"{b.url}/authorize_interaction?uri={quote(alice_id, safe='')}&intent=follow"
        async with visitor.http.get(f"{a.url}/interact", params={"account": "alice", "handle": f"@nobody@{b_host}"},
                                    headers={"Accept": "application/json"}) as unknown:
            assert unknown.status == 404
            answer = await unknown.json()
        assert f"does not know @nobody@{b_host}" in answer["error"]
        assert answer["copy"] == f"@alice@127.0.0.1:{a.port}"

        # On B, Bob logs in, sees Alice (fetched from A) and follows her; A counts him among her followers.
        await bob.login("bob", "bob password")
        page_path = location.removeprefix(b.url)
        status, page = await bob.get(page_path)
        assert status == 200 and "Follow alice?" in page and f"@alice@127.0.0.1:{a.port}" in page
        account_id = re.search(r'action="/accounts/(\d+)/follow"', page).group(1)
        followed = await bob.post(f"/accounts/{account_id}/follow", {}, token_from=page_path)
        assert followed.status == 303

        async def arrived():  # type: ignore[no-untyped-def]
            return f"{b.url}/users/bob" in await followers_of(a, "alice")
        await eventually(arrived, what="Bob's follow reaching A")

        # Alice publishes; a visitor likes it from B, which fetches the work from A first.
        await alice.login("alice", "alice password")
        work_path = await alice.upload("Quay at noon", [("q.jpg", images.jpeg(640, 480), "A stone quay at noon")])
        artwork_id = work_path.rsplit("/", 1)[1]

        async def published():  # type: ignore[no-untyped-def]
            return (await visitor.get(work_path))[0] == 200
        await eventually(published, what="A processing Alice's upload")
        async with visitor.http.get(f"{a.url}/interact", params={"artwork": artwork_id, "action": "like",
                                                                 "handle": f"@bob@{b_host}"},
                                    allow_redirects=False) as sent:
            assert sent.status == 303
            location = sent.headers["Location"]
        assert location == (f"{b.url}/authorize_interaction?uri={quote(a.url + work_path, safe='')}&intent=like")
        page_path = location.removeprefix(b.url)

        async def likeable():  # type: ignore[no-untyped-def]
            _, html = await bob.get(page_path)
            return "/like\"" in html and html
        html = await eventually(likeable, what="B showing A's artwork with a Like button")
        assert "Quay at noon" in html
        remote_id = re.search(r'action="/artworks/(\d+)/like"', html).group(1)
        liked = await bob.post(f"/artworks/{remote_id}/like", {}, token_from=page_path)
        assert liked.status == 303 and urlsplit(liked.headers["Location"]).path.startswith("/@alice@")

        async def counted():  # type: ignore[no-untyped-def]
            _, html = await alice.get(work_path)
            return like_count(html) == 1
        await eventually(counted, what="Bob's like reaching A")
    finally:
        for person in (visitor, bob, alice):
            await person.close()
