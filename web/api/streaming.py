"""The streaming API: /api/v1/streaming over WebSocket (subscribe / unsubscribe messages, the token as the
WebSocket protocol or `access_token`) and Server-Sent Events (/api/v1/streaming/user, /public, …).

Streams: `user` (new works in the home timeline, and notifications), `user:notification`, `public`,
`public:local`, `public:remote`, `hashtag` and `hashtag:local` (with `tag`). Events: `update` (a Status, as a
JSON string, Mastodon's framing) and `notification`. Deletions and edits are not streamed (apps see them on the
next fetch).

Each web process runs one poller while anyone is connected: every POLL_SECONDS it reads works published since
its last look (with a small lag, so a transaction that stamped its row before committing is not missed) and
new notifications, and hands each subscriber what it may see. Reading the database (not in-process events) is
what lets several web processes and separate workers all feed every connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiohttp import WSMsgType, web
from sqlalchemy import select

from cara_fed import json_limits, queries_api
from cara_fed.context import CONTEXT_KEY, Context
from cara_fed.db import utcnow
from cara_fed.models import Account, Artwork, Follow, Notification, TagFollow
from cara_fed.queries_safety import feed_filters
from cara_fed.services import oauth
from cara_fed.text import normalize_tag
from web.api import entities_statuses
from web.api.base import ApiError, bearer, dumps
from web.api.notifications import render_rows
from web.api.views import facts_view

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
POLL_SECONDS = 1.0
LAG = timedelta(seconds=2)
HEARTBEAT_SECONDS = 15.0
QUEUE_SIZE = 200
USER_STREAMS = ("user", "user:notification")
PUBLIC_STREAMS = ("public", "public:local", "public:remote", "public:media", "public:local:media",
                  "public:remote:media")
HASHTAG_STREAMS = ("hashtag", "hashtag:local")


@dataclass(eq=False)
class Subscriber:
    account: Account | None
    scopes: tuple[str, ...]
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    streams: set[tuple[str, str]] = field(default_factory=set)  # (stream, tag)
    hidden: set[int] = field(default_factory=set)

    def allows(self, scope: str) -> bool:
        return self.account is not None and oauth.allows(list(self.scopes), scope)

    def send(self, stream: list[str], event: str, payload: str) -> None:
        try:
            self.queue.put_nowait({"stream": stream, "event": event, "payload": payload})
        except asyncio.QueueFull:  # a client that stopped reading loses events, never the server's memory
            pass


def check_stream(subscriber: Subscriber, stream: str, tag: str) -> str:
    """The normalised tag ("" for other streams); ApiError when the stream is unknown or not allowed."""
    if stream in USER_STREAMS:
        if subscriber.account is None:
            raise ApiError(401, "Missing access token")
        if not (subscriber.allows("read:statuses") or subscriber.allows("read:notifications")):
            raise ApiError(403, "This action is outside the authorized scopes")
        return ""
    if stream in PUBLIC_STREAMS:
        return ""
    if stream in HASHTAG_STREAMS:
        name = normalize_tag(tag)
        if not name:
            raise ApiError(400, "No tag for stream provided")
        return name
    raise ApiError(400, "Unknown stream type")


class Hub:
    """One per web process: the subscribers and the poller that feeds them."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.subscribers: set[Subscriber] = set()
        self.sockets: set[web.WebSocketResponse] = set()
        self.task: asyncio.Task | None = None
        self.since = utcnow() - LAG
        self.last_notification = 0

    async def join(self, subscriber: Subscriber) -> None:
        if subscriber.account is not None:
            async with self.ctx.sessions() as session:
                _tags, hidden = await feed_filters(session, subscriber.account)
            subscriber.hidden = set(hidden)
        if not self.subscribers:
            self.since = utcnow() - LAG
            async with self.ctx.sessions() as session:
                self.last_notification = await session.scalar(select(Notification.id).order_by(
                    Notification.id.desc()).limit(1)) or 0
        self.subscribers.add(subscriber)
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._run(), name="api-streaming-poller")

    def leave(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)

    async def close(self) -> None:
        """Server shutdown: end every stream (the handlers return) so shutdown does not wait on them."""
        for subscriber in list(self.subscribers):
            with contextlib.suppress(asyncio.QueueFull):
                subscriber.queue.put_nowait(None)
        for ws in list(self.sockets):
            await ws.close(code=1001, message=b"server shutting down")
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def _run(self) -> None:
        while self.subscribers:
            try:
                await self.poll()
            except Exception:  # a failed poll is retried on the next tick; connections stay open
                log.exception("streaming poll failed")
            await asyncio.sleep(POLL_SECONDS)

    async def poll(self) -> None:
        until = utcnow() - LAG
        base = self.ctx.config.base_url
        async with self.ctx.sessions() as session:
            works = list((await session.scalars(queries_api.with_status_options(select(Artwork).where(
                Artwork.state == "published", Artwork.state_changed_at > self.since,
                Artwork.state_changed_at <= until)).order_by(Artwork.state_changed_at).limit(200))).unique().all())
            if works:
                await self._works(session, base, works)
            users = {s.account.id: s.account for s in self.subscribers
                     if s.account is not None and any(stream in USER_STREAMS for stream, _ in s.streams)}
            if users:
                rows = list((await session.scalars(select(Notification).where(
                    Notification.id > self.last_notification, Notification.account_id.in_(users))
                    .order_by(Notification.id).limit(200))).unique().all())
                await self._notifications(session, base, users, rows)
            newest = await session.scalar(select(Notification.id).order_by(Notification.id.desc()).limit(1))
            self.last_notification = max(self.last_notification, newest or 0)
        self.since = until

    async def _works(self, session, base: str, works: list[Artwork]) -> None:  # type: ignore[no-untyped-def]
        listed = set((await session.scalars(queries_api.public_works(None).with_only_columns(Artwork.id).where(
            Artwork.id.in_([w.id for w in works])))).all())
        view = await facts_view(session, base, None, artworks=works)
        users = [s for s in self.subscribers if s.account is not None]
        follows: dict[int, set[int]] = {}
        tags: dict[int, set[str]] = {}
        if users:
            ids = [s.account.id for s in users]  # type: ignore[union-attr]
            for follower, followee in (await session.execute(select(Follow.follower_id, Follow.followee_id).where(
                    Follow.follower_id.in_(ids), Follow.state == "accepted"))).all():
                follows.setdefault(follower, set()).add(followee)
            for owner, tag in (await session.execute(select(TagFollow.account_id, TagFollow.tag).where(
                    TagFollow.account_id.in_(ids)))).all():
                tags.setdefault(owner, set()).add(tag)
        for work in works:
            status = entities_statuses.status(view, work)
            anonymous = dumps(status)
            personal = dumps({**status, "favourited": False, "reblogged": False, "muted": False,
                              "bookmarked": False, "filtered": []})
            work_tags = set(view.statuses.tags.get(work.id, []))
            for subscriber in list(self.subscribers):
                if subscriber.account is not None and work.account_id in subscriber.hidden:
                    continue
                payload = personal if subscriber.account is not None else anonymous
                for stream, tag in subscriber.streams:
                    if stream == "user" and subscriber.account is not None and subscriber.allows("read:statuses"):
                        me = subscriber.account.id
                        mine = work.account_id == me
                        followed = work.account_id in follows.get(me, set())
                        tagged = work.id in listed and bool(work_tags & tags.get(me, set()))
                        if mine or (followed and work.visibility in ("public", "unlisted", "followers")) or tagged:
                            subscriber.send(["user"], "update", payload)
                    elif stream in PUBLIC_STREAMS and work.id in listed:
                        local = work.account.is_local
                        if ("local" in stream and not local) or ("remote" in stream and local):
                            continue
                        subscriber.send([stream], "update", payload)
                    elif stream in HASHTAG_STREAMS and work.id in listed and tag in work_tags:
                        if stream == "hashtag:local" and not work.account.is_local:
                            continue
                        subscriber.send([stream, tag], "update", payload)

    async def _notifications(self, session, base: str, users: dict[int, Account],  # type: ignore[no-untyped-def]
                             rows: list[Notification]) -> None:
        by_account: dict[int, list[Notification]] = {}
        for row in rows:
            by_account.setdefault(row.account_id, []).append(row)
        for account_id, mine in by_account.items():
            rendered = await render_rows(session, base, users[account_id], mine)
            for subscriber in list(self.subscribers):
                if subscriber.account is None or subscriber.account.id != account_id \
                        or not subscriber.allows("read:notifications"):
                    continue
                for stream, _tag in subscriber.streams:
                    if stream in USER_STREAMS:
                        for item in rendered:
                            subscriber.send([stream], "notification", dumps(item))


