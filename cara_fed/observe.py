"""Who is asking: the client address and scheme behind trusted reverse proxies, and a request id.

Behind nginx every socket peer is the proxy, so per-client limits (logins, media, API) would share one
bucket. X-Forwarded-For / Forwarded / X-Forwarded-Proto are believed only when the peer is one of
`[server] trusted_proxies`; anybody else could write those headers themselves.

`client_address(request)` is the one way web, federation and services read the visitor's address.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from cara_fed.request_context import REQUEST_ID  # lives there (no aiohttp) so services can read it too

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
UNIX = "unix"  # the trusted_proxies entry for a proxy on a Unix socket (no peer address)
REQUEST_ID_HEADER = "X-Request-Id"
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_FORWARDED_FOR_RE = re.compile(r'(?:^|[;,\s])for=(?:"([^"]*)"|([^;,\s]*))', re.IGNORECASE)
_FORWARDED_PROTO_RE = re.compile(r'(?:^|[;,\s])proto=(?:"([^"]*)"|([^;,\s]*))', re.IGNORECASE)
access_log = logging.getLogger("cara_fed.access")


@dataclass(frozen=True)
class Trust:
    networks: tuple[IPNetwork, ...]
    unix: bool = False

    def trusts(self, address: str | None) -> bool:
        if not address:  # a Unix-socket peer has no address
            return self.unix
        ip = _ip(address)
        return ip is not None and any(ip in network for network in self.networks)


@dataclass(frozen=True)
class Client:
    address: str
    scheme: str
    request_id: str


CLIENT_KEY = web.RequestKey("cara_fed.client", Client)


class RequestLike(Protocol):
    remote: str | None
    headers: Mapping[str, str]

    def get(self, key: Any, default: Any = None) -> Any: ...


def parse_networks(entries: Iterable[str]) -> Trust:
    """"10.0.0.0/8", "127.0.0.1", "::1", "unix" → Trust; raises ValueError naming a bad entry."""
    networks: list[IPNetwork] = []
    unix = False
    for entry in entries:
        if not isinstance(entry, str):
            raise ValueError(f"{entry!r} is not an address or network")
        if entry.strip().lower() == UNIX:
            unix = True
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(f"'{entry}' is not an IP address or network (CIDR), nor \"unix\"") from None
    return Trust(tuple(networks), unix)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip().strip('"')
    if text.startswith("["):  # Forwarded: for="[2001:db8::1]:4711"
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:  # 192.0.2.1:4711
        text = text.split(":", 1)[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _hops(headers: Mapping[str, str]) -> tuple[list[str], str | None]:
    """The forwarding chain (client first) and the scheme the first proxy saw, from the standard header when
    present, else from the X-Forwarded-* pair nginx writes."""
    forwarded = headers.get("Forwarded")
    if forwarded:
        hops = [quoted or bare for quoted, bare in _FORWARDED_FOR_RE.findall(forwarded)]
        protos = [quoted or bare for quoted, bare in _FORWARDED_PROTO_RE.findall(forwarded)]
        return hops, (protos[-1] if protos else None)
    chain = ",".join(headers.getall("X-Forwarded-For", []) if hasattr(headers, "getall")
                     else [headers.get("X-Forwarded-For", "")])
    proto = headers.get("X-Forwarded-Proto")
    return [hop.strip() for hop in chain.split(",") if hop.strip()], proto.split(",")[0].strip() if proto else None


def resolve_client(peer: str | None, scheme: str, headers: Mapping[str, str], trust: Trust) -> tuple[str, str]:
    """(address, scheme) of the visitor. Walk the chain from the nearest hop back while each hop is a trusted
    proxy; the first untrusted one is the client (whatever it claims before that is its own invention)."""
    if not trust.trusts(peer):
        return peer or "unknown", scheme
    hops, proto = _hops(headers)
    address = peer or "unknown"
    for hop in reversed(hops):
        ip = _ip(hop)
        if ip is None:  # "unknown", an obfuscated name or garbage: the last hop we could place stands
            break
        address = str(ip)
        if not trust.trusts(address):
            break
    if proto and proto.lower() in ("http", "https"):
        scheme = proto.lower()
    return address, scheme


def client(request: RequestLike) -> Client:
    found = request.get(CLIENT_KEY)
    if found is not None:
        return found
    return Client(request.remote or "unknown", getattr(request, "scheme", "http"), "-")


def client_address(request: RequestLike) -> str:
    """The visitor's address (trusted proxies resolved); per-client limits key on this."""
    return client(request).address


def request_id(request: RequestLike) -> str:
    return client(request).request_id


def new_request_id() -> str:
    """16 hex digits. A label for logs, not a secret: the module's generator (reseeded in each forked process)
    instead of the system's, whose read cost 2.8 % of an inbox POST's CPU."""
    return f"{random.getrandbits(64):016x}"


def middleware(trust: Trust) -> Any:
    """Outermost: resolve the client once, give every request an id (a trusted proxy's, or a new one) that
    comes back in the response and the access log."""

    @web.middleware
    async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
        address, scheme = resolve_client(request.remote, request.scheme, request.headers, trust)
        sent = request.headers.get(REQUEST_ID_HEADER, "")
        rid = sent if trust.trusts(request.remote) and _REQUEST_ID_RE.match(sent) else new_request_id()
        request[CLIENT_KEY] = Client(address, scheme, rid)
        REQUEST_ID.set(rid)  # each request runs in its own task: this never leaks into another
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            response.headers[REQUEST_ID_HEADER] = rid
            return response
        except web.HTTPException as exc:
            status = exc.status
            exc.headers[REQUEST_ID_HEADER] = rid
            raise
        finally:
            elapsed = time.perf_counter() - started
            if access_log.isEnabledFor(logging.INFO):
                access_log.info("%s %s %s %d %.1fms", address, request.method, request.path_qs, status,
                                elapsed * 1000, extra={"request_id": rid, "client": address,
                                                       "method": request.method, "path": request.path,
                                                       "status": status, "ms": round(elapsed * 1000, 1)})
            _record(request, status, elapsed)

    return observe


def _record(request: web.Request, status: int, elapsed: float) -> None:
    from cara_fed import metrics  # imported late: the multi-process setting must be in place first

    route = request.match_info.route.resource
    name = route.canonical if route is not None else "unmatched"
    metrics.REQUEST_SECONDS.labels(request.method, name, str(status)).observe(elapsed)


# --- logs ------------------------------------------------------------------------------------------

ACCESS_FIELDS = ("client", "method", "path", "status", "ms")


class RequestIdFilter(logging.Filter):
    """Stamps every record with the current request id (a job's: the request that queued it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line, for log collectors: time, level, logger, message, request_id, and for access
    lines the client, method, path, status and milliseconds as fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname,
                                 "logger": record.name, "message": record.getMessage(),
                                 "request_id": getattr(record, "request_id", REQUEST_ID.get())}
        entry.update({name: getattr(record, name) for name in ACCESS_FIELDS if hasattr(record, name)})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def configure_logging(log_format: str) -> None:
    """Root handlers get request ids, and the JSON or text layout ([server] log_format)."""
    formatter = JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    for handler in logging.getLogger().handlers:
        handler.addFilter(RequestIdFilter())
        handler.setFormatter(formatter)
