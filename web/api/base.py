"""What every client-API endpoint shares: bearer-token authentication with per-endpoint scopes, JSON errors the way
Mastodon words them, CORS, X-RateLimit-* headers, request parameters (query, form, multipart or JSON, with
`name[]` arrays) and keyset pagination with Link headers."""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import orjson
from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from cara_fed import json_limits
from cara_fed.context import CONTEXT_KEY
from cara_fed.db import is_unavailable
from cara_fed.errors import NotFound, Overloaded, PermissionDenied, RateLimited, ValidationError
from cara_fed.numbers import INT4_MAX, INT8_MAX, clamp, parse_id, parse_whole
from cara_fed.observe import client_address
from cara_fed.queries_api import Window
from cara_fed.ratelimit import SharedLimiter
from cara_fed.services import oauth
from web import limits

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
BEARER = web.RequestKey("api_bearer", object)  # oauth.Bearer or None
API_PREFIXES = ("/api/", "/oauth/token", "/oauth/revoke", "/.well-known/oauth-authorization-server")
CORS_HEADERS = {"Access-Control-Allow-Origin": "*",
                "Access-Control-Expose-Headers": "Link, X-RateLimit-Limit, X-RateLimit-Remaining, "
                                                 "X-RateLimit-Reset, Idempotency-Key"}
PREFLIGHT = {**CORS_HEADERS, "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
             "Access-Control-Allow-Headers": "Authorization, Content-Type, Idempotency-Key, Accept",
             "Access-Control-Max-Age": "86400"}


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def not_found() -> ApiError:
    return ApiError(404, "Record not found")


def unprocessable(message: str) -> ApiError:
    return ApiError(422, message if message.startswith("Validation failed") else f"Validation failed: {message}")


def dumps(data: Any) -> str:
    return _encode(data).decode()


def _encode(data: Any) -> bytes:
    # orjson: a home timeline's 45 KB of JSON in ~20 µs instead of json's ~270 µs (bench/surge.py's costliest
    # request). Compact UTF-8 as json.dumps(ensure_ascii=False, separators=(",", ":")) wrote; keys that are not
    # strings (ids) become strings as json made them.
    return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)


def reply(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=_encode(data), status=status, content_type="application/json", charset="utf-8",
                        headers=headers)


def error_body(status: int, message: str) -> web.Response:
    return reply({"error": message}, status=status)


# --- rate limits ---------------------------------------------------------------------------------


WINDOW = 300


class RateLimiter:
    """A fixed 5-minute window per key (token or address), in this web process (like the media limiter)."""

    def __init__(self, limit: int, shared: SharedLimiter | None = None):
        self.limit = limit
        self.shared = shared  # Redis-backed, counted across processes ([cache] redis_url)
        self.windows: dict[str, tuple[int, int]] = {}

    async def count(self, key: str) -> tuple[int, int]:
        """hit(), across every process when Redis is configured."""
        if self.shared is not None:
            return await self.shared.hit(key)
        return self.hit(key)

    def hit(self, key: str) -> tuple[int, int]:
        """(remaining, window end as unix time); remaining < 0 means refused."""
        now = int(time.time())
        start = now - now % WINDOW
        window_start, count = self.windows.get(key, (start, 0))
        if window_start != start:
            count = 0
            if len(self.windows) > 50_000:
                self.windows.clear()
        count += 1
        self.windows[key] = (start, count)
        return self.limit - count, start + WINDOW


LIMITER = web.AppKey("api_rate_limiter", RateLimiter)


def _limit_headers(limit: int, remaining: int, reset: int) -> dict[str, str]:
    return {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(max(0, remaining)),
            "X-RateLimit-Reset": datetime.fromtimestamp(reset, UTC).isoformat().replace("+00:00", "Z")}


