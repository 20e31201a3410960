"""Outgoing GETs for the inbound side: actor documents, keys, objects, WebFinger and remote media.

Everything goes through the SSRF-guarded session (`federation.http.session`). Redirects are followed by
hand so that every hop is checked again; the body is streamed with a byte cap (Content-Length is only a
hint); one deadline covers the whole chain. Failures are `FetchError`s with a short `code` the callers
use to decide between "give up" (permanent) and "try again later" (transient).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urljoin

import aiohttp

from cara_fed.context import Context
from cara_fed.models import Account
from federation.http import BlockedAddress, check_url, session
from federation.signatures import sign_request
from federation.wire.serialize import actor_id

AP_ACCEPT = 'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
AP_TYPES = ("application/activity+json", "application/ld+json", "application/json")
MAX_REDIRECTS = 5
MAX_DOCUMENT_BYTES = 1024 * 1024
REDIRECTS = {301, 302, 303, 307, 308}
PERMANENT = {"blocked_address", "too_large", "bad_type", "too_many_redirects", "bad_url", "bad_document"}


class FetchError(Exception):
    """A GET that did not give us a usable answer. `code`: blocked_address, too_large, timeout, http_status,
    bad_type, too_many_redirects, bad_url, network, bad_document (not the JSON asked for). `status` is the HTTP
    status where there was one."""

    def __init__(self, code: str, message: str, status: int | None = None):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status

    @property
    def permanent(self) -> bool:
        """Trying again will not help (a 4xx other than 408/429, a private address, a wrong type...)."""
        if self.code == "http_status":
            return self.status is not None and 400 <= self.status < 500 and self.status not in (408, 429)
        return self.code in PERMANENT


@dataclass(frozen=True)
class FetchResult:
    url: str  # after redirects
    status: int
    content_type: str
    body: bytes


def _type_ok(content_type: str, types: Iterable[str] | None) -> bool:
    # Entries ending in "/" are prefixes ("image/"); others must match exactly.
    return types is None or any(content_type.startswith(t) if t.endswith("/") else content_type == t
                                for t in types)


async def _read_capped(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    declared = response.content_length
    if declared is not None and declared > max_bytes:
        raise FetchError("too_large", f"{response.url} is {declared} bytes; the limit is {max_bytes}")
    chunks, total = [], 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        total += len(chunk)
        if total > max_bytes:  # a lying or missing Content-Length (or a compressed bomb) stops here
            raise FetchError("too_large", f"{response.url} is larger than the limit of {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _headers(ctx: Context, url: str, accept: str, signer: Account | None) -> dict[str, str]:
    headers = {"Accept": accept}
    if signer is not None and signer.private_key_pem:
        key_id = actor_id(ctx, signer) + "#main-key"  # /actor for the instance actor, /users/{name} else
        headers.update(sign_request("GET", url, {}, None, key_id, signer.private_key_pem))
    return headers


async def _fetch(ctx: Context, url: str, accept: str, max_bytes: int, signer: Account | None,
                 types: Iterable[str] | None) -> FetchResult:
    allow_private = ctx.config.federation.allow_private_addresses
    client = session(ctx)
    current = url
    for _hop in range(MAX_REDIRECTS + 1):
        check_url(current, allow_private)
        # Signed afresh per hop: the signature covers the target, which changes with each redirect.
        async with client.get(current, headers=_headers(ctx, current, accept, signer),
                              allow_redirects=False) as response:
            if response.status in REDIRECTS:
                location = response.headers.get("Location")
                if not location:
                    raise FetchError("http_status", f"{current} redirects nowhere", response.status)
                current = urljoin(current, location)
                continue
            if not 200 <= response.status < 300:
                raise FetchError("http_status", f"{current} answered HTTP {response.status}", response.status)
            content_type = response.content_type.lower()
            if not _type_ok(content_type, types):
                raise FetchError("bad_type", f"{current} is {content_type or 'untyped'}, not what we asked for")
            body = await _read_capped(response, max_bytes)
            return FetchResult(current, response.status, content_type, body)
    raise FetchError("too_many_redirects", f"{url} redirects more than {MAX_REDIRECTS} times")


async def fetch(ctx: Context, url: str, *, accept: str = AP_ACCEPT, max_bytes: int = MAX_DOCUMENT_BYTES,
                timeout: float = 20, signer: Account | None = None,  # noqa: ASYNC109 (one deadline per chain)
                types: Iterable[str] | None = None) -> FetchResult:
    """GET `url` safely. `types` limits the accepted Content-Types (None: anything). Raises FetchError."""
    try:
        async with asyncio.timeout(timeout):
            return await _fetch(ctx, url, accept, max_bytes, signer, types)
    except TimeoutError:
        raise FetchError("timeout", f"{url} did not answer within {timeout:g} s") from None
    except BlockedAddress as exc:
        raise FetchError("blocked_address", f"refused to fetch {url[:200]}: {exc}") from None
    except aiohttp.InvalidURL as exc:
        raise FetchError("bad_url", f"{url[:200]} is not a usable URL: {exc}") from None
    except (aiohttp.ClientError, OSError) as exc:
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, BlockedAddress) or "private or reserved" in str(exc):
            raise FetchError("blocked_address", f"refused to fetch {url[:200]}: {cause or exc}") from None
        raise FetchError("network", f"could not fetch {url[:200]}: {exc}") from None
    except ValueError as exc:  # yarl/aiohttp refuse some malformed URLs with a plain ValueError
        raise FetchError("bad_url", f"{url[:200]} is not a usable URL: {exc}") from None
