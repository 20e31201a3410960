"""Instance policy on the wire: the allowlist mode and authorized fetch (signed GETs), through the full app."""

from urllib.parse import urlsplit

from cara_fed.services import accounts, instances
from federation.signatures import sign_request
from tests import images
from tests.conftest import sign_up
from tests.federation.peer import signed_post
from tests.web.test_artworks import upload

AP = "application/activity+json"


def ctx_of(client):  # type: ignore[no-untyped-def]
    from cara_fed.context import CONTEXT_KEY

    return client.server.app[CONTEXT_KEY]


async def test_allowlist_mode_refuses_servers_not_allowed(app_client, peer):
    ctx = ctx_of(app_client)
    async with ctx.transaction() as tx:
        await accounts.create_account(ctx, tx, "ada", "ada@example.org", "password123", bypass_registration=True)
    ctx.config.federation.allowlist_mode = True
    alice = peer.add_actor("alice")
    follow = peer.activity(alice, "Follow", ctx.url("/users/ada"))
    refused = await signed_post(app_client, ctx.url("/users/ada/inbox"), follow, key=alice)
    assert refused.status == 403 and "suspended" in (await refused.json())["error"]
    await instances.set_allowed(ctx, peer.host, True)
    accepted = await signed_post(app_client, ctx.url("/users/ada/inbox"), follow, key=alice)
    assert accepted.status == 202, await accepted.text()


async def test_authorized_fetch_requires_a_valid_signed_get(app_client, peer):
    ctx = ctx_of(app_client)
    await sign_up(app_client, "ada")
    location = (await upload(app_client, [("a.jpg", images.jpeg(), "alt")])).headers["Location"]
    note_url = ctx.url(location)
    ctx.config.federation.authorized_fetch = True
    app_client.session.cookie_jar.clear()
    unsigned = await app_client.get(location, headers={"Accept": AP})
    assert unsigned.status == 401
    alice = peer.add_actor("alice")
    headers = {"Accept": AP, **sign_request("GET", note_url, {}, None, alice.key_id, alice.private_pem)}
    signed = await app_client.get(urlsplit(note_url).path, headers=headers)
    assert signed.status == 200, await signed.text()
    assert (await signed.json())["id"] == note_url
    mallory = peer.add_actor("mallory")
    forged = {"Accept": AP, **sign_request("GET", note_url, {}, None, alice.key_id, mallory.private_pem)}
    assert (await app_client.get(urlsplit(note_url).path, headers=forged)).status == 401
    assert ctx.config.federation.authorized_fetch  # documents stayed behind the check throughout


async def test_silenced_servers_stay_out_of_tag_pages(app_client, peer):
    from cara_fed.services.remote import RemoteArtwork, upsert_artwork
    from federation.discovery import resolver

    ctx = ctx_of(app_client)
    alice = peer.add_actor("alice")
    account = await resolver.fetch_actor(ctx, alice.id)
    await upsert_artwork(ctx, account, RemoteArtwork(uri=peer.base + "/notes/1", attributed_to=alice.id,
                                                     title="Remote sunset", tags=["sunset"]))
    assert "Remote sunset" in await (await app_client.get("/tags/sunset")).text()
    await instances.set_policy(ctx, peer.host, "silence")
    assert "Remote sunset" not in await (await app_client.get("/tags/sunset")).text()
