"""FEP-8b32 object integrity proofs, cryptosuite eddsa-jcs-2022 (W3C vc-di-eddsa §3.3), pure functions.

    signed = sign(document, private_pem, key_id)     # a copy with `proof`; `document` keeps its @context
    verify(signed, public_key)                       # ProofError on any failure

The pieces are bovine's: `jcs_sha256` (RFC 8785 canonical JSON, then SHA-256), `multibase_58btc_encode` /
`multibase_decode`, and `CryptographicSecret.sign` / `CryptographicIdentifier.verify` for Ed25519.

bovine's own `CryptographicSecret.sign_document` and `CryptographicIdentifier.verify_document` are the wrong
tool here, for two reasons (both would break interoperability with Fedify, which follows the spec):
- the hashed proof configuration must carry the document's `@context` (vc-di-eddsa §3.3.5 "If
  unsecuredDocument.@context is present, set proof.@context to unsecuredDocument.@context"; Fedify's
  createProof/verifyProof do exactly this); bovine hashes the proof without it, so neither side verifies the
  other's proofs;
- `sign_document` first runs `ensure_data_integrity_context`, a pyld compaction of the whole document when
  the data-integrity context is missing: a network fetch (or bovine's empty-context fallback offline) that
  may rewrite what we sign. Our @context already names the data-integrity context, so nothing needs compacting.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bovine.crypto.helper import jcs_sha256
from bovine.crypto.multibase import multibase_decode
from bovine.crypto.types import CryptographicIdentifier, CryptographicSecret
from cryptography.hazmat.primitives.asymmetric import ed25519

from federation.wire.proof_keys import private_key

CRYPTOSUITE = "eddsa-jcs-2022"
PURPOSE = "assertionMethod"
MAX_PROOF_BYTES = 4096


class ProofError(ValueError):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _created(now: datetime | None) -> str:
    # Whole seconds with "Z": what Temporal.Instant prints back, so Fedify re-serialises the same string.
    return (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _digest(document: dict, options: dict) -> bytes:
    """hash(proof configuration) || hash(document without proof), the data an eddsa-jcs-2022 proof signs."""
    config = {k: v for k, v in options.items() if k != "proofValue"}
    if "@context" in document:
        config["@context"] = document["@context"]
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    return jcs_sha256(config) + jcs_sha256(unsecured)


def sign(document: dict, private_pem: str, key_id: str, *, now: datetime | None = None) -> dict:
    """A copy of `document` with an eddsa-jcs-2022 proof by the Ed25519 key `key_id` (a Multikey id)."""
    options: dict[str, Any] = {"type": "DataIntegrityProof", "cryptosuite": CRYPTOSUITE,
                               "verificationMethod": key_id, "proofPurpose": PURPOSE, "created": _created(now)}
    secret = CryptographicSecret(key_id, private_key(private_pem))
    options["proofValue"] = secret.sign(_digest(document, options))  # multibase (z + base58-btc)
    return {**{k: v for k, v in document.items() if k != "proof"}, "proof": options}


def proof_of(document: Any) -> dict | None:
    """The document's eddsa-jcs-2022 proof; None when there is none we know how to check (no proof, another
    proof type or cryptosuite, several proofs: the document is then treated as one without a proof, as
    before proofs existed); ProofError for a malformed eddsa-jcs-2022 proof."""
    if not isinstance(document, dict) or "proof" not in document:
        return None
    proof = document["proof"]
    if isinstance(proof, list):
        if len(proof) != 1:
            return None
        proof = proof[0]
    if not isinstance(proof, dict):
        raise ProofError("the proof must be a DataIntegrityProof object")
    if proof.get("type") != "DataIntegrityProof" or proof.get("cryptosuite") != CRYPTOSUITE:
        return None
    if proof.get("proofPurpose") != PURPOSE:
        raise ProofError(f"the proof's purpose must be {PURPOSE}")
    for name in ("verificationMethod", "proofValue", "created"):
        if not isinstance(proof.get(name), str) or not proof[name] or len(proof[name]) > MAX_PROOF_BYTES:
            raise ProofError(f"the proof has no usable {name}")
    return proof


def verify(document: dict, public_key: ed25519.Ed25519PublicKey) -> None:
    """Check `document`'s proof with `public_key` (the caller found the key by its verificationMethod)."""
    proof = proof_of(document)
    if proof is None:
        raise ProofError("the document has no proof")
    try:
        signature = multibase_decode(proof["proofValue"])
    except (ValueError, IndexError):
        raise ProofError("the proofValue is not multibase base58-btc") from None
    # An LD signature (`signature`, RsaSignature2017) is added after the proof by Mastodon-compatible senders
    # such as Fedify, so the proof covers the document without it (Fedify's inbox detaches it the same way).
    candidates = [document]
    if "signature" in document:
        candidates.append({k: v for k, v in document.items() if k != "signature"})
    identity = CryptographicIdentifier("", public_key)
    for candidate in candidates:
        try:
            digest = _digest(candidate, proof)
        except (TypeError, ValueError):  # JCS refuses what is not plain JSON (NaN, huge integers)
            raise ProofError("the document cannot be canonicalised (JCS)") from None
        if len(signature) == 64 and identity.verify(digest, signature) is not None:
            return
    raise ProofError(f"the proof does not verify with {proof['verificationMethod'][:200]}")
