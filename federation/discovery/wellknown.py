"""Discovery: WebFinger (RFC 7033), host-meta (RFC 6415) and NodeInfo 2.0/2.1."""

from __future__ import annotations

import importlib.metadata
import json
from urllib.parse import urlsplit
from xml.sax.saxutils import quoteattr

from aiohttp import web

from cara_fed import queries_federation as fq
from cara_fed.context import CONTEXT_KEY, Context, ResourceKey
from cara_fed.db import utcnow
from cara_fed.models import Account
from cara_fed.recount import Recount, local_counts, recounted
from cara_fed.services.accounts import INSTANCE_ACTOR, ensure_instance_actor
from federation.discovery.remote_interaction import FEP_3B86, SUBSCRIBE
from federation.negotiation import AP_MEDIA_TYPE
from federation.wire.serialize import actor_id, profile_url

routes = web.RouteTableDef()
CORS = {"Access-Control-Allow-Origin": "*"}
NODEINFO_SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/{version}"
FEATURES = ["portfolios", "projects", "noai", "media-protection"]
# FEP-3b86 intents we serve, with the hint /authorize_interaction uses to put that action first.
INTENTS = (("Follow", "&intent=follow"), ("Like", "&intent=like"), ("Announce", "&intent=announce"),
           ("Object", ""))


def _version() -> str:
    try:
        return importlib.metadata.version("cara-fed")
    except importlib.metadata.PackageNotFoundError:
        return "0.1.0"


class BadResource(ValueError):
    """Not a resource WebFinger can answer for (400), as opposed to one that is not ours (404)."""


def username_for(ctx: Context, resource: str) -> str | None:
    """The local username a WebFinger resource names, None when it is not one of ours.

    Accepts acct:user@domain (also without acct: and with a leading @), the actor id, and the profile URL.
    """
    domain = ctx.config.server.domain.lower()
    if resource.startswith(("http://", "https://")):
        url = urlsplit(resource)
        if url.netloc.lower() != domain:
            return None
        path = url.path.rstrip("/")
        if path == "/actor":
            return INSTANCE_ACTOR
        for prefix in ("/users/", "/@"):
            if path.startswith(prefix) and "/" not in path[len(prefix):]:
                return path[len(prefix):].lower() or None
        return None
    account = resource[5:] if resource.lower().startswith("acct:") else resource
    user, at, host = account.lstrip("@").rpartition("@")
    if user.lower() == domain and host.lower() == domain:
        return INSTANCE_ACTOR  # acct:host@host names the server itself (Mastodon's convention)
    if not at or not user or not host or any(c.isspace() for c in account) or ":" in user or "/" in account:
        raise BadResource(f"{resource!r} is not acct:user@domain or an actor URL")
    return user.lower() if host.lower() == domain else None


def interaction_links(ctx: Context) -> list[dict]:
    """Where someone with an account here can follow, like or boost something from another site: the oStatus
    subscribe template (`{uri}`) and FEP-3b86 intents (`{object}`), all leading to /authorize_interaction."""
    page = ctx.url("/authorize_interaction?uri=")
    links: list[dict] = [{"rel": SUBSCRIBE, "template": page + "{uri}"}]
    for intent, suffix in INTENTS:
        # FEP-3b86 names the template `href`; the copy under `template` is for readers of the oStatus key.
        template = page + "{object}" + suffix
        links.append({"rel": FEP_3B86 + intent, "href": template, "template": template})
    return links


def jrd(ctx: Context, account: Account) -> dict:
    me, page = actor_id(ctx, account), profile_url(ctx, account)
    return {
        "subject": f"acct:{account.username}@{ctx.config.server.domain}",
        "aliases": [me, page],
        "links": [
            {"rel": "self", "type": AP_MEDIA_TYPE, "href": me},
            {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": page},
            *interaction_links(ctx),
        ],
    }


def _jrd_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=CORS)


@routes.get("/.well-known/webfinger")
async def webfinger(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT_KEY]
    resource = request.query.get("resource", "").strip()
    if not resource:
        example = f"acct:name@{ctx.config.server.domain}"
        return _jrd_error(400, f"The resource parameter is missing, e.g. ?resource={example}")
    try:
        username = username_for(ctx, resource)
    except BadResource as exc:
        return _jrd_error(400, str(exc))
    account: Account | None = None
    if username == INSTANCE_ACTOR:
        account = await ensure_instance_actor(ctx)
    elif username:
        async with ctx.sessions() as session:
            account = await fq.active_local_actor(session, username)
            # In the deletion grace period the account still answers (its actor says suspended: true); once it
            # is a tombstone it is gone for good: 410, as Mastodon answers for a deleted account.
            if account is None:
                account = await fq.grace_period_local_actor(session, username)
            if account is None and await fq.tombstoned_local_actor(session, username):
                return _jrd_error(410, f"The account {resource} was deleted.")
    if account is None:
        return _jrd_error(404, f"No account here answers to {resource}.")
    return web.json_response(jrd(ctx, account), content_type="application/jrd+json", headers=CORS)


@routes.get("/.well-known/host-meta")
async def host_meta(request: web.Request) -> web.Response:
    template = quoteattr(request.app[CONTEXT_KEY].url("/.well-known/webfinger?resource={uri}"))
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
            f'  <Link rel="lrdd" template={template}/>\n'
            '</XRD>\n')
    return web.Response(text=body, content_type="application/xrd+xml", headers=CORS)


@routes.get("/.well-known/nodeinfo")
async def nodeinfo_links(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT_KEY]
    links = [{"rel": NODEINFO_SCHEMA.format(version=v), "href": ctx.url(f"/nodeinfo/{v}")} for v in ("2.0", "2.1")]
    return web.json_response({"links": links}, headers=CORS)


ACTIVE_USERS: ResourceKey[Recount[tuple[int, int]]] = ResourceKey("nodeinfo active users")


async def nodeinfo_document(ctx: Context, version: str) -> dict:
    # Counting users, active users and posts scans accounts and works; every server that meets us asks for
    # this, so the figures are kept per process (cara_fed/recount.py; the users and posts are the pages' counts).
    users, posts = await local_counts(ctx)
    active_month, active_halfyear = await recounted(ctx, ACTIVE_USERS,
                                                    lambda session: fq.active_users(session, utcnow()))
    instance = ctx.config.instance
    return {
        "version": version,
        "software": {"name": "cara-fed", "version": _version()},
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        # Approval mode still takes sign-ups (Mastodon reports it the same way).
        "openRegistrations": instance.registration in ("open", "approval"),
        "usage": {"users": {"total": users, "activeMonth": active_month, "activeHalfyear": active_halfyear},
                  "localPosts": posts},
        "metadata": {"nodeName": instance.name, "nodeDescription": instance.description,
                     "registrationMode": instance.registration, "features": FEATURES},
    }


@routes.get(r"/nodeinfo/{version:2\.[01]}")
async def nodeinfo(request: web.Request) -> web.Response:
    version = request.match_info["version"]
    doc = await nodeinfo_document(request.app[CONTEXT_KEY], version)
    content_type = f'application/json; profile="{NODEINFO_SCHEMA.format(version=version)}#"'
    return web.Response(body=json.dumps(doc).encode(), headers={**CORS, "Content-Type": content_type})
