"""Two cara-fed instances on loopback: Bob on B likes, boosts and comments on Alice's artwork on A; A counts
each and notifies Alice; Bob's Undo of each reverses it; a reply once Alice turned comments off is kept on A
as rejected and never shown."""

from __future__ import annotations

import re
import sqlite3

import pytest

from tests import images
from tests.flows.test_two_instances import two_instances  # noqa: F401  (the fixture)
from tests.flows.users import Browserless, eventually

pytestmark = pytest.mark.flow


def counts(html: str) -> tuple[int, int, int]:
    found = [re.search(rf'class="(?:count )?{name}-count">(\d+)<', html) for name in ("like", "boost", "comment")]
    assert all(found), "the social counts are missing from the page"
    return tuple(int(m.group(1)) for m in found)  # type: ignore[union-attr,return-value]


def comment_states(instance) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Read A's own database: a rejected reply is stored there but on no page."""
    with sqlite3.connect(instance.data_dir / "cara-fed.db") as db:
        return db.execute("SELECT state, content_html FROM comments ORDER BY id").fetchall()


async def test_like_comment_boost_arrive_count_notify_and_undo(two_instances):  # noqa: F811
    a, b = two_instances
    alice, bob = Browserless(a.url), Browserless(b.url)
    try:
        await alice.login("alice", "alice password")
        await bob.login("bob", "bob password")
        async with bob.http.get(f"{b.url}/follow", params={"handle": f"@alice@127.0.0.1:{a.port}"},
                                allow_redirects=False) as found:
            profile = found.headers["Location"]
        _, page = await bob.get(profile)
        account_id = re.search(r"/accounts/(\d+)/follow", page).group(1)
        await bob.post(f"/accounts/{account_id}/follow", {}, token_from=profile)

        async def accepted():  # type: ignore[no-untyped-def]
            return "Unfollow" in (await bob.get(profile))[1]
        await eventually(accepted, what="Alice's instance accepting Bob's follow")

        location = await alice.upload("Lighthouse", [("l.jpg", images.jpeg(900, 700), "A lighthouse in fog")])

        async def arrived():  # type: ignore[no-untyped-def]
            _, html = await bob.get("/feed")
            return "Lighthouse" in html and html
        feed = await eventually(arrived, what="the artwork reaching B")
        remote_path = re.search(r'href="(/@alice@[^"/]+/(\d+))"', feed)
        remote_page, remote_id = remote_path.group(1), remote_path.group(2)

        # Bob likes, boosts and comments (with a mention of Alice) from B.
        for action in ("like", "boost"):
            response = await bob.post(f"/artworks/{remote_id}/{action}", {}, token_from=remote_page)
            assert response.status == 303
        commented = await bob.post(f"/artworks/{remote_id}/comments",
                                   {"content": f"Gorgeous fog, @alice@127.0.0.1:{a.port}! #seascape"},
                                   token_from=remote_page)
        assert commented.status == 303
        assert counts((await bob.get(remote_page))[1]) == (1, 1, 1)

        async def counted():  # type: ignore[no-untyped-def]
            _, html = await alice.get(location)
            return counts(html) == (1, 1, 1) and html
        html = await eventually(counted, what="the like, boost and comment being counted on A")
        assert "Gorgeous fog" in html and "@bob" in html
        assert f'href="{b.url}/tags/seascape"' in html  # the hashtag stays a link (to B's tag page)
        _, notes = await alice.get("/notifications")
        assert "liked" in notes and "boosted" in notes and "commented on" in notes and "Lighthouse" in notes
        assert "followed you" in notes  # Bob's follow earlier
        assert re.search(r'class="badge-count"><span class="sr-only">\(</span>4<', notes)

        # Bob undoes each; A reverses each.
        await bob.post(f"/artworks/{remote_id}/unlike", {}, token_from=remote_page)
        await bob.post(f"/artworks/{remote_id}/unboost", {}, token_from=remote_page)
        comment_id = re.search(r'action="/comments/(\d+)/delete"', (await bob.get(remote_page))[1]).group(1)
        removed = await bob.post(f"/comments/{comment_id}/delete", {}, token_from=remote_page)
        assert removed.status == 303

        async def reversed_():  # type: ignore[no-untyped-def]
            _, html = await alice.get(location)
            return counts(html) == (0, 0, 0) and "Gorgeous fog" not in html
        await eventually(reversed_, what="the Undo(Like), Undo(Announce) and Delete(Note) reaching A")

        # Alice turns comments off. B learns it from the Update's interactionPolicy and refuses a reply itself;
        # A refuses replies that still arrive (from servers that ignore the policy: see test_fedify_social.py).
        artwork_id = location.rsplit("/", 1)[1]
        await alice.post(f"/artworks/{artwork_id}/comment-policy", {"comment_policy": "off"}, token_from=location)

        async def b_knows():  # type: ignore[no-untyped-def]
            return "Comments are off for this artwork." in (await bob.get(remote_page))[1]
        await eventually(b_knows, what="the comment setting reaching B as interactionPolicy")
        _, page = await bob.get(remote_page)
        assert 'name="content"' not in page  # no comment form
        sent = await bob.post(f"/artworks/{remote_id}/comments", {"content": "Can I still say hi?"},
                              token_from=remote_page)
        assert sent.status == 403 and "turned comments off" in await sent.text()
        _, html = await alice.get(location)
        assert "still say hi" not in html and counts(html)[2] == 0
        assert not [text for _, text in comment_states(a) if "still say hi" in text]
    finally:
        await alice.close()
        await bob.close()
