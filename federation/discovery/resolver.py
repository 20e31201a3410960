"""Remote actors, keys and objects by URI: a GET signed by the instance actor, identity checks, then the
core's `remote.upsert_actor`. The accounts table is the cache (`fetched_at`).

Identity rule: a document's `id` must be the URL we asked for or the URL we ended at after redirects,
and on the host that actually served it, so no server can publish an actor for another domain.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import select

from cara_fed import json_limits
from cara_fed.context import Context
from cara_fed.db import utcnow
from cara_fed.errors import PermissionDenied
from cara_fed.models import Account
from cara_fed.services.accounts import ensure_instance_actor
from cara_fed.services.remote import RemoteActor, domain_of, upsert_actor
from federation.discovery.finger import finger, links
from federation.discovery.net import AP_ACCEPT, AP_TYPES, FetchError, fetch
from federation.wire import parse, parse_actors, parse_values

ACTOR_TTL = timedelta(days=1)


class ResolveError(Exception):
    """Could not get a trustworthy document. `transient`: worth trying again later (timeouts, 5xx)."""

    def __init__(self, code: str, message: str, transient: bool = False, status: int | None = None):
        super().__init__(message)
        self.code, self.message, self.transient, self.status = code, message, transient, status


def _from_fetch(exc: FetchError) -> ResolveError:
    return ResolveError(exc.code, exc.message, transient=not exc.permanent, status=exc.status)


def is_local(ctx: Context, uri: str) -> bool:
    return uri == ctx.config.base_url or uri.startswith(ctx.config.base_url + "/")


async def fetch_document(ctx: Context, uri: str) -> tuple[str, dict]:
    """(final URL, raw JSON object) of an ActivityPub document, fetched with a signed GET."""
    if is_local(ctx, uri):
        raise ResolveError("local", f"{uri[:200]} is one of ours; nothing to fetch")
    signer = await ensure_instance_actor(ctx)
    try:
        result = await fetch(ctx, uri, accept=AP_ACCEPT, types=AP_TYPES, signer=signer)
    except FetchError as exc:
        raise _from_fetch(exc) from None
    try:
        doc = json_limits.loads(result.body)
    except (UnicodeDecodeError, ValueError):
        raise ResolveError("bad_document", f"{uri[:200]} is not JSON") from None
    if not isinstance(doc, dict):
        raise ResolveError("bad_document", f"{uri[:200]} is not a JSON object")
    return result.url, doc


def _normalize(uri: str, doc: dict) -> dict:
    try:
        return parse.normalize(doc)
    except parse.ParseError as exc:
        raise ResolveError("bad_document", f"{uri[:200]}: {exc.reason}") from None


def check_identity(doc_id: str | None, requested: str, final: str) -> None:
    if not doc_id or doc_id not in (requested, final) or domain_of(doc_id) != domain_of(final):
        raise ResolveError("id_mismatch", f"the document at {final[:200]} claims to be {str(doc_id)[:200]}")


async def fetch_object(ctx: Context, uri: str) -> dict:
    """A compacted remote object (e.g. the Note of a Create that only names it), identity-checked."""
    final, raw = await fetch_document(ctx, uri)
    doc = _normalize(uri, raw)
    check_identity(parse_values.iri(doc.get("id")), uri, final)
    return doc


async def _stored(ctx: Context, **where: str) -> Account | None:
    async with ctx.sessions() as session:
        clauses = [getattr(Account, name) == value for name, value in where.items()]
        return await session.scalar(select(Account).where(*clauses, Account.domain.is_not(None)))


async def _upsert(ctx: Context, remote: RemoteActor) -> Account:
    try:
        return await upsert_actor(ctx, remote)
    except PermissionDenied as exc:
        raise ResolveError("local", str(exc)) from None


async def cached_actor(ctx: Context, uri: str) -> Account | None:
    """The stored copy of a remote actor, however old (no network)."""
    return await _stored(ctx, uri=uri)


async def fetch_actor(ctx: Context, uri: str, *, refresh: bool = False, key_id: str | None = None) -> Account:
    """The remote actor at `uri`, from the cache when fetched within a day, else fetched and stored."""
    if not refresh:
        account = await _stored(ctx, uri=uri)
        if account is not None and account.fetched_at and utcnow() - account.fetched_at < ACTOR_TTL:
            return account
    return (await fresh_actor(ctx, uri, key_id=key_id))[0]


async def fresh_actor(ctx: Context, uri: str, *, key_id: str | None = None) -> tuple[Account, list[str]]:
    """The remote actor at `uri`, fetched now and stored, with the `alsoKnownAs` its document lists (a move
    is allowed only onto an actor that names the old one there, and that must not come from a stale copy)."""
    final, raw = await fetch_document(ctx, uri)
    doc = _normalize(uri, raw)
    doc_id = parse_values.iri(doc.get("id"))
    if doc_id and doc_id not in (uri, final) and domain_of(doc_id) == domain_of(final) and not is_local(ctx, doc_id):
        # Another URL of the same server (a profile alias): trust only what the id itself serves.
        final, raw = await fetch_document(ctx, doc_id)
        uri, doc = doc_id, _normalize(doc_id, raw)
    check_identity(parse_values.iri(doc.get("id")), uri, final)
    try:
        remote = parse_actors.actor(doc, key_id)
    except parse.ParseError as exc:
        raise ResolveError("bad_document", f"{uri[:200]}: {exc.reason}") from None
    return await _upsert(ctx, remote), parse_values.iris(doc.get("alsoKnownAs"))[:100]


async def key_for(ctx: Context, key_id: str, *, refresh: bool = False) -> Account:
    """The remote actor owning `key_id`. The key document may be the actor itself, a standalone key with
    an `owner`, or a stub; in the last two cases the owner's own document must publish the key."""
    if is_local(ctx, key_id):
        raise ResolveError("local", "a remote request cannot be signed with one of our keys")
    if not refresh:
        account = await _stored(ctx, key_id=key_id)
        # A stored owner on another origin than its key is a squatter from before keys had to live on their
        # actor's server: ask the key's own server instead (the owner found there takes the key id back).
        if account is not None and parse_values.same_origin(account.uri or "", key_id):
            return account
    url = key_id.split("#", 1)[0]
    final, raw = await fetch_document(ctx, url)
    doc = _normalize(url, raw)
    doc_id = parse_values.iri(doc.get("id"))
    if parse_values.type_of(doc) in parse_actors.ACTOR_TYPES and doc_id in (url, final) \
            and domain_of(doc_id) == domain_of(final):
        try:
            account = await _upsert(ctx, parse_actors.actor(doc, key_id))
        except parse.ParseError as exc:
            raise ResolveError("bad_document", f"{url[:200]}: {exc.reason}") from None
    else:
        owner = doc_id if parse_values.type_of(doc) in parse_actors.ACTOR_TYPES else parse_values.iri(doc.get("owner"))
        if not owner:
            raise ResolveError("bad_document", f"{url[:200]} is neither an actor nor a key with an owner")
        account = await fetch_actor(ctx, owner, refresh=True, key_id=key_id)
    if account.key_id != key_id:
        raise ResolveError("key_mismatch", f"{account.uri} does not publish the key {key_id[:200]}")
    return account


def _acct(handle: str) -> tuple[str, str]:
    name, _, host = handle.strip().removeprefix("acct:").lstrip("@").rpartition("@")
    if not name or not host or urlsplit(f"//{host}").hostname is None or "/" in host:
        raise ResolveError("bad_handle", f"{handle[:100]!r} is not a name@host handle")
    return name, host.lower()


async def webfinger(ctx: Context, handle: str) -> Account:
    """`name@host` -> the remote actor its WebFinger `self` link names."""
    name, host = _acct(handle)
    account = await _stored(ctx, username=name.lower(), domain=host)
    if account is not None and account.fetched_at and utcnow() - account.fetched_at < ACTOR_TTL:
        return account
    try:
        jrd = await finger(ctx, host, f"acct:{name}@{host}")
    except FetchError as exc:
        raise _from_fetch(exc) from None
    href = next((link.get("href") for link in links(jrd) if link.get("rel") == "self"
                 and str(link.get("type", "")).split(";")[0].strip() in AP_TYPES[:2]
                 and isinstance(link.get("href"), str)), None)
    if not href:
        raise ResolveError("not_found", f"{name}@{host} has no ActivityPub actor")
    return await fetch_actor(ctx, href, refresh=True)