@web.middleware
async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """JSON errors, CORS and rate limits for the API paths; other paths pass through untouched."""
    if not request.path.startswith(API_PREFIXES):
        return await handler(request)
    if request.method == "OPTIONS":
        return web.Response(status=204, headers=PREFLIGHT)
    limiter = request.app[LIMITER]
    headers = dict(CORS_HEADERS)
    if limiter.limit and request.path.startswith("/api/"):
        auth = request.headers.get("Authorization", "")
        key = "t:" + oauth.digest(auth)[:32] if auth else "a:" + client_address(request)
        remaining, reset = await limiter.count(key)
        headers.update(_limit_headers(limiter.limit, remaining, reset))
        if remaining < 0:
            response = error_body(429, "Too many requests")
            response.headers.update({**headers, "Retry-After": str(max(1, reset - int(time.time())))})
            return response
    try:
        # Body caps (web/limits.py): small before authentication; uploads only with a valid token.
        request = limits.capped(request, await _signed_in(request))
        try:
            response = await handler(request)
        except web.HTTPRequestEntityTooLarge:
            raise ApiError(413, limits.too_large_message(request.client_max_size)) from None
    except ApiError as exc:
        response = error_body(exc.status, exc.message)
        response.headers.update(exc.headers)
    except NotFound:
        response = error_body(404, "Record not found")
    except PermissionDenied as exc:
        response = error_body(403, str(exc) or "This action is not allowed")
    except ValidationError as exc:
        response = error_body(422, "Validation failed: " + "; ".join(exc.errors.values()))
    except RateLimited as exc:
        response = error_body(429, str(exc))
        response.headers["Retry-After"] = str(exc.retry_after)
    except Overloaded as exc:
        response = error_body(503, str(exc))
        response.headers["Retry-After"] = str(exc.retry_after)
    except web.HTTPException as exc:
        if exc.status < 400:
            exc.headers.update(headers)
            raise
        message = exc.text if exc.text and not exc.text.startswith(str(exc.status)) else exc.reason
        response = error_body(exc.status, message)
        if exc.status == 405 and "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
    except Exception as exc:
        if is_unavailable(exc):
            log.warning("database unavailable on %s %s: %s", request.method, request.path, exc)
            response = error_body(503, "The server cannot reach its database right now; please retry shortly.")
            response.headers["Retry-After"] = "30"
        else:
            log.exception("unhandled error on %s %s", request.method, request.path)
            response = error_body(500, "Something went wrong on our side; it has been logged.")
    if not response.prepared:  # streams (SSE, WebSocket) sent their own headers already
        response.headers.update(headers)
    return response


# --- authentication and scopes -------------------------------------------------------------------


async def _signed_in(request: web.Request) -> bool:
    """Whether an unsafe request carries a valid user token (a bad one is refused later, by the endpoint)."""
    if request.method not in limits.UNSAFE or bearer_token(request) is None:
        return False
    try:
        found = await bearer(request)
    except ApiError:
        return False
    return found is not None and found.account is not None


