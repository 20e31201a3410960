"""Which outgoing activities carry FEP-8b32 proofs, and how: Create and Update are signed by their actor,
and so is the object they embed when that actor wrote it (an artwork's Note, a comment, a job post's Page),
so the object keeps verifiable authorship when a relay forwards it or someone boosts a copy.

An embedded object that carries a proof keeps its own @context (the enclosing document's): a proof is
verified over the object as a standalone JSON-LD document, and its hash includes that @context.
"""

from __future__ import annotations

from datetime import datetime

from federation.wire import proofs
from federation.wire.proof_keys import proof_key_id

SIGNED_TYPES = frozenset({"Create", "Update"})


def with_proofs(activity: dict, actor_uri: str, private_pem: str | None) -> dict:
    """`activity` with proofs by `actor_uri`'s Ed25519 key; unchanged for other types or without a key."""
    if activity.get("type") not in SIGNED_TYPES or not private_pem or activity.get("actor") != actor_uri:
        return activity
    key_id = proof_key_id(actor_uri)
    embedded = activity.get("object")
    if isinstance(embedded, dict) and embedded.get("attributedTo") == actor_uri and "@context" in activity:
        standalone = {"@context": activity["@context"], **{k: v for k, v in embedded.items() if k != "@context"}}
        activity = {**activity, "object": proofs.sign(standalone, private_pem, key_id)}
    return proofs.sign(activity, private_pem, key_id)


def signed_object(document: dict, actor_uri: str, private_pem: str | None, created: datetime | None) -> dict:
    """A document we serve on GET (an artwork's Note), with its author's proof, so a boost, which names the
    Note by IRI, still leads to verifiable authorship. `created` is the document's own time (its last edit):
    Ed25519 signatures are deterministic, so the same document is served byte for byte until it changes."""
    if not private_pem or document.get("attributedTo") != actor_uri:
        return document
    return proofs.sign(document, private_pem, proof_key_id(actor_uri), now=created)
