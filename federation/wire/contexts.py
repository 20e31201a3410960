"""The JSON-LD @context of every document we send (federation/wire/serialize.py and its siblings).

Every term our documents use is defined here, and every URL named is one federation/wire/jsonld.py ships, so any
JSON-LD processor (ours is offline) can expand what we send. Order matters: data-integrity, DID and Multikey
are @protected contexts, so they come after security/v1 (whose terms they may redefine) and nothing after
them redefines their terms.
"""

from __future__ import annotations

from typing import Any

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
# FEP-8b32: `proof` / DataIntegrityProof (activities and objects we sign), and the actor's Multikey in
# `assertionMethod` (DID core names assertionMethod and controller; Multikey names publicKeyMultibase).
DATA_INTEGRITY_CONTEXT = "https://w3id.org/security/data-integrity/v1"
DID_CONTEXT = "https://www.w3.org/ns/did/v1"
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"
CARA_NS = "https://w3id.org/cara-fed/ns#"
# FEP-5e53 names the property but defines no IRI for it; this one is ours until the FEP settles one.
XROBOTS_IRI = "https://w3id.org/fep/5e53#xRobotsTag"

GTS_CONTEXT = "https://gotosocial.org/ns"  # interactionPolicy (who may like, reply, announce)
PIXELFED_COMMENTS = "http://pixelfed.org/ns#commentsEnabled"
DCTERMS_LICENSE = "http://purl.org/dc/terms/license"

CONTEXT: list[Any] = [
    AS_CONTEXT,
    SECURITY_CONTEXT,
    DATA_INTEGRITY_CONTEXT,
    DID_CONTEXT,
    MULTIKEY_CONTEXT,
    GTS_CONTEXT,
    {
        "toot": "http://joinmastodon.org/ns#",
        "featured": {"@id": "toot:featured", "@type": "@id"},
        "discoverable": "toot:discoverable",
        "suspended": "toot:suspended",
        "indexable": "toot:indexable",
        "blurhash": "toot:blurhash",
        "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
        "sensitive": "as:sensitive",
        "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
        "Hashtag": "as:Hashtag",
        "schema": "http://schema.org#",
        "PropertyValue": "schema:PropertyValue",
        "value": "schema:value",
        "cara": CARA_NS,
        # IRIs, not strings (JSON-LD 1.1 term definitions for compact IRIs).
        "cara:license": {"@type": "@id"},
        "cara:project": {"@type": "@id"},
        "xRobotsTag": XROBOTS_IRI,
        # Pixelfed reads commentsEnabled, not interactionPolicy; FEP-6757's license (Pixelfed reads it on the
        # Note and on each attachment); Mastodon's attributionDomains (who may claim fediverse:creator).
        "commentsEnabled": PIXELFED_COMMENTS,
        "license": {"@id": DCTERMS_LICENSE, "@type": "@id"},
        "attributionDomains": {"@id": "toot:attributionDomains", "@type": "@id"},
        # Account moves, as Mastodon names it (alsoKnownAs comes with the ActivityStreams context).
        "movedTo": {"@id": "as:movedTo", "@type": "@id"},
    },
]
