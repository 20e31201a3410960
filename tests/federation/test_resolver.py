"""Signed fetches of remote actors and keys over real HTTP, against the in-test peer on loopback."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from cara_fed.db import utcnow
from cara_fed.models import Account
from cara_fed.services.accounts import ensure_instance_actor
from federation.discovery import net, resolver
from federation.signatures import verify_request
from tests.federation.peer import AP, enable_federation


@pytest.fixture
def fed(ctx):  # type: ignore[no-untyped-def]
    return enable_federation(ctx)


async def _accounts(ctx) -> int:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        return await session.scalar(select(func.count()).select_from(Account).where(Account.domain.is_not(None)))


async def test_fetch_actor_is_signed_by_the_instance_actor_stored_and_cached(fed, peer):
    alice = peer.add_actor("alice", summary="<p>Ink <script>x</script></p>")
    account = await resolver.fetch_actor(fed, alice.id)
    assert (account.uri, account.username, account.domain) == (alice.id, "alice", peer.host)
    assert account.inbox_url == alice.id + "/inbox" and account.shared_inbox_url == peer.base + "/inbox"
    assert account.key_id == alice.key_id and account.public_key_pem == alice.public_pem
    assert "<script" not in account.bio_html

    path, headers = peer.gets[-1]
    assert path == "/users/alice" and headers["Accept"].startswith(AP)
    instance = await ensure_instance_actor(fed)
    assert f'keyId="{fed.url("/actor")}#main-key"' in headers["Signature"]
    verify_request("GET", alice.id, headers, None, instance.public_key_pem)  # really signed by our instance actor

    count = len(peer.gets)
    assert (await resolver.fetch_actor(fed, alice.id)).id == account.id
    assert len(peer.gets) == count  # cached
    await resolver.fetch_actor(fed, alice.id, refresh=True)
    assert len(peer.gets) == count + 1
    async with fed.transaction() as tx:  # a day later the cache is stale
        await tx.session.execute(update(Account).where(Account.id == account.id)
                                 .values(fetched_at=utcnow() - timedelta(days=2)))
    await resolver.fetch_actor(fed, alice.id)
    assert len(peer.gets) == count + 2
    assert await _accounts(fed) == 1


async def test_redirect_to_the_actor_id_is_followed(fed, peer):
    alice = peer.add_actor("alice")
    start = peer.redirect("/@alice", alice.id, status=301)
    account = await resolver.fetch_actor(fed, start)
    assert account.uri == alice.id


async def test_an_alias_url_on_the_same_host_is_resolved_through_the_id(fed, peer):
    alice = peer.add_actor("alice")
    alias = peer.serve("/profile/alice", peer.actor_document(alice))  # served as-is, id = /users/alice
    account = await resolver.fetch_actor(fed, alias)
    assert account.uri == alice.id
    assert [path for path, _ in peer.gets] == ["/profile/alice", "/users/alice"]  # the id was fetched itself


async def test_no_one_can_host_an_actor_for_another_domain(fed, peer):
    mallory = peer.add_actor("mallory")
    forged = {**peer.actor_document(mallory), "id": "https://victim.example/users/mallory"}
    forged["publicKey"] = {**forged["publicKey"], "owner": forged["id"]}
    url = peer.serve("/forged", forged)
    with pytest.raises(resolver.ResolveError) as caught:
        await resolver.fetch_actor(fed, url)
    assert caught.value.code == "id_mismatch"
    assert await _accounts(fed) == 0


async def test_key_for_actor_key_and_standalone_key_documents(fed, peer):
    alice = peer.add_actor("alice")
    bob = peer.add_actor("bob", standalone_key=True)
    assert (await resolver.key_for(fed, alice.key_id)).uri == alice.id
    count = len(peer.gets)
    assert (await resolver.key_for(fed, alice.key_id)).uri == alice.id
    assert len(peer.gets) == count  # found by key id, no fetch
    owner = await resolver.key_for(fed, bob.key_id)
    assert owner.uri == bob.id and owner.key_id == bob.key_id and owner.public_key_pem == bob.public_pem


async def test_a_key_document_naming_an_owner_that_does_not_publish_it_is_refused(fed, peer):
    alice = peer.add_actor("alice")
    evil = peer.serve("/evil-key", {"@context": "https://w3id.org/security/v1", "id": peer.base + "/evil-key",
                                    "type": "CryptographicKey", "owner": alice.id,
                                    "publicKeyPem": peer.add_actor("eve").public_pem})
    with pytest.raises(resolver.ResolveError) as caught:
        await resolver.key_for(fed, evil)
    assert caught.value.code == "key_mismatch"


async def test_our_own_keys_are_never_fetched(fed):
    with pytest.raises(resolver.ResolveError) as caught:
        await resolver.key_for(fed, fed.url("/users/ada#main-key"))
    assert caught.value.code == "local"


async def test_webfinger_round_trip(fed, peer):
    alice = peer.add_actor("alice")
    account = await resolver.webfinger(fed, f"@alice@{peer.host}")
    assert account.uri == alice.id
    assert any(path.startswith("/.well-known/webfinger?resource=acct:alice@") for path, _ in peer.gets)
    with pytest.raises(resolver.ResolveError) as caught:
        await resolver.webfinger(fed, f"nobody@{peer.host}")
    assert caught.value.code == "http_status" and caught.value.status == 404
    with pytest.raises(resolver.ResolveError):
        await resolver.webfinger(fed, "not a handle")


async def test_gone_actor_and_not_json(fed, peer):
    peer.add_actor("ghost").gone = True
    with pytest.raises(resolver.ResolveError) as caught:
        await resolver.fetch_actor(fed, peer.base + "/users/ghost")
    assert (caught.value.code, caught.value.status, caught.value.transient) == ("http_status", 410, False)
    html = peer.serve("/page", "<html></html>", "text/html")
    with pytest.raises(resolver.ResolveError) as caught:
        await resolver.fetch_actor(fed, html)
    assert caught.value.code == "bad_type"


async def test_loopback_is_refused_unless_private_addresses_are_allowed(ctx, peer):
    enable_federation(ctx, allow_private=False)
    alice = peer.add_actor("alice")
    with pytest.raises(net.FetchError) as caught:
        await net.fetch(ctx, alice.id)
    assert caught.value.code == "blocked_address" and caught.value.permanent
    with pytest.raises(resolver.ResolveError) as resolved:
        await resolver.fetch_actor(ctx, alice.id)
    assert resolved.value.code == "blocked_address"
    assert peer.gets == []  # nothing ever reached the peer


async def test_redirect_hops_are_rechecked_and_limited(fed, peer):
    for hop in range(7):
        peer.redirect(f"/hop{hop}", f"/hop{hop + 1}")
    with pytest.raises(net.FetchError) as caught:
        await net.fetch(fed, peer.base + "/hop0")
    assert caught.value.code == "too_many_redirects"
    escape = peer.redirect("/escape", "file:///etc/passwd")  # every hop goes through check_url again
    with pytest.raises(net.FetchError) as caught:
        await net.fetch(fed, escape)
    assert caught.value.code == "blocked_address"


async def test_size_cap_and_timeout(fed, peer):
    big = peer.serve("/big.json", b"{" + b" " * (2 * 1024 * 1024) + b"}", AP, chunked=True)
    with pytest.raises(net.FetchError) as caught:
        await net.fetch(fed, big, max_bytes=1024 * 1024)
    assert caught.value.code == "too_large"
    slow = peer.serve("/slow.json", b"{}", AP, delay=2)
    with pytest.raises(net.FetchError) as caught:
        await net.fetch(fed, slow, timeout=0.3)
    assert caught.value.code == "timeout" and not caught.value.permanent
