"""FEP-8b32 object integrity proofs (eddsa-jcs-2022): the cryptosuite itself, our actors' Multikeys, proofs on
what we send (over real HTTP to the loopback sink), and the inbox's check of what peers send (real HTTP from a
loopback peer). Interop with a real implementation: tests/flows/test_fedify_proofs.py."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from bovine.crypto.multibase import encode_public_key_to_multibase
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import select

from cara_fed.config import load_config
from cara_fed.models import Account, InboxItem
from cara_fed.services.accounts import generate_proof_key
from federation.signatures import load_public_key
from federation.wire import proofs, serialize, serialize_actors
from federation.wire.parse_keys import assertion_keys
from federation.wire.proof_keys import ed25519_from_multibase, private_key, public_multibase
from tests.federation.peer import AS, PUBLIC, key_pair, signed_post
from tests.federation.sink import activities, local_artist
from tests.federation.test_delivery import publish, sink, with_followers  # noqa: F401 (fixture)

DI = "https://w3id.org/security/data-integrity/v1"
MULTIKEY = "https://w3id.org/security/multikey/v1"
DID = "https://www.w3.org/ns/did/v1"
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def note(author: str = "https://a.example/users/ada") -> dict:
    return {"@context": [AS, DI], "id": author + "/notes/1", "type": "Note", "attributedTo": author,
            "content": "<p>Heron at dusk</p>", "to": [PUBLIC]}


# --- the cryptosuite -------------------------------------------------------------------------------


def test_a_signed_document_verifies_and_its_proof_is_eddsa_jcs_2022():
    pem = generate_proof_key()
    signed = proofs.sign(note(), pem, "https://a.example/users/ada#ed25519-key", now=NOW)
    assert {k: v for k, v in signed["proof"].items() if k != "proofValue"} == {
        "type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022", "proofPurpose": "assertionMethod",
        "verificationMethod": "https://a.example/users/ada#ed25519-key", "created": "2026-12-06T12:00:00Z"}
    assert signed["proof"]["proofValue"].startswith("z")  # multibase base58-btc
    proofs.verify(signed, private_key(pem).public_key())
    # Key order and whitespace do not matter (JCS): the same document, rebuilt backwards, still verifies.
    proofs.verify(dict(reversed(list(signed.items()))), private_key(pem).public_key())


@pytest.mark.parametrize("tamper", [
    lambda d: d.update(content="<p>Heron at dawn</p>"),
    lambda d: d.update(to=[]),
    lambda d: d["@context"].append("https://w3id.org/security/v1"),  # the context is part of what is signed
    lambda d: d["proof"].update(created="2026-12-07T12:00:00Z"),
    lambda d: d["proof"].update(verificationMethod="https://a.example/users/ada#other"),
    lambda d: d.update(proof={**d["proof"], "proofValue": "z" + "1" * 87}),
])
def test_a_tampered_document_fails(tamper):
    pem = generate_proof_key()
    signed = proofs.sign(note(), pem, "https://a.example/users/ada#ed25519-key")
    tampered = copy.deepcopy(signed)
    tamper(tampered)
    with pytest.raises(proofs.ProofError, match="does not verify|multibase"):
        proofs.verify(tampered, private_key(pem).public_key())


def test_an_ld_signature_added_after_the_proof_is_left_out_of_the_check():
    """Fedify (like Mastodon-compatible senders) adds its RsaSignature2017 `signature` after making the proof."""
    pem = generate_proof_key()
    signed = proofs.sign(note(), pem, "https://a.example/users/ada#ed25519-key")
    with_ld = {**signed, "signature": {"type": "RsaSignature2017", "signatureValue": "abc=="}}
    proofs.verify(with_ld, private_key(pem).public_key())
    with pytest.raises(proofs.ProofError):
        proofs.verify({**with_ld, "content": "changed"}, private_key(pem).public_key())


def test_another_key_fails():
    signed = proofs.sign(note(), generate_proof_key(), "https://a.example/users/ada#ed25519-key")
    with pytest.raises(proofs.ProofError, match="does not verify"):
        proofs.verify(signed, ed25519.Ed25519PrivateKey.generate().public_key())


@pytest.mark.parametrize("proof", [
    {"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022", "proofValue": "z1"},
    {"type": "Ed25519Signature2020", "proofValue": "z1"},
    [{"type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022"}] * 2,
])
def test_proofs_we_cannot_check_count_as_none(proof):
    """Another cryptosuite or several proofs: handled as an activity without a proof (HTTP signature only)."""
    assert proofs.proof_of({**note(), "proof": proof}) is None


@pytest.mark.parametrize(("proof", "reason"), [
    ("zabc", "a DataIntegrityProof object"),
    ({"type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022", "proofPurpose": "authentication"}, "purpose"),
    ({"type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022", "proofPurpose": "assertionMethod",
      "verificationMethod": "https://a.example/k"}, "proofValue"),
])
def test_unusable_proofs_are_refused_with_a_reason(proof, reason):
    with pytest.raises(proofs.ProofError, match=reason):
        proofs.proof_of({**note(), "proof": proof})


# --- Multikeys -----------------------------------------------------------------------------------


def test_our_multikey_round_trips_and_foreign_or_rsa_keys_are_not_kept():
    pem = generate_proof_key()
    actor = "https://a.example/users/ada"
    multibase = public_multibase(pem)
    assert multibase.startswith("z6Mk")  # Ed25519 multicodec 0xed01, base58-btc
    assert ed25519_from_multibase(multibase).public_bytes_raw() == private_key(pem).public_key().public_bytes_raw()
    rsa_multikey = encode_public_key_to_multibase(load_public_key(key_pair(0)[1]))  # Fedify lists its RSA key too
    doc = {"id": actor, "type": "Person", "assertionMethod": [
        {"id": actor + "#ed25519-key", "type": "Multikey", "controller": actor, "publicKeyMultibase": multibase},
        {"id": actor + "#rsa", "type": "Multikey", "controller": actor, "publicKeyMultibase": rsa_multikey},
        {"id": actor + "#theirs", "type": "Multikey", "controller": "https://b.example/u",
         "publicKeyMultibase": multibase},
        {"id": "https://b.example/k", "type": "Multikey", "controller": actor, "publicKeyMultibase": multibase},
        {"id": actor + "#garbage", "type": "Multikey", "controller": actor, "publicKeyMultibase": "not multibase"},
    ]}
    assert assertion_keys(doc) == {actor + "#ed25519-key": multibase}


def test_the_actor_document_publishes_its_multikey():
    config = load_config(environ={"CARA_FED__SERVER__DOMAIN": "test.example"})
    fake_ctx = SimpleNamespace(config=config, url=lambda path: config.base_url + path)
    pem = generate_proof_key()
    account = Account(id=1, username="ada", domain=None, kind="artist", links=[], public_key_pem="PEM",
                      ed25519_private_key_pem=pem, created_at=NOW)
    doc = serialize_actors.actor_document(fake_ctx, account)  # type: ignore[arg-type]
    me = doc["id"]
    assert doc["assertionMethod"] == [{"id": me + "#ed25519-key", "type": "Multikey", "controller": me,
                                       "publicKeyMultibase": public_multibase(pem)}]
    assert {DI, DID, MULTIKEY} <= {c for c in doc["@context"] if isinstance(c, str)}
    assert "ed25519_private_key_pem" not in str(doc) and "PRIVATE" not in str(doc)


# --- what we send --------------------------------------------------------------------------------


async def test_our_create_and_its_note_carry_proofs_our_multikey_verifies(fed, sink):  # noqa: F811
    artist = await with_followers(fed, sink, (1, 0))
    await publish(fed, artist)
    [create] = activities(sink, "Create")
    async with fed.sessions() as session:
        account = await session.get(Account, artist.id)
    [multikey] = serialize_actors.actor_document(fed, account)["assertionMethod"]
    key = ed25519_from_multibase(multikey["publicKeyMultibase"])
    activity, embedded = create.json, create.json["object"]
    assert activity["proof"]["verificationMethod"] == multikey["id"] == embedded["proof"]["verificationMethod"]
    proofs.verify(activity, key)
    proofs.verify(embedded, key)  # standalone: the Note keeps the @context its proof covers
    assert embedded["@context"] == activity["@context"] == serialize.CONTEXT
    tampered = {**embedded, "name": "Not the artist's title"}
    with pytest.raises(proofs.ProofError):
        proofs.verify(tampered, key)


# --- what we receive -----------------------------------------------------------------------------


def _with_multikey(peer, name: str, pem: str):  # type: ignore[no-untyped-def]
    actor_id = f"{peer.base}/users/{name}"
    return peer.add_actor(name, **{
        "@context": [AS, "https://w3id.org/security/v1", DID, MULTIKEY],
        "assertionMethod": [{"id": actor_id + "#ed25519-key", "type": "Multikey", "controller": actor_id,
                             "publicKeyMultibase": public_multibase(pem)}]})


def _signed_follow(fed, peer, actor, pem: str) -> dict:  # type: ignore[no-untyped-def]
    follow = {**peer.activity(actor, "Follow", fed.url("/users/ada")), "@context": [AS, DI]}
    return proofs.sign(follow, pem, actor.id + "#ed25519-key")


async def items(ctx) -> list[InboxItem]:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        return list((await session.scalars(select(InboxItem).order_by(InboxItem.id))).all())


@pytest.mark.usefixtures("inbound")
async def test_a_valid_proof_is_accepted_and_a_tampered_one_refused(fed, inbox_client, peer, ada):
    pem = generate_proof_key()
    alice = _with_multikey(peer, "alice", pem)
    follow = _signed_follow(fed, peer, alice, pem)
    response = await signed_post(inbox_client, fed.url("/users/ada/inbox"), follow, key=alice)
    assert response.status == 202, await response.text()

    tampered = {**_signed_follow(fed, peer, alice, pem), "object": fed.url("/users/someone-else")}
    response = await signed_post(inbox_client, fed.url("/users/ada/inbox"), tampered, key=alice)
    assert response.status == 401
    assert "invalid object integrity proof" in (await response.json())["error"]

    wrong_key = _signed_follow(fed, peer, alice, generate_proof_key())  # signed by a key alice does not publish
    response = await signed_post(inbox_client, fed.url("/users/ada/inbox"), wrong_key, key=alice)
    assert response.status == 401 and "does not verify" in (await response.json())["error"]
    assert [i.activity_id for i in await items(fed)] == [follow["id"]]


@pytest.mark.usefixtures("inbound")
async def test_a_relayed_copy_is_accepted_only_with_its_authors_proof(fed, inbox_client, peer, ada):
    pem = generate_proof_key()
    alice = _with_multikey(peer, "alice", pem)
    relay = peer.add_actor("relay", type="Application")
    unproved = {**peer.activity(alice, "Follow", fed.url("/users/ada")), "@context": [AS, DI]}
    response = await signed_post(inbox_client, fed.url("/inbox"), unproved, key=relay)
    assert response.status == 401 and "not by the actor" in (await response.json())["error"]

    relayed = _signed_follow(fed, peer, alice, pem)  # alice's proof, delivered (HTTP-signed) by the relay
    response = await signed_post(inbox_client, fed.url("/inbox"), relayed, key=relay)
    assert response.status == 202, await response.text()
    [item] = await items(fed)
    assert (item.activity_id, item.actor_uri) == (relayed["id"], alice.id)

    # The relay cannot pass off its own proof as alice's.
    relay_pem = generate_proof_key()
    forged = proofs.sign({**peer.activity(alice, "Follow", fed.url("/users/ada")), "@context": [AS, DI]},
                         relay_pem, relay.id + "#ed25519-key")
    response = await signed_post(inbox_client, fed.url("/inbox"), forged, key=relay)
    assert response.status == 401 and "invalid object integrity proof" in (await response.json())["error"]


async def test_the_note_we_serve_carries_its_authors_proof_and_stays_byte_stable(fed, client):
    """A boost names the Note by IRI; whoever fetches it can verify the artist's authorship. The proof's time is
    the work's own (deterministic Ed25519): the same document twice, byte for byte."""
    artist = await local_artist(fed)
    work = await publish(fed, artist)
    path = f"/@ada/{work.id}"
    bodies = []
    for _ in range(2):
        response = await client.get(path, headers={"Accept": "application/activity+json"})
        assert response.status == 200
        bodies.append(await response.read())
    assert bodies[0] == bodies[1]
    note = json.loads(bodies[0])
    async with fed.sessions() as session:
        account = await session.get(Account, artist.id)
    [multikey] = serialize_actors.actor_document(fed, account)["assertionMethod"]
    assert note["proof"]["verificationMethod"] == multikey["id"]
    proofs.verify(note, ed25519_from_multibase(multikey["publicKeyMultibase"]))


