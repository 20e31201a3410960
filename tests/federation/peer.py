"""A minimal remote ActivityPub server for tests: a real aiohttp app on 127.0.0.1 serving actor documents
(with keys generated here), WebFinger, key documents, objects and media, and recording what it receives.
`signed_post` sends an activity to our inbox signed like Mastodon (draft-cavage) or like Fedify (RFC 9421).
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from cara_fed import events as ev
from cara_fed import tasks
from cara_fed.context import Context
from federation.signatures import generate_key_pair, sign_request

AP = "application/activity+json"
AS = "https://www.w3.org/ns/activitystreams"
PUBLIC = AS + "#Public"
OUTBOUND_EVENTS = (ev.ArtworkPublished, ev.ArtworkUpdated, ev.ArtworkDeleted, ev.FollowRequested, ev.FollowAccepted,
                   ev.FollowRejected, ev.FollowCancelled, ev.AccountUpdated)


@functools.cache
def key_pair(slot: int) -> tuple[str, str]:
    """RSA keys are slow to make; tests reuse a few (slot n is the same pair within a run)."""
    return generate_key_pair()


@dataclass
class PeerActor:
    name: str
    id: str
    key_id: str
    private_pem: str
    public_pem: str
    type: str = "Person"
    extra: dict = field(default_factory=dict)
    standalone_key: bool = False  # publish the key as its own document at {id}/key
    gone: bool = False  # answer 410 (a deleted account)


@dataclass
class Resource:
    body: bytes = b""
    content_type: str = "application/octet-stream"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    chunked: bool = False  # stream without Content-Length


class Peer:
    def __init__(self) -> None:
        self.app = web.Application()
        self.app.router.add_get("/.well-known/webfinger", self._webfinger)
        self.app.router.add_get("/users/{name}", self._actor)
        self.app.router.add_get("/users/{name}/key", self._key)
        self.app.router.add_post("/users/{name}/inbox", self._inbox)
        self.app.router.add_post("/inbox", self._inbox)
        self.app.router.add_get("/{tail:.*}", self._resource)
        self.actors: dict[str, PeerActor] = {}
        self.resources: dict[str, Resource] = {}
        self.received: list[tuple[str, dict[str, str], bytes]] = []  # POSTs: path, headers, body
        self.gets: list[tuple[str, dict[str, str]]] = []  # GETs: path (with query), headers
        self.server: TestServer | None = None
        self.base = ""

    async def start(self) -> None:
        self.server = TestServer(self.app, host="127.0.0.1")
        await self.server.start_server()
        self.base = f"http://127.0.0.1:{self.server.port}"

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    @property
    def host(self) -> str:
        return urlsplit(self.base).netloc

    # --- what the peer publishes ---------------------------------------------------------------------

    def add_actor(self, name: str, *, slot: int | None = None, **extra: Any) -> PeerActor:
        private_pem, public_pem = key_pair(len(self.actors) if slot is None else slot)
        actor_id = f"{self.base}/users/{name}"
        standalone = bool(extra.pop("standalone_key", False))
        actor = PeerActor(name, actor_id, f"{actor_id}/key" if standalone else f"{actor_id}#main-key",
                          private_pem, public_pem, type=extra.pop("type", "Person"), extra=extra,
                          standalone_key=standalone)
        self.actors[name] = actor
        return actor

    def actor_document(self, actor: PeerActor) -> dict:
        key = {"id": actor.key_id, "owner": actor.id, "publicKeyPem": actor.public_pem}
        return {"@context": [AS, "https://w3id.org/security/v1"], "id": actor.id, "type": actor.type,
                "preferredUsername": actor.name, "name": actor.name.title(), "inbox": f"{actor.id}/inbox",
                "outbox": f"{actor.id}/outbox", "followers": f"{actor.id}/followers",
                "endpoints": {"sharedInbox": f"{self.base}/inbox"}, "url": f"{self.base}/@{actor.name}",
                "publicKey": key, **actor.extra}

    def serve(self, path: str, body: bytes | str | dict = b"", content_type: str | None = None, **kw: Any) -> str:
        """Publish any resource at `path`; returns its URL. dicts are served as activity+json."""
        if isinstance(body, dict):
            body, content_type = json.dumps(body).encode(), content_type or AP
        elif isinstance(body, str):
            body = body.encode()
        self.resources[path] = Resource(body, content_type or "application/octet-stream", **kw)
        return self.base + path

    def redirect(self, path: str, to: str, status: int = 302) -> str:
        return self.serve(path, status=status, headers={"Location": to})

    def activity(self, actor: PeerActor, type_: str, object_: Any, **extra: Any) -> dict:
        return {"@context": AS, "id": f"{self.base}/activities/{uuid.uuid4().hex}", "type": type_,
                "actor": actor.id, "object": object_, **extra}

    # --- handlers ----------------------------------------------------------------------------------

    def _log_get(self, request: web.Request) -> None:
        self.gets.append((request.path_qs, dict(request.headers)))

    async def _actor(self, request: web.Request) -> web.Response:
        self._log_get(request)
        actor = self.actors.get(request.match_info["name"])
        if actor is None:
            return await self._resource(request)
        if actor.gone:
            return web.json_response({"error": "gone"}, status=410)
        return web.json_response(self.actor_document(actor), content_type=AP)

    async def _key(self, request: web.Request) -> web.Response:
        self._log_get(request)
        actor = self.actors.get(request.match_info["name"])
        if actor is None or not actor.standalone_key:
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response({"@context": "https://w3id.org/security/v1", "id": actor.key_id,
                                  "type": "CryptographicKey", "owner": actor.id, "publicKeyPem": actor.public_pem},
                                 content_type=AP)

    async def _webfinger(self, request: web.Request) -> web.Response:
        self._log_get(request)
        resource = request.query.get("resource", "")
        name = resource.removeprefix("acct:").split("@", 1)[0]
        if name not in self.actors or not resource.endswith("@" + self.host):
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response({"subject": resource, "links": [
            {"rel": "self", "type": AP, "href": self.actors[name].id}]}, content_type="application/jrd+json")

    async def _inbox(self, request: web.Request) -> web.Response:
        self.received.append((request.path, dict(request.headers), await request.read()))
        return web.Response(status=202)

    async def _resource(self, request: web.Request) -> web.StreamResponse:
        self._log_get(request)
        found = self.resources.get(request.path)
        if found is None:
            return web.json_response({"error": "not found"}, status=404)
        if found.delay:
            await asyncio.sleep(found.delay)
        if not found.chunked:
            return web.Response(body=found.body, status=found.status, content_type=found.content_type,
                                headers=found.headers)
        response = web.StreamResponse(status=found.status, headers={"Content-Type": found.content_type})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(found.body), 64 * 1024):
            await response.write(found.body[start:start + 64 * 1024])
        await response.write_eof()
        return response


@asynccontextmanager
async def running_peer() -> AsyncIterator[Peer]:
    peer = Peer()
    await peer.start()
    try:
        yield peer
    finally:
        await peer.close()


async def _noop(ctx: Context, *args: Any) -> None:
    return None


def enable_federation(ctx: Context, *, allow_private: bool = True) -> Context:
    """Inline jobs for the inbound side; outbound events have no subscribers and deliveries are no-ops, so
    these tests talk to no one else."""
    from cara_fed_run.worker import build_registry
    from federation.subscriptions import SUBSCRIPTIONS, TASKS

    ctx.config.federation.allow_private_addresses = allow_private
    registry = build_registry()
    for task, function in TASKS.items():
        registry.register(task, _noop if task == tasks.DELIVER else function)
    for event_type, subscribers in SUBSCRIPTIONS.items():
        if event_type not in OUTBOUND_EVENTS:
            registry.subscribe(event_type, subscribers)
    ctx.jobs.registry = registry
    return ctx


# --- signing what the peer sends ------------------------------------------------------------------


def rfc9421_headers(method: str, url: str, body: bytes, key_id: str, private_pem: str,
                    created: int | None = None) -> dict[str, str]:
    """What Fedify sends first: RFC 9421 over @method @target-uri content-digest, RSA PKCS#1 v1.5 SHA-256."""
    created = created if created is not None else int(datetime.now().timestamp())
    digest = "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"
    params = f'("@method" "@target-uri" "content-digest");alg="rsa-v1_5-sha256";keyid="{key_id}";created={created}'
    signature_base = (f'"@method": {method.upper()}\n"@target-uri": {url}\n"content-digest": {digest}\n'
                      f'"@signature-params": {params}')
    key = serialization.load_pem_private_key(private_pem.encode(), None)
    signature = key.sign(signature_base.encode(), padding.PKCS1v15(), hashes.SHA256())  # type: ignore[call-arg,union-attr]
    return {"Host": urlsplit(url).netloc, "Content-Digest": digest, "Signature-Input": f"sig1={params}",
            "Signature": f"sig1=:{base64.b64encode(signature).decode()}:"}


async def signed_post(client: TestClient, url: str, activity: dict | bytes, *, key: PeerActor | None,
                      key_id: str | None = None, now: datetime | None = None, sent_body: bytes | None = None,
                      rfc9421: bool = False, extra_headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    """POST `activity` to the public `url` of our test server (through `client`), signed with `key`'s private
    key under `key_id` (default: its own). `sent_body` replaces the body after signing (digest tests)."""
    body = activity if isinstance(activity, bytes) else json.dumps(activity).encode()
    headers = {"Content-Type": AP, "Host": urlsplit(url).netloc}
    if key is not None:
        kid = key_id or key.key_id
        if rfc9421:
            headers.update(rfc9421_headers("POST", url, body, kid, key.private_pem,
                                           int(now.timestamp()) if now else None))
        else:
            headers.update(sign_request("POST", url, {}, body, kid, key.private_pem, now=now))
    headers.update(extra_headers or {})
    path = urlsplit(url).path + (f"?{urlsplit(url).query}" if urlsplit(url).query else "")
    return await client.post(path, data=sent_body if sent_body is not None else body, headers=headers)