HUB = web.AppKey("api_streaming_hub", Hub)


async def _subscriber(request: web.Request, raw_token: str | None) -> Subscriber:
    if raw_token:
        try:
            found = await oauth.resolve_bearer(request.app[CONTEXT_KEY], raw_token)
        except oauth.TokenRefused as exc:
            raise ApiError(401, str(exc)) from None
        return Subscriber(found.account, found.scopes)
    found = await bearer(request)
    return Subscriber(found.account if found else None, found.scopes if found else ())


@routes.get("/api/v1/streaming/health")
async def health(request: web.Request) -> web.Response:
    return web.Response(text="OK")


@routes.get("/api/v1/streaming")
@routes.get("/api/v1/streaming/")
async def websocket(request: web.Request) -> web.StreamResponse:
    offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
    token = request.query.get("access_token") or (offered[0] if offered else None)
    subscriber = await _subscriber(request, token)
    ws = web.WebSocketResponse(protocols=offered[:1], heartbeat=HEARTBEAT_SECONDS)
    if not ws.can_prepare(request).ok:
        raise ApiError(400, "Use a WebSocket, or the Server-Sent Events endpoints under /api/v1/streaming/")
    await ws.prepare(request)
    hub = request.app[HUB]
    await hub.join(subscriber)
    hub.sockets.add(ws)

    async def deliver() -> None:
        while (event := await subscriber.queue.get()) is not None:
            await ws.send_str(dumps(event))

    sender = asyncio.create_task(deliver())
    try:
        initial = request.query.get("stream")
        if initial:
            await _change(ws, subscriber, {"type": "subscribe", "stream": initial, "tag": request.query.get("tag")})
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                data = json_limits.loads(message.data)
            except ValueError:
                await ws.send_str(dumps({"error": "Bad JSON", "status": 400}))
                continue
            if isinstance(data, dict):
                await _change(ws, subscriber, data)
    finally:
        sender.cancel()
        hub.leave(subscriber)
        hub.sockets.discard(ws)
    return ws