def bearer_token(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return None


async def bearer(request: web.Request) -> oauth.Bearer | None:
    """The request's token (cached on the request); None when it sent none. Raises 401 for a bad one."""
    if BEARER in request:
        return request[BEARER]  # type: ignore[return-value]
    raw = bearer_token(request)
    found = None
    if raw is not None:
        try:
            found = await oauth.resolve_bearer(request.app[CONTEXT_KEY], raw)
        except oauth.TokenRefused as exc:
            raise ApiError(401, str(exc)) from None
    request[BEARER] = found
    return found


def endpoint(scope: str | None = None, *, user: bool = True, public: bool = False) -> Callable[[Handler], Handler]:
    """Declare an endpoint's needs: `scope` (e.g. "read:statuses"), whether it acts for a user (an app's own
    client-credentials token gets 422, as on Mastodon), and whether anonymous requests may read it."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def run(request: web.Request) -> web.StreamResponse:
            found = await bearer(request)
            if found is None:
                if not public:
                    raise ApiError(401, "The access token is invalid")
                return await handler(request)
            if scope is not None and not found.allows(scope):
                raise ApiError(403, "This action is outside the authorized scopes")
            if user and found.account is None:
                raise ApiError(422, "This method requires an authenticated user")
            return await handler(request)

        run.api_scope = scope  # type: ignore[attr-defined]  # read by the scope table in docs and tests
        return run

    return wrap


async def viewer(request: web.Request):  # type: ignore[no-untyped-def]
    """The account the token speaks for, or None (anonymous or app token)."""
    found = await bearer(request)
    return found.account if found is not None else None


async def me(request: web.Request):  # type: ignore[no-untyped-def]
    account = await viewer(request)
    if account is None:
        raise ApiError(422, "This method requires an authenticated user")
    return account


# --- parameters ----------------------------------------------------------------------------------


@dataclass
class Params:
    """Request parameters from the query string and the body (form, multipart or JSON), Mastodon style:
    `media_ids[]=1&media_ids[]=2` or {"media_ids": [1, 2]}; nested `cara[title]=…` or {"cara": {"title": …}}."""

    values: MultiDict

    def get(self, name: str, default: Any = None) -> Any:
        for key in (name, f"{name}[]"):
            if key in self.values:
                return self.values.getone(key)
        return default

    def text(self, name: str, default: str = "") -> str:
        value = self.get(name)
        if value is None:
            return default
        if isinstance(value, (dict, list, web.FileField)):
            raise unprocessable(f"{name} must be text")
        return value if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)

    def has(self, name: str) -> bool:
        return name in self.values or f"{name}[]" in self.values

    def list(self, name: str) -> list[Any]:
        found: list[Any] = []
        for key in (name, f"{name}[]"):
            for value in self.values.getall(key, []):
                found.extend(value if isinstance(value, list) else [value])
        return found

    def flag(self, name: str, default: bool | None = None) -> bool | None:
        value = self.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in ("1", "true", "on", "yes", "t")

    def number(self, name: str, default: int | None = None) -> int | None:
        value = self.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, str):
            value = value.strip()
            number = parse_whole(value.removeprefix("-"))
            if number is not None:
                return -number if value.startswith("-") else number
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) <= INT8_MAX:
            return value
        raise unprocessable(f"{name} must be a whole number")

    def nested(self, name: str) -> Params:
        """`name[key]` form fields (and `name[key][]` arrays), or a JSON object under `name`."""
        out: MultiDict = MultiDict()
        value = self.values.get(name)
        if isinstance(value, dict):
            for key, item in value.items():
                out.add(key, item)
        prefix = f"{name}["
        for key, item in self.values.items():
            if key.startswith(prefix) and "]" in key:
                inner = key[len(prefix):]
                field, _, rest = inner.partition("]")
                out.add(field + rest, item)
        return Params(out)

    def indexed(self, name: str) -> list[Params]:
        """`name[0][key]=…` form fields or a JSON list of objects (fields_attributes, media_attributes)."""
        value = self.values.get(name) or self.values.get(f"{name}[]")
        if isinstance(value, list):
            return [Params(MultiDict(item)) for item in value if isinstance(item, dict)]
        if isinstance(value, dict):  # {"0": {...}, "1": {...}}
            return [Params(MultiDict(item)) for _, item in sorted(value.items()) if isinstance(item, dict)]
        groups: dict[str, MultiDict] = {}
        prefix = f"{name}["
        for key, item in self.values.items():
            if key.startswith(prefix):
                index, _, rest = key[len(prefix):].partition("]")
                if rest.startswith("[") and rest.endswith("]"):
                    groups.setdefault(index, MultiDict()).add(rest[1:-1], item)
                elif index == "" and isinstance(item, str):  # name[][key] is not used by clients; ignore
                    continue
        return [Params(groups[k]) for k in sorted(groups, key=lambda k: (len(k), k))]


async def params(request: web.Request) -> Params:
    values: MultiDict = MultiDict(request.query)
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and request.body_exists:  # (a form already read is cached)
        if request.content_type == "application/json":
            try:
                body = await request.json(loads=json_limits.loads)
            except json_limits.TooDeep as exc:
                raise ApiError(400, f"The request body is refused: {exc}") from None
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise ApiError(400, "The request body is not valid JSON") from None
            if not isinstance(body, dict):
                raise ApiError(400, "The request body must be a JSON object")
            for key, value in body.items():
                values.add(key, value)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form: MultiDictProxy = await request.post()
            for key, value in form.items():
                values.add(key, value)
    return Params(values)


# --- ids and pagination --------------------------------------------------------------------------


def int_id(raw: str | None) -> int:
    """A path id: digits within the database's range, else 404 (never a 500 from an overflow)."""
    number = parse_id(raw)
    if number is None:
        raise not_found()
    return number


def window(request: web.Request, default: int = 20, most: int = 40) -> Window:
    def bound(name: str) -> int | None:
        raw = request.query.get(name, "")
        if not raw:
            return None
        number = parse_whole(raw)
        if number is None:
            raise ApiError(400, f"{name} must be an id")
        return min(number, INT4_MAX)  # windowed ids are int4: a bigger bound means "no bound" (no overflow)

    limit = clamp(request.query.get("limit"), default, least=1, most=most)
    return Window(bound("max_id"), bound("since_id"), bound("min_id"), limit)


def link_header(request: web.Request, ids: list[int | str], *, more: bool = True) -> dict[str, str]:
    """Mastodon's Link header: `next` pages to older items (max_id), `prev` to newer ones (min_id)."""
    if not ids:
        return {}
    ctx = request.app[CONTEXT_KEY]
    keep = [(k, v) for k, v in request.query.items() if k not in ("max_id", "min_id", "since_id")]
    base = ctx.url(request.path)
    links = []
    if more:
        links.append(f'<{base}?{urlencode([*keep, ("max_id", str(ids[-1]))])}>; rel="next"')
    links.append(f'<{base}?{urlencode([*keep, ("min_id", str(ids[0]))])}>; rel="prev"')
    return {"Link": ", ".join(links)}
