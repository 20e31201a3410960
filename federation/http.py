"""The one outgoing HTTP client per process, with the SSRF guard inside it.

Every connection resolves through GuardedResolver, so a host that resolves to a private, loopback,
link-local, multicast or reserved address is refused (unless `allow_private_addresses`), including after
redirects and DNS rebinding between check and connect. IP-literal URLs skip resolvers, so `check_url`
refuses those up front; callers follow redirects themselves and check each hop.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver
from aiohttp.resolver import DefaultResolver

from cara_fed.context import Context, ResourceKey

USER_AGENT = "cara-fed/0.1 (+https://w3id.org/cara-fed)"
SESSION = ResourceKey[aiohttp.ClientSession]("federation.http")


class BlockedAddress(aiohttp.ClientConnectionError):
    """The destination is a private or otherwise non-public address."""


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(url: str, allow_private: bool) -> None:
    """Refuse non-http(s) URLs and IP literals in non-public ranges. Host names are checked at resolve time."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BlockedAddress(f"{url[:200]} is not an http(s) URL")
    if allow_private:
        return
    host = parts.hostname
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
            raise BlockedAddress(f"{host} is a local name") from None
        return
    if not is_public(host):
        raise BlockedAddress(f"{host} is a private or reserved address")


class GuardedResolver(AbstractResolver):
    def __init__(self, allow_private: bool):
        self._inner = DefaultResolver()
        self._allow_private = allow_private

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[dict[str, Any]]:
        results = await self._inner.resolve(host, port, family)
        if not self._allow_private:
            blocked = [r["host"] for r in results if not is_public(r["host"])]
            if blocked:
                raise BlockedAddress(f"{host} resolves to a private or reserved address ({blocked[0]})")
        return results

    async def close(self) -> None:
        await self._inner.close()


def session(ctx: Context) -> aiohttp.ClientSession:
    """The process-wide client session (created on first use, on the running loop; closed with ctx)."""
    return ctx.resources.provide(SESSION, lambda: _new_session(ctx), usable=lambda found: not found.closed)


def _new_session(ctx: Context) -> aiohttp.ClientSession:
    allow = ctx.config.federation.allow_private_addresses
    connector = aiohttp.TCPConnector(resolver=GuardedResolver(allow), limit=200, limit_per_host=8, ttl_dns_cache=300)
    return aiohttp.ClientSession(connector=connector, headers={"User-Agent": USER_AGENT},
                                 timeout=aiohttp.ClientTimeout(total=30, connect=10), auto_decompress=True)
