"""FEP-8b32 object integrity proofs both ways with a real Fedify 2.3.6 peer: Fedify's own verifyObject checks the
eddsa-jcs-2022 proofs on what we send (fetching our actor's Multikey), and our code checks the proofs Fedify makes
(reading the Multikey from Fedify's actor document as our resolver does)."""

from __future__ import annotations

import asyncio
import copy
import json
import urllib.request

import pytest

from federation.wire import parse, proofs
from federation.wire.parse_keys import assertion_keys
from federation.wire.proof_keys import ed25519_from_multibase
from tests import images
from tests.flows.users import Browserless

pytestmark = pytest.mark.flow

AS = "https://www.w3.org/ns/activitystreams"
PUBLIC = AS + "#Public"


async def test_fedify_verifies_the_proofs_on_our_create_and_its_note(cara_and_peer):
    cara, peer = cara_and_peer
    actor = f"{cara.url}/users/ada"
    await asyncio.to_thread(peer.follow, actor)
    await asyncio.to_thread(peer.wait_for_following, actor)
    ada = Browserless(cara.url)
    try:
        await ada.login("ada", "ada password")
        location = await ada.upload("Lighthouse", [("l.jpg", images.jpeg(640, 480), "A lighthouse in fog")])
    finally:
        await ada.close()
    note_id = f"{cara.url}{location}"
    create = await asyncio.to_thread(
        peer.wait_for_inbox, lambda a: a["type"] == "Create" and isinstance(a.get("object"), dict)
        and a["object"].get("id") == note_id, 60)
    assert create["proof"]["type"] == "DataIntegrityProof" and create["object"]["proof"]

    checked = await asyncio.to_thread(peer.verify, create["id"])
    assert checked["activity"] is True and checked["object"] is True, peer.log_tail()
    assert checked["proof"]["verificationMethod"] == actor + "#ed25519-key"
    assert checked["proof"]["cryptosuite"] == "eddsa-jcs-2022"

    forged = copy.deepcopy(create)
    forged["object"]["name"] = "Not Ada's lighthouse"
    checked = await asyncio.to_thread(peer.verify, activity=forged)
    assert checked["activity"] is False and checked["object"] is False

    # A boost (Announce) names the Note by IRI: the copy anyone fetches from us carries ada's proof as well.
    fetched = await asyncio.to_thread(_ap_get, note_id)
    assert fetched["proof"]["verificationMethod"] == actor + "#ed25519-key"
    assert (await asyncio.to_thread(peer.verify, object_=fetched))["object"] is True
    assert (await asyncio.to_thread(peer.verify, object_={**fetched, "name": "Forged"}))["object"] is False

    forged = copy.deepcopy(create)
    forged["object"]["content"] += "<p>Buy my course</p>"
    del forged["proof"]  # the activity unsigned: the Note's own proof still tells the truth
    checked = await asyncio.to_thread(peer.verify, activity=forged)
    assert checked["object"] is False


def _ap_get(uri: str) -> dict:
    request = urllib.request.Request(uri, headers={"Accept": "application/activity+json"})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback peer)
        return json.loads(response.read())


async def test_we_verify_the_proofs_fedify_makes_and_accept_its_signed_create(cara_and_peer):
    cara, peer = cara_and_peer
    # What Fedify puts on the wire: alice sends a Create to bob, another actor of the same peer, which keeps the
    # JSON as it arrived (HTTP signature, LD signature and the eddsa-jcs-2022 proof made by sendActivity).
    bob = await asyncio.to_thread(peer.add_actor, "bob")
    note = {"id": f"{peer.origin}/users/alice/notes/proof-1", "type": "Note", "attributedTo": peer.actor_id,
            "content": "<p>Signed by Fedify</p>", "to": [PUBLIC]}
    sent = await asyncio.to_thread(peer.send, {"@context": AS, "type": "Create", "object": note, "to": [PUBLIC]},
                                   to=[bob])
    signed = await asyncio.to_thread(peer.wait_for_inbox, lambda a: a.get("id") == sent["id"])
    proof = signed["proof"]
    assert proof["cryptosuite"] == "eddsa-jcs-2022" and proof["proofPurpose"] == "assertionMethod"

    # Fedify's Multikeys, read the way our resolver reads an actor (compacted, then parse_keys).
    actor_doc = parse.normalize(await asyncio.to_thread(_ap_get, peer.actor_id))
    keys = assertion_keys(actor_doc)
    assert proof["verificationMethod"] in keys  # the Ed25519 one (the RSA Multikey is not kept)
    key = ed25519_from_multibase(keys[proof["verificationMethod"]])
    proofs.verify(signed, key)

    tampered = copy.deepcopy(signed)
    tampered["object"]["content"] = "<p>Signed by someone else</p>"
    with pytest.raises(proofs.ProofError, match="does not verify"):
        proofs.verify(tampered, key)

    # End to end: Fedify delivers a Create (with its proof) to ada; our inbox checks the proof and accepts it.
    # A refused delivery (our 401) would make the send fail with the peer's error.
    mention = {**note, "id": f"{peer.origin}/users/alice/notes/proof-2", "to": [f"{cara.url}/users/ada"],
               "content": f'<p><a href="{cara.url}/@ada">@ada</a> hello</p>',
               "tag": [{"type": "Mention", "href": f"{cara.url}/users/ada",
                        "name": "@ada@" + cara.url.split("//", 1)[1]}]}
    await asyncio.to_thread(peer.send, {"@context": AS, "type": "Create", "object": mention,
                                        "to": [f"{cara.url}/users/ada"]}, to=[f"{cara.url}/users/ada"])
