"""Real Mastodon client libraries against two running cara-fed instances: Mastodon.py (PyPI) and masto.js (npm,
the library Elk is built on). Alice posts on A; Bob, on B, finds her by handle, follows, likes and comments."""

from __future__ import annotations

import io
import json

import pytest
from mastodon import Mastodon, MastodonAPIError, MastodonUnauthorizedError

from tests import api_shapes, images
from tests.flows.client_api_support import OOB, consent, raw, wait_for
from tests.instance import running_instance
from tests.peers.masto_client import run_flow

pytestmark = pytest.mark.flow
SCOPES = ["read", "write", "follow"]
SETTINGS = {"CARA_FED__API__PASSWORD_GRANT": "true"}


@pytest.fixture(scope="module")
def pair(tmp_path_factory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("client-api")
    with running_instance(root / "a", settings=SETTINGS) as a, running_instance(root / "b", settings=SETTINGS) as b:
        a.cli("createuser", "alice", "--email", "alice@a.example", "--password", "alice password")
        a.cli("createuser", "carol", "--email", "carol@a.example", "--password", "carol password")
        b.cli("createuser", "bob", "--email", "bob@b.example", "--password", "bob password")
        yield a, b


async def test_mastodon_py_full_flow(pair):  # type: ignore[no-untyped-def]
    a, b = pair
    # Alice: the code flow, in her browser (log in on A, consent, copy the out-of-band code into the app).
    client_id, secret = Mastodon.create_app("Mastodon.py flow", scopes=SCOPES, redirect_uris=OOB, api_base_url=a.url)
    alice = Mastodon(client_id=client_id, client_secret=secret, api_base_url=a.url)
    url = alice.auth_request_url(scopes=SCOPES, redirect_uris=OOB, allow_http=True)
    code = await consent(a.url, "alice", "alice password", url)
    alice_token = alice.log_in(code=code, redirect_uri=OOB, scopes=SCOPES, allow_http=True)
    # Bob: the password grant (enabled on these instances).
    client_id_b, secret_b = Mastodon.create_app("Mastodon.py flow", scopes=SCOPES, api_base_url=b.url)
    bob = Mastodon(client_id=client_id_b, client_secret=secret_b, api_base_url=b.url)
    bob_token = bob.log_in("bob", "bob password", scopes=SCOPES, allow_http=True)

    assert alice.account_verify_credentials()["acct"] == "alice"
    api_shapes.check("Account", raw(a.url, alice_token, "/api/v1/accounts/verify_credentials"))
    assert alice.retrieve_mastodon_version().startswith("4.3.0")

    # Bob finds Alice on the other server by handle and follows her; A accepts.
    handle = f"alice@127.0.0.1:{a.port}"
    remote_alice = bob.account_lookup(handle)
    assert remote_alice["acct"] == handle
    bob.account_follow(remote_alice["id"])
    wait_for(lambda: bob.account_relationships(remote_alice["id"])[0]["following"], "A accepting Bob's follow")

    # Alice uploads (202 while the protection pipeline runs), posts, edits.
    media = alice.media_post(io.BytesIO(images.jpeg(1600, 1200)), mime_type="image/jpeg",
                             description="Boats in a harbour at dawn")
    posted = alice.status_post("Harbour at dawn\nInk on paper. #ink #harbour", media_ids=[media["id"]])
    assert posted["cara"]["title"] == "Harbour at dawn" and {t["name"] for t in posted["tags"]} == {"ink", "harbour"}
    edited = alice.status_update(posted["id"], status="Harbour at dusk\nInk on paper. #ink #harbour")
    assert "Harbour at dusk" in edited["content"]
    published = wait_for(lambda: (s := alice.status(posted["id"]))["cara"]["state"] == "published" and s,
                         "the work being processed and published")
    assert published["media_attachments"][0]["url"] and published["media_attachments"][0]["description"] == \
        "Boats in a harbour at dawn"
    assert any(s["id"] == posted["id"] for s in alice.timeline_home())
    api_shapes.check("Status", raw(a.url, alice_token, f"/api/v1/statuses/{posted['id']}"))

    # The work reaches Bob's home timeline on B.
    remote = wait_for(lambda: next((s for s in bob.timeline_home() if "Harbour at dusk" in s["content"]), None),
                      "the work reaching Bob's home timeline on B")
    assert remote["account"]["acct"] == handle and remote["media_attachments"][0]["url"].startswith(b.url)
    api_shapes.check("Status", raw(b.url, bob_token, f"/api/v1/statuses/{remote['id']}"))

    # Bob likes it and comments; Alice is notified on A and sees the comment in the thread.
    assert bob.status_favourite(remote["id"])["favourited"] is True
    comment = bob.status_post("Lovely light!", in_reply_to_id=remote["id"])
    assert comment["in_reply_to_id"] == remote["id"]

    def notified():  # type: ignore[no-untyped-def]
        kinds = {n["type"] for n in alice.notifications()}
        return {"follow", "favourite", "mention"} <= kinds and kinds
    wait_for(notified, "follow, favourite and mention notifications on A")
    favourites = alice.notifications(types=["favourite"])
    assert favourites and all(n["type"] == "favourite" for n in favourites)
    assert favourites[0]["status"]["id"] == posted["id"]
    assert favourites[0]["account"]["acct"] == f"bob@127.0.0.1:{b.port}"
    for notification in raw(a.url, alice_token, "/api/v1/notifications"):
        api_shapes.check("Notification", notification)
    context = wait_for(lambda: (c := alice.status_context(posted["id"]))["descendants"] and c,
                       "Bob's comment in the thread on A")
    assert "Lovely light!" in context["descendants"][0]["content"]
    assert context["descendants"][0]["in_reply_to_id"] == posted["id"]
    api_shapes.check("Context", raw(a.url, alice_token, f"/api/v1/statuses/{posted['id']}/context"))

    # Search: the work by its words, the tag, and Bob's account across servers (resolve=true).
    found = alice.search_v2("dusk")
    assert [s["id"] for s in found["statuses"]] == [posted["id"]]
    assert "ink" in [t["name"] for t in alice.search_v2("ink", result_type="hashtags")["hashtags"]]
    bob_there = alice.search_v2(f"bob@127.0.0.1:{b.port}", resolve=True)["accounts"]
    assert [x["acct"] for x in bob_there] == [f"bob@127.0.0.1:{b.port}"]

    # Revoking the token signs the app out.
    alice.revoke_access_token(allow_http=True)
    with pytest.raises(MastodonUnauthorizedError):
        alice.account_verify_credentials()
    with pytest.raises(MastodonAPIError):  # Bob's token keeps working, only for what its scopes allow
        bob.status_post("text only")


def test_masto_js_flow(pair):  # type: ignore[no-untyped-def]
    a, b = pair
    result = run_flow({"a": a.url, "b": b.url, "bUser": "bob", "bPassword": "bob password", "aUser": "carol",
                       "aPassword": "carol password", "image": images.jpeg(900, 700).hex()})
    try:
        summary = json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise AssertionError(f"masto.js flow failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}") from None
    assert summary["ok"], summary
    assert summary["version"].startswith("4.3.0 (compatible; cara-fed")
    assert summary["mediaUrl"].startswith(a.url + "/media/")
    assert summary["pages"] >= 2 and summary["pagedIds"] == sorted(summary["pagedIds"], key=int, reverse=True)
    assert summary["followed"] and summary["notificationTypes"]
    assert summary["streamed"] in ("follow", "favourite")  # a notification over the streaming WebSocket
    assert summary["revoked"] == 401

