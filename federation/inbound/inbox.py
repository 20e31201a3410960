"""POST /users/{name}/inbox and POST /inbox: check, verify, store, answer 202.

Order (cheap refusals first, network last): size cap -> JSON -> envelope -> known recipient -> instance
policy -> HTTP signature (key fetched by the resolver) -> key owner is the actor -> the InboxItem is
committed (group commit with concurrent requests, `cara_fed.services.inbox_batch`) -> 202. Recipient,
policy and key come from short-lived in-process caches (`federation.inbound.cache`). Every refusal is JSON
`{"error": reason}` with a 4xx, stores nothing, and nothing a peer sends can produce a 500; a batch that
could not be stored answers 503 with Retry-After.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from aiohttp import web

from cara_fed import json_limits, metrics
from cara_fed.context import Context
from cara_fed.db import utcnow
from cara_fed.services import inbox as inbox_service
from cara_fed.services.inbox_batch import BatchFailed
from cara_fed.services.remote import domain_of
from federation.discovery import resolver
from federation.inbound import proof_verify
from federation.inbound import verify as inbox_verify
from federation.inbound.cache import SigningKey, lookups
from federation.negotiation import FETCH_VERIFIER
from federation.signatures import SignatureError
from federation.wire import parse, parse_values
from federation.wire.proofs import ProofError

MAX_BODY = 1024 * 1024
MAX_IRI = 2048
REFETCH_AFTER = timedelta(minutes=1)  # a key fetched this recently is not fetched again on a bad signature


class Refused(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


def setup_inbox(app: web.Application, ctx: Context) -> None:
    async def user_inbox(request: web.Request) -> web.Response:
        return await receive(ctx, request, request.match_info["name"])

    async def shared_inbox(request: web.Request) -> web.Response:
        return await receive(ctx, request, None)

    app.router.add_post("/users/{name}/inbox", user_inbox)
    app.router.add_post("/inbox", shared_inbox)
    app[FETCH_VERIFIER] = lambda request: verify_fetch(ctx, request)


async def verify_fetch(ctx: Context, request: web.Request) -> str:
    """Authorized fetch: the same signature check as the inbox, for GETs; returns the signer's actor URI."""
    owner = await _verify(ctx, request, b"")
    if await lookups(ctx).domain_policy(owner.domain) == "suspend":
        raise Refused(403, f"{owner.domain} is suspended on this instance")
    return owner.owner_uri