@pytest.mark.usefixtures("inbound")
async def test_an_embedded_objects_proof_must_hold_and_be_its_authors(fed, inbox_client, peer, ada):
    pem = generate_proof_key()
    alice = _with_multikey(peer, "alice", pem)
    bob_pem = generate_proof_key()
    _with_multikey(peer, "bob", bob_pem)
    own = proofs.sign({**note(alice.id), "@context": [AS, DI]}, pem, alice.id + "#ed25519-key")
    create = {**peer.activity(alice, "Create", own), "@context": [AS, DI]}
    response = await signed_post(inbox_client, fed.url("/users/ada/inbox"), create, key=alice)
    assert response.status == 202, await response.text()

    tampered = {**peer.activity(alice, "Create", {**own, "content": "<p>changed</p>"}), "@context": [AS, DI]}
    response = await signed_post(inbox_client, fed.url("/users/ada/inbox"), tampered, key=alice)
    assert response.status == 401 and "invalid object integrity proof" in (await response.json())["error"]

    by_bob = proofs.sign({**note(alice.id), "@context": [AS, DI]}, bob_pem, f"{peer.base}/users/bob#ed25519-key")
    response = await signed_post(inbox_client, fed.url("/users/ada/inbox"),
                                 {**peer.activity(alice, "Create", by_bob), "@context": [AS, DI]}, key=alice)
    assert response.status == 401 and "not by its author" in (await response.json())["error"]
