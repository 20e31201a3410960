"""The Multikeys a compacted actor document publishes in `assertionMethod` (FEP-8b32 proof keys).

Kept: Ed25519 keys whose controller is the actor and whose id lives on the actor's own server (as for
`publicKey`, parse.py: a key elsewhere would let one actor vouch with someone else's key).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from federation.wire.proof_keys import MultikeyError, ed25519_from_multibase

MAX_KEYS = 8


def _same_origin(a: str, b: str) -> bool:
    one, two = urlsplit(a), urlsplit(b)  # parse.same_origin's rule (parse imports this module)
    return bool(one.netloc) and (one.scheme.lower(), one.netloc.lower()) == (two.scheme.lower(), two.netloc.lower())


def assertion_keys(doc: dict) -> dict[str, str]:
    """{key id: publicKeyMultibase} of the usable Ed25519 Multikeys."""
    actor = doc.get("id")
    found: dict[str, str] = {}
    methods: Any = doc.get("assertionMethod") or []
    for item in methods if isinstance(methods, list) else [methods]:
        if not isinstance(item, dict) or item.get("type") != "Multikey" or not isinstance(actor, str):
            continue
        key_id, controller, value = item.get("id"), item.get("controller"), item.get("publicKeyMultibase")
        if isinstance(controller, dict):
            controller = controller.get("id")
        if not (isinstance(key_id, str) and controller == actor and isinstance(value, str) and len(value) < 200):
            continue
        if not _same_origin(key_id, actor):
            continue
        try:
            ed25519_from_multibase(value)
        except MultikeyError:
            continue  # an RSA Multikey (Fedify publishes its RSA key here too) signs no eddsa proofs
        found[key_id] = value
        if len(found) >= MAX_KEYS:
            break
    return found