async def _change(ws: web.WebSocketResponse, subscriber: Subscriber, data: dict[str, Any]) -> None:
    stream, tag = str(data.get("stream", "")), str(data.get("tag") or "")
    try:
        name = check_stream(subscriber, stream, tag)
    except ApiError as exc:
        await ws.send_str(dumps({"error": exc.message, "status": exc.status}))
        return
    if data.get("type") == "subscribe":
        subscriber.streams.add((stream, name))
    elif data.get("type") == "unsubscribe":
        subscriber.streams.discard((stream, name))


SSE_PATHS = {"user": "user", "user/notification": "user:notification", "public": "public",
             "public/local": "public:local", "public/remote": "public:remote", "hashtag": "hashtag",
             "hashtag/local": "hashtag:local"}


@routes.get(r"/api/v1/streaming/{kind:user|user/notification|public|public/local|public/remote|hashtag|hashtag/local}")
async def server_sent_events(request: web.Request) -> web.StreamResponse:
    subscriber = await _subscriber(request, request.query.get("access_token"))
    stream = SSE_PATHS[request.match_info["kind"]]
    subscriber.streams.add((stream, check_stream(subscriber, stream, request.query.get("tag", ""))))
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                           "Access-Control-Allow-Origin": "*", "X-Accel-Buffering": "no"})
    await response.prepare(request)
    hub = request.app[HUB]
    await hub.join(subscriber)
    try:
        await response.write(b":)\n\n")
        while True:
            try:
                event = await asyncio.wait_for(subscriber.queue.get(), HEARTBEAT_SECONDS)
            except TimeoutError:
                await response.write(b":thump\n\n")
                continue
            if event is None:  # shutting down
                break
            await response.write(f"event: {event['event']}\ndata: {event['payload']}\n\n".encode())
    except ConnectionResetError:  # the client went away
        pass
    finally:
        hub.leave(subscriber)
    return response


def setup_streaming(app: web.Application, ctx: Context) -> None:
    app[HUB] = Hub(ctx)

    async def close(app: web.Application) -> None:
        await app[HUB].close()

    app.on_shutdown.append(close)
    app.router.add_routes(routes)

