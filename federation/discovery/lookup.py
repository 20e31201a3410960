"""What a pasted handle or address names, for `/authorize_interaction?uri=…` (follow and like from other
sites): a local or remote account, or an artwork (a remote one is fetched, identity-checked and stored).

Accepted: `acct:name@host`, `@name@host`, `name@host`, an actor URL (or its profile page), an object URL.
Everything that goes wrong becomes a LookupFailed with a sentence for the person.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from cara_fed.context import Context
from cara_fed.directory import LookupFailed, split_handle
from cara_fed.errors import PermissionDenied
from cara_fed.models import Account, Artwork
from cara_fed.queries import local_account
from cara_fed.services import remote
from cara_fed.services.instances import domain_verdict
from federation.discovery import resolver
from federation.discovery.local import local_artwork_from, local_from
from federation.wire import parse, parse_actors, parse_artworks, parse_values

MAX_URI = 2000
UNSUPPORTED = ("Only artists' accounts and artworks can be followed or liked here; open this address on its own "
               "server instead.")


def _failed(exc: resolver.ResolveError, what: str) -> LookupFailed:
    if exc.code == "blocked_address":
        return LookupFailed(f"{what} is not on a public server.")
    if exc.code == "http_status" and exc.status in (401, 403):
        return LookupFailed(f"{what} is not public.")
    if exc.code in ("http_status", "not_found") and exc.status in (404, 410, None):
        return LookupFailed(f"Nothing was found at {what}.")
    if exc.transient:
        return LookupFailed(f"The server of {what} did not answer; try again in a moment.")
    return LookupFailed(f"{what} could not be read ({exc.message[:160]}).")


async def _refuse_blocked(ctx: Context, domain: str) -> None:
    async with ctx.sessions() as session:
        if await domain_verdict(session, ctx.config, domain) == "suspend":
            raise LookupFailed(f"This server does not federate with {domain}.")


async def _handle(ctx: Context, value: str) -> Account:
    username, host = split_handle(value[5:] if value.lower().startswith("acct:") else value)
    if host == ctx.config.server.domain.lower():
        async with ctx.sessions() as session:
            account = await local_account(session, username)
        if account is None or account.status != "active" or account.kind == "application":
            raise LookupFailed(f"There is no one called @{username} here.")
        return account
    await _refuse_blocked(ctx, host)
    try:
        return await resolver.webfinger(ctx, f"{username}@{host}")
    except resolver.ResolveError as exc:
        raise _failed(exc, f"@{username}@{host}") from None


async def _local(ctx: Context, url: str) -> Account | Artwork:
    account = await local_from(ctx, url)
    if account is not None and account.kind != "application":
        return account
    work = await local_artwork_from(ctx, url)
    if work is not None:
        return work
    raise LookupFailed("That address on this server is not an artist or an artwork.")


async def _remote_artwork(ctx: Context, url: str, final: str, doc: dict) -> Artwork:
    doc_id = parse_values.iri(doc.get("id"))
    if doc_id and doc_id not in (url, final) and remote.domain_of(doc_id) == remote.domain_of(final):
        url = doc_id  # a page URL of the work: its id is the object itself
        final, raw = await resolver.fetch_document(ctx, url)
        doc = parse.normalize(raw)
    resolver.check_identity(parse_values.iri(doc.get("id")), url, final)
    data = parse_artworks.artwork(doc)
    if not data.images:
        raise LookupFailed("That post has no pictures. " + UNSUPPORTED)
    if not data.attributed_to or remote.domain_of(data.uri) != remote.domain_of(data.attributed_to):
        raise LookupFailed("That post names an author on another server than the post; it cannot be trusted.")
    author = await resolver.fetch_actor(ctx, data.attributed_to)
    try:
        return await remote.upsert_artwork(ctx, author, data)
    except PermissionDenied as exc:
        raise LookupFailed(str(exc)) from None


async def _url(ctx: Context, url: str) -> Account | Artwork:
    if resolver.is_local(ctx, url):
        return await _local(ctx, url)
    await _refuse_blocked(ctx, remote.domain_of(url))
    try:
        final, raw = await resolver.fetch_document(ctx, url)
        doc = parse.normalize(raw)
        kind = parse_values.type_of(doc)
        if kind in parse_actors.ACTOR_TYPES:
            account = await resolver.fetch_actor(ctx, url)
            if account.actor_type == "Application":
                raise LookupFailed("That is a server's own account, not a person to follow.")
            return account
        if kind in parse_artworks.ARTWORK_TYPES:
            return await _remote_artwork(ctx, url, final, doc)
    except resolver.ResolveError as exc:
        raise _failed(exc, url[:200]) from None
    except parse.ParseError as exc:
        raise LookupFailed(f"{url[:200]} could not be read ({exc.reason[:160]}).") from None
    raise LookupFailed(f"That address is {('a ' + kind) if kind else 'not an ActivityPub object'}. {UNSUPPORTED}")


async def resolve_uri(ctx: Context, uri: str) -> Account | Artwork:
    value = uri.strip()
    if not value or len(value) > MAX_URI:
        raise LookupFailed("Give the address of an account or an artwork (or a handle like @name@server).",
                           bad_input=True)
    if value.lower().startswith(("http://", "https://")):
        parts = urlsplit(value)
        if not parts.hostname or any(c.isspace() for c in value):
            raise LookupFailed("That is not a usable address.", bad_input=True)
        return await _url(ctx, value)
    return await _handle(ctx, value)
