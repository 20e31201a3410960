"""Inbound FEP-8b32 proofs: find the Ed25519 key a proof names and check the proof with it.

The key is a Multikey in its controller's `assertionMethod` (verificationMethod = actor IRI + fragment). The
controller comes through the resolver like any remote actor (stored, refreshed after a day); its Multikeys are
stored with it (`accounts.assertion_keys`). A key we do not know yet, or a proof that fails with a key fetched
more than a minute ago, causes one fresh fetch of the actor (the key may be new or rotated), never more.
"""

from __future__ import annotations

from datetime import timedelta

from cara_fed.context import Context
from cara_fed.db import utcnow
from cara_fed.models import Account
from federation.discovery import resolver
from federation.wire import parse_values, proofs
from federation.wire.proof_keys import MultikeyError, ed25519_from_multibase
from federation.wire.proofs import ProofError

REFETCH_AFTER = timedelta(minutes=1)


async def _controller(ctx: Context, method: str, *, refresh: bool) -> Account:
    uri = method.split("#", 1)[0]
    if resolver.is_local(ctx, uri):
        raise ProofError("a remote document cannot carry a proof made with one of our keys")
    try:
        return await resolver.fetch_actor(ctx, uri, refresh=refresh)
    except resolver.ResolveError as exc:
        raise ProofError(f"could not get the proof's key {method[:200]}: {exc.message}") from None


def _check(document: dict, account: Account, method: str) -> None:
    multibase = (account.assertion_keys or {}).get(method)
    if multibase is None:
        raise ProofError(f"{account.uri} does not publish the key {method[:200]} in assertionMethod")
    try:
        proofs.verify(document, ed25519_from_multibase(multibase))
    except MultikeyError as exc:
        raise ProofError(str(exc)) from None


async def verify(ctx: Context, document: dict) -> str | None:
    """The actor whose key made `document`'s valid proof; None when it has no proof; ProofError otherwise."""
    proof = proofs.proof_of(document)
    if proof is None:
        return None
    method = proof["verificationMethod"]
    account = await _controller(ctx, method, refresh=False)
    try:
        _check(document, account, method)
    except ProofError:
        if account.fetched_at is not None and utcnow() - account.fetched_at < REFETCH_AFTER:
            raise
        account = await _controller(ctx, method, refresh=True)  # a new or rotated key
        _check(document, account, method)
    return account.uri


async def verify_embedded(ctx: Context, activity: dict) -> None:
    """An object the activity embeds with its own proof must carry a valid one by its author (`attributedTo`).
    Without an @context of its own, it is read with the activity's."""
    embedded = activity.get("object")
    if not isinstance(embedded, dict) or "proof" not in embedded:
        return
    if "@context" not in embedded and "@context" in activity:
        embedded = {"@context": activity["@context"], **embedded}
    controller = await verify(ctx, embedded)
    if controller is None:  # a proof we cannot check counts as none
        return
    author = parse_values.iri(embedded.get("attributedTo"))
    if controller != author:
        raise ProofError(f"the embedded object's proof is by {controller}, not by its author")