async def _read_body(request: web.Request) -> bytes:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise Refused(413, f"the body is {request.content_length} bytes; the limit is {MAX_BODY}")
    if request.content_length is not None and "chunked" not in request.headers.get("Transfer-Encoding", ""):
        return await request.read()  # the parser delivers exactly Content-Length bytes, within the cap
    chunks, total = [], 0
    async for chunk in request.content.iter_chunked(64 * 1024):  # Content-Length may lie or be absent
        total += len(chunk)
        if total > MAX_BODY:
            raise Refused(413, f"the body is larger than the limit of {MAX_BODY} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


_CONTROL = re.compile(r"[\x00-\x20\x7f]")


def _storable(value: str) -> bool:
    # Indexed text columns: PostgreSQL refuses NUL bytes and lone surrogates (that would be a 500).
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return not _CONTROL.search(value)


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")  # NaN/Infinity: Python accepts them, PostgreSQL's json does not


def _envelope(body: bytes) -> tuple[dict, str, str, str]:
    try:
        doc = json_limits.loads(body, parse_constant=_no_constant)
    except json_limits.TooDeep as exc:
        raise Refused(400, str(exc)) from None
    except (UnicodeDecodeError, ValueError):
        raise Refused(400, "the body is not valid JSON") from None
    if not isinstance(doc, dict):
        raise Refused(400, "the body must be a JSON object (an activity)")
    id_, type_, actor = (parse_values.iri(doc.get("id")), parse_values.text(doc.get("type")),
                         parse_values.iri(doc.get("actor")))
    if not id_ or not type_ or not actor:
        raise Refused(400, "an activity needs an id, a type and an actor")
    if len(id_) > MAX_IRI or len(actor) > MAX_IRI or len(type_) > 64:
        raise Refused(400, "the activity's id, type or actor is too long")
    if not all(_storable(value) for value in (id_, type_, actor)):
        raise Refused(400, "the activity's id, type or actor contains control characters or invalid text")
    if not actor.startswith(("https://", "http://")):
        raise Refused(400, "the actor must be an http(s) IRI")
    try:
        parse.check_contexts(doc)
    except parse.ParseError as exc:
        raise Refused(400, exc.reason) from None
    return doc, id_, type_, actor


async def _recipient(ctx: Context, username: str | None) -> str:
    if username is None:
        return "shared"
    recipient = await lookups(ctx).recipient(username)
    if recipient is None:
        raise Refused(404, f"there is no user {username[:64]!r} here")
    return recipient


async def _key_owner(ctx: Context, key_id: str, stale: SigningKey | None = None) -> SigningKey:
    try:
        if stale is None:
            return await lookups(ctx).key(key_id)
        return await lookups(ctx).refreshed_key(key_id, stale)
    except resolver.ResolveError as exc:
        raise Refused(401, f"could not get the signing key {key_id[:200]}: {exc.message}") from None


async def _verify(ctx: Context, request: web.Request, body: bytes) -> SigningKey:
    """The key (and its owner) that signed this request; Refused(401) for any failure."""
    url = ctx.config.base_url + request.path_qs  # the public URL the sender signed, not our bind address
    try:
        signed = inbox_verify.read_signature(request.method, url, request.headers)
    except SignatureError as exc:
        raise Refused(401, exc.reason) from None
    owner = await _key_owner(ctx, signed.key_id)
    try:
        inbox_verify.check(signed, body, owner.pem)
        return owner
    except SignatureError as exc:
        if owner.fetched_at is not None and utcnow() - owner.fetched_at < REFETCH_AFTER:
            raise Refused(401, exc.reason) from None
    owner = await _key_owner(ctx, signed.key_id, stale=owner)  # the key may have been rotated since we cached it
    try:
        inbox_verify.check(signed, body, owner.pem)
    except SignatureError as exc:
        raise Refused(401, exc.reason) from None
    return owner


async def _proof(ctx: Context, doc: dict) -> str | None:
    """The actor whose FEP-8b32 proof the activity carries (None without one); Refused(401) for a bad proof."""
    try:
        proved_by = await proof_verify.verify(ctx, doc)
        if proved_by is not None and proved_by != doc.get("actor"):
            raise ProofError(f"the proof is made by {proved_by[:200]}, not by the activity's actor")
        await proof_verify.verify_embedded(ctx, doc)
    except ProofError as exc:
        raise Refused(401, f"invalid object integrity proof: {exc.reason}") from None
    return proved_by


async def _process(ctx: Context, request: web.Request, username: str | None) -> web.Response:
    body = await _read_body(request)
    doc, activity_id, activity_type, actor = _envelope(body)
    recipient = await _recipient(ctx, username)
    if await lookups(ctx).domain_policy(domain_of(actor)) == "suspend":
        raise Refused(403, f"{domain_of(actor)} is suspended on this instance")
    try:
        owner = await _verify(ctx, request, body)
    except Refused:
        # A deleted actor's farewell: its key is gone (404/410) and we never knew it. Nothing to do.
        if activity_type == "Delete" and parse_values.iri(doc.get("object")) == actor and \
                await resolver.cached_actor(ctx, actor) is None:
            return web.json_response({"status": "ignored"}, status=202)
        raise
    proved_by = await _proof(ctx, doc)
    # A copy relayed by another server (signed by the relay) is the actor's own when the actor's proof holds.
    if owner.owner_uri != actor and proved_by != actor:
        raise Refused(401, f"the request is signed by {owner.owner_uri}, not by the actor {actor[:200]}")
    item_id = await inbox_service.record(ctx, activity_id=activity_id, recipient=recipient, actor_uri=actor,
                                         activity_type=activity_type, payload=doc)
    if item_id is not None:
        metrics.INBOX_ACCEPTED.inc()
    return web.json_response({"status": "accepted" if item_id is not None else "duplicate"}, status=202)


async def receive(ctx: Context, request: web.Request, username: str | None) -> web.Response:
    try:
        return await _process(ctx, request, username)
    except Refused as exc:
        return web.json_response({"error": exc.reason}, status=exc.status)
    except BatchFailed:  # logged once for the whole batch by the batcher
        return web.json_response({"error": "temporarily unavailable; please retry"}, status=503,
                                 headers={"Retry-After": "60"})
    except Exception:
        # Our fault (database down...), not the sender's: ask them to retry rather than drop it.
        logging.getLogger(__name__).exception("inbox failed on %s", request.path)
        return web.json_response({"error": "temporarily unavailable; please retry"}, status=503,
                                 headers={"Retry-After": "60"})
