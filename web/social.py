"""Following (local and remote), follow requests, remote profiles and the home feed."""

from __future__ import annotations

from aiohttp import web

from cara_fed import queries, queries_safety, queries_social, urls
from cara_fed.context import CONTEXT_KEY
from cara_fed.directory import LookupFailed, split_handle
from cara_fed.models import Account, Artwork
from cara_fed.services import follows
from web import forms
from web.auth import require_login
from web.keys import ACCOUNT
from web.pages import cursor
from web.render import profile_path, render

routes = web.RouteTableDef()


async def _account(request: web.Request) -> Account:
    async with request.app[CONTEXT_KEY].sessions() as session:
        account = await session.get(Account, forms.path_id(request, "account_id"))
    if account is None or account.kind == "application" or account.status == "suspended":
        raise web.HTTPNotFound(text="No such account.")
    return account


@routes.post(r"/accounts/{account_id:\d+}/follow", name="follow")
async def follow(request: web.Request) -> web.Response:
    viewer = require_login(request)
    target = await _account(request)
    await follows.request_follow(request.app[CONTEXT_KEY], viewer, target)
    raise web.HTTPSeeOther(profile_path(target))


@routes.post(r"/accounts/{account_id:\d+}/unfollow", name="unfollow")
async def unfollow(request: web.Request) -> web.Response:
    viewer = require_login(request)
    target = await _account(request)
    await follows.unfollow(request.app[CONTEXT_KEY], viewer, target)
    raise web.HTTPSeeOther(profile_path(target))


@routes.get("/follow", name="find_remote")
async def find_remote(request: web.Request) -> web.Response:
    """Look up @name@server (WebFinger, through the federation edge) and show that profile."""
    require_login(request)
    handle = request.query.get("handle", "").strip()
    if not handle:
        return render(request, "follow_lookup.html", {"handle": "", "error": ""})
    ctx = request.app[CONTEXT_KEY]
    try:
        username, domain = split_handle(handle)
        if domain == ctx.config.server.domain.lower():
            raise web.HTTPSeeOther(urls.profile(username.lower()))
        if ctx.directory is None:
            raise LookupFailed("Following people on other servers is not available on this instance.")
        account = await ctx.directory.resolve_handle(username, domain)
    except LookupFailed as exc:
        return render(request, "follow_lookup.html", {"handle": handle, "error": str(exc)}, status=400)
    raise web.HTTPSeeOther(profile_path(account))


@routes.get(r"/@{username:[A-Za-z0-9_.\-]+}@{domain:[A-Za-z0-9.\-]+(?::\d+)?}", name="remote_profile")
async def remote_profile(request: web.Request) -> web.Response:
    viewer = request[ACCOUNT]
    async with request.app[CONTEXT_KEY].reads() as session:
        account = await queries.remote_account(session, request.match_info["username"], request.match_info["domain"])
        if account is None or account.status == "suspended":
            raise web.HTTPNotFound(text="We don't know this account yet. Look it up with “Follow someone”.")
        page = await queries.portfolio(session, account, None, before=cursor(request))
        relation = await queries.follow_between(session, viewer.id, account.id) if viewer else None
        counts = await queries.count_follows(session, account)
        safety = await queries_safety.safety_relation(session, viewer, account)
    return render(request, "remote_profile.html", {"account": account, "page": page, "relation": relation,
                                                   "counts": counts, "safety": safety}, noai=True)


@routes.get(r"/@{username:[A-Za-z0-9_.\-]+}@{domain:[A-Za-z0-9.\-]+(?::\d+)?}/{artwork_id:\d+}", name="remote_artwork")
async def remote_artwork(request: web.Request) -> web.Response:
    """Our cached copy of a remote artwork: derivatives served from here, the author's NoAI choice kept."""
    viewer = request[ACCOUNT]
    async with request.app[CONTEXT_KEY].reads() as session:
        account = await queries.remote_account(session, request.match_info["username"], request.match_info["domain"])
        work = await session.get(Artwork, forms.path_id(request, "artwork_id"))
        if (account is None or work is None or work.account_id != account.id
                or not await queries.can_view_async(session, work, viewer)):
            raise web.HTTPNotFound(text="This artwork does not exist here or is not visible to you.")
        social = await queries_social.artwork_social(session, work, viewer)
    return render(request, "artwork.html", {"account": account, "work": work, "more": [], "is_owner": False,
                                            "social": social},
                  noai=work.noai)


@routes.get("/feed", name="feed")
async def feed(request: web.Request) -> web.Response:
    viewer = require_login(request)
    async with request.app[CONTEXT_KEY].reads() as session:
        page = await queries.home_feed_cards(session, viewer, before=cursor(request))
    return render(request, "feed.html", {"page": page})


@routes.get("/follow-requests", name="follow_requests")
async def follow_requests(request: web.Request) -> web.Response:
    viewer = require_login(request)
    async with request.app[CONTEXT_KEY].reads() as session:
        pending = await queries.follow_requests(session, viewer)
    return render(request, "follow_requests.html", {"pending": pending})


@routes.post(r"/follow-requests/{follow_id:\d+}/{decision:approve|reject}", name="decide_follow")
async def decide(request: web.Request) -> web.Response:
    viewer = require_login(request)
    await follows.decide_request(request.app[CONTEXT_KEY], viewer, forms.path_id(request, "follow_id"),
                                 request.match_info["decision"] == "approve")
    raise web.HTTPSeeOther("/follow-requests")
