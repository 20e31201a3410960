"""Accounts: the viewer's own (verify/update credentials), anyone's profile, statuses and follow lists,
following, relationships, search and lookup (resolving handles on other servers), follow requests, blocks,
mutes, and sign-up through an app (POST /api/v1/accounts, obeying the registration mode)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from cara_fed import queries, queries_api, queries_discovery
from cara_fed.context import CONTEXT_KEY
from cara_fed.directory import LookupFailed, split_handle
from cara_fed.errors import ValidationError
from cara_fed.models import Account, Block, Follow, Mute
from cara_fed.numbers import clamp, parse_ids
from cara_fed.queries_safety import blocked_either_way
from cara_fed.services import accounts, follows, oauth, safety
from cara_fed.services.media import Upload
from web.api import entities_accounts, entities_oauth
from web.api.base import (
    ApiError,
    bearer,
    endpoint,
    int_id,
    link_header,
    me,
    not_found,
    params,
    reply,
    unprocessable,
    viewer,
    window,
)
from web.api.views import accounts_json, statuses_json, view_for
from web.limits import accepts_uploads

routes = web.RouteTableDef()
ID = r"{account_id:\d+}"


async def _target(request: web.Request, session, account_id: str | None = None) -> Account:  # type: ignore[no-untyped-def]
    account = await session.get(Account, int_id(account_id or request.match_info["account_id"]))
    if account is None or account.kind == "application" or account.status == "suspended":
        raise not_found()
    return account


async def _credential(request: web.Request, account: Account) -> dict:
    async with request.app[CONTEXT_KEY].sessions() as session:
        account = await session.get(Account, account.id)
        view = await view_for(request, session, accounts=[account])
        pending = len(await queries.follow_requests(session, account))
    return entities_accounts.account(view, account, credentials=True, follow_requests=pending)


@routes.get("/api/v1/accounts/verify_credentials")
async def verify_credentials(request: web.Request) -> web.Response:
    found = await bearer(request)
    if found is None:
        raise ApiError(401, "The access token is invalid")
    if not (found.allows("read:accounts") or found.allows("profile")):
        raise ApiError(403, "This action is outside the authorized scopes")
    return reply(await _credential(request, await me(request)))


@routes.patch("/api/v1/accounts/update_credentials")
@accepts_uploads
@endpoint("write:accounts")
async def update_credentials(request: web.Request) -> web.Response:
    account = await me(request)
    ctx = request.app[CONTEXT_KEY]
    p = await params(request)
    source = p.nested("source")
    links = list(account.links or [])
    if any(key.startswith("fields_attributes") for key in p.values):
        links = [{"name": f.text("name"), "url": f.text("value")} for f in p.indexed("fields_attributes")]
    await accounts.update_profile(
        ctx, account.id, display_name=p.text("display_name", account.display_name),
        bio=p.text("note", account.bio), location=account.location, links=links, skills=list(account.skills or []),
        open_to_work=account.open_to_work, noai_default=account.noai_default,
        locked=bool(p.flag("locked", account.locked)),
        discoverable=bool(p.flag("discoverable", source.flag("discoverable", account.discoverable))),
        indexable=p.flag("indexable", source.flag("indexable", account.indexable)))
    for name, purpose in (("avatar", "avatar"), ("header", "banner")):
        upload = p.get(name)
        if isinstance(upload, web.FileField):
            await accounts.set_profile_image(ctx, account.id, Upload(upload.file.read(), upload.filename or name),
                                             purpose)
    return reply(await _credential(request, account))


@routes.get(rf"/api/v1/accounts/{ID}")
@endpoint("read:accounts", user=False, public=True)
async def show(request: web.Request) -> web.Response:
    async with request.app[CONTEXT_KEY].sessions() as session:
        account = await _target(request, session)
        return reply((await accounts_json(request, session, [account]))[0])


@routes.get("/api/v1/accounts")
@endpoint("read:accounts", user=False, public=True)
async def many(request: web.Request) -> web.Response:
    ids = parse_ids(request.query.getall("id[]", []) + request.query.getall("id", []))[:40]
    async with request.app[CONTEXT_KEY].sessions() as session:
        found = {a.id: a for a in (await session.scalars(select(Account).where(Account.id.in_(ids)))).unique()
                 if a.kind != "application" and a.status != "suspended"}
        return reply(await accounts_json(request, session, [found[i] for i in ids if i in found]))


async def _resolve(request: web.Request, handle: str, *, allowed: bool) -> Account | None:
    """A known account by handle, or (when allowed: an authenticated request) one fetched over WebFinger."""
    ctx = request.app[CONTEXT_KEY]
    handle = handle.strip().lstrip("@")
    name, _, domain = handle.partition("@")
    own = ctx.config.server.domain.lower()
    async with ctx.sessions() as session:
        if not domain or domain.lower() == own:
            return await queries.local_account(session, name)
        found = await queries.remote_account(session, name, domain)
    if found is not None or not allowed or ctx.directory is None:
        return found
    try:
        username, host = split_handle(handle)
        return await ctx.directory.resolve_handle(username, host)
    except LookupFailed:
        return None


@routes.get("/api/v1/accounts/lookup")
@endpoint("read:accounts", user=False, public=True)
async def lookup(request: web.Request) -> web.Response:
    handle = request.query.get("acct", "")
    if not handle or len(handle) > 300:
        raise not_found()
    account = await _resolve(request, handle, allowed=await viewer(request) is not None)
    if account is None or account.kind == "application" or account.status == "suspended":
        raise not_found()
    async with request.app[CONTEXT_KEY].sessions() as session:
        return reply((await accounts_json(request, session, [account]))[0])


@routes.get("/api/v1/accounts/search")
@endpoint("read:accounts")
async def search(request: web.Request) -> web.Response:
    q = request.query.get("q", "").strip()
    limit = clamp(request.query.get("limit"), 40, least=1, most=80)
    if not q or len(q) > 300:
        return reply([])
    found: list[Account] = []
    if "@" in q.lstrip("@") and request.query.get("resolve", "") in ("true", "1"):
        resolved = await _resolve(request, q, allowed=True)
        if resolved is not None:
            found.append(resolved)
    async with request.app[CONTEXT_KEY].sessions() as session:
        more = await queries_discovery.search_accounts(session, await viewer(request), q, limit=limit)
        found += [a for a in more if all(a.id != f.id for f in found)]
        return reply(await accounts_json(request, session, found[:limit]))


@routes.get(rf"/api/v1/accounts/{ID}/statuses")
@endpoint("read:statuses", user=False, public=True)
async def statuses(request: web.Request) -> web.Response:
    who = await viewer(request)
    w = window(request)
    async with request.app[CONTEXT_KEY].reads() as session:
        account = await _target(request, session)
        if who is not None and who.id != account.id and await blocked_either_way(session, who.id, account.id):
            return reply([])
        follower = await queries.is_follower(session, who, account.id)
        pinned = request.query.get("pinned", "") in ("true", "1")
        # only_media, exclude_replies, exclude_reblogs: artworks are media posts, never replies or reblogs, so
        # every filter keeps them all (an account's comments are not listed as its statuses). Plain rows, as the
        # timelines (cara_fed/queries_statuses.py).
        query = queries_api.account_works(account, who, followers_too=follower, pinned=pinned)
        works = await queries_api.status_window(session, query, w)
        data = await statuses_json(request, session, works)
    return reply(data, headers=link_header(request, [d["id"] for d in data], more=len(data) == w.limit))


async def _follow_list(request: web.Request, which: str) -> web.Response:
    w = window(request)
    async with request.app[CONTEXT_KEY].sessions() as session:
        account = await _target(request, session)
        column = Follow.followee_id if which == "followers" else Follow.follower_id
        query = select(Follow).where(column == account.id, Follow.state == "accepted")
        rows = await queries_api.keyset(session, query, Follow.id, w)
        people = [row.follower if which == "followers" else row.followee for row in rows]
        people = [p for p in people if p.kind != "application" and p.status != "suspended"]
        data = await accounts_json(request, session, people)
    return reply(data, headers=link_header(request, [row.id for row in rows], more=len(rows) == w.limit))


@routes.get(rf"/api/v1/accounts/{ID}/followers")
@endpoint("read:accounts", user=False, public=True)
async def followers(request: web.Request) -> web.Response:
    return await _follow_list(request, "followers")


@routes.get(rf"/api/v1/accounts/{ID}/following")
@endpoint("read:accounts", user=False, public=True)
async def following(request: web.Request) -> web.Response:
    return await _follow_list(request, "following")


async def _relationship(request: web.Request, account: Account) -> web.Response:
    async with request.app[CONTEXT_KEY].sessions() as session:
        found = await queries_api.relations(session, await me(request), [account.id])
    return reply(entities_accounts.relationship(account.id, found.get(account.id)))


@routes.get("/api/v1/accounts/relationships")
@endpoint("read:follows")
async def relationships(request: web.Request) -> web.Response:
    ids = parse_ids(request.query.getall("id[]", []) + request.query.getall("id", []))
    async with request.app[CONTEXT_KEY].sessions() as session:
        found = await queries_api.relations(session, await me(request), ids)
    return reply([entities_accounts.relationship(i, found.get(i)) for i in dict.fromkeys(ids)])


@routes.post(rf"/api/v1/accounts/{ID}/follow")
@endpoint("write:follows")
async def follow(request: web.Request) -> web.Response:
    account = await me(request)
    async with request.app[CONTEXT_KEY].sessions() as session:
        target = await _target(request, session)
    if target.id == account.id:
        raise unprocessable("You cannot follow yourself")
    await follows.request_follow(request.app[CONTEXT_KEY], account, target)
    return await _relationship(request, target)


@routes.post(rf"/api/v1/accounts/{ID}/unfollow")
@endpoint("write:follows")
async def unfollow(request: web.Request) -> web.Response:
    async with request.app[CONTEXT_KEY].sessions() as session:
        target = await _target(request, session)
    await follows.unfollow(request.app[CONTEXT_KEY], await me(request), target)
    return await _relationship(request, target)


@routes.post(rf"/api/v1/accounts/{ID}/{{action:block|unblock}}")
@endpoint("write:blocks")
async def block(request: web.Request) -> web.Response:
    return await _safety(request)


@routes.post(rf"/api/v1/accounts/{ID}/{{action:mute|unmute}}")
@endpoint("write:mutes")
async def mute(request: web.Request) -> web.Response:
    return await _safety(request)


async def _safety(request: web.Request) -> web.Response:
    account = await me(request)
    async with request.app[CONTEXT_KEY].sessions() as session:
        target = await _target(request, session)
    await getattr(safety, request.match_info["action"])(request.app[CONTEXT_KEY], account, target)
    return await _relationship(request, target)


async def _listing(request: web.Request, model: type[Block] | type[Mute]) -> web.Response:
    w = window(request)
    account = await me(request)
    async with request.app[CONTEXT_KEY].sessions() as session:
        rows = await queries_api.keyset(session, select(model).where(model.account_id == account.id), model.id,
                                        w)
        data = await accounts_json(request, session, [row.target for row in rows])
    return reply(data, headers=link_header(request, [row.id for row in rows], more=len(rows) == w.limit))


@routes.get("/api/v1/blocks")
@endpoint("read:blocks")
async def blocks(request: web.Request) -> web.Response:
    return await _listing(request, Block)


@routes.get("/api/v1/mutes")
@endpoint("read:mutes")
async def mutes(request: web.Request) -> web.Response:
    return await _listing(request, Mute)


@routes.get("/api/v1/follow_requests")
@endpoint("read:follows")
async def follow_requests(request: web.Request) -> web.Response:
    w = window(request)
    account = await me(request)
    async with request.app[CONTEXT_KEY].sessions() as session:
        query = select(Follow).where(Follow.followee_id == account.id, Follow.state == "requested")
        rows = await queries_api.keyset(session, query, Follow.id, w)
        data = await accounts_json(request, session, [row.follower for row in rows])
    return reply(data, headers=link_header(request, [row.id for row in rows], more=len(rows) == w.limit))


@routes.post(rf"/api/v1/follow_requests/{ID}/{{decision:authorize|reject}}")
@endpoint("write:follows")
async def decide_request(request: web.Request) -> web.Response:
    account = await me(request)
    async with request.app[CONTEXT_KEY].sessions() as session:
        requester = await _target(request, session)
        row = await queries.follow_between(session, requester.id, account.id)
    if row is None or row.state != "requested":
        raise not_found()
    await follows.decide_request(request.app[CONTEXT_KEY], account, row.id,
                                 request.match_info["decision"] == "authorize")
    return await _relationship(request, requester)


@routes.get(rf"/api/v1/accounts/{ID}/featured_tags")
@routes.get(rf"/api/v1/accounts/{ID}/lists")
@routes.get(rf"/api/v1/accounts/{ID}/identity_proofs")
@endpoint("read:accounts", user=False, public=True)
async def empty_for_account(request: web.Request) -> web.Response:
    async with request.app[CONTEXT_KEY].sessions() as session:
        await _target(request, session)
    return reply([])


@routes.get("/api/v1/featured_tags")
@routes.get("/api/v1/featured_tags/suggestions")
@routes.get("/api/v1/endorsements")
@routes.get("/api/v1/accounts/familiar_followers")
@endpoint("read:accounts")
async def empty_lists(request: web.Request) -> web.Response:
    return reply([])


@routes.post("/api/v1/accounts")
@endpoint("write:accounts", user=False)
async def register(request: web.Request) -> web.Response:
    """Sign-up from an app (with the app's client-credentials token). Returns a token for the new account."""
    ctx = request.app[CONTEXT_KEY]
    found = await bearer(request)
    assert found is not None
    if found.account is not None:
        raise ApiError(403, "This method requires an app token (client credentials), not a user's")
    p = await params(request)
    if not p.flag("agreement", False):
        raise unprocessable("Agreement must be accepted")
    try:
        account = await accounts.sign_up(
            ctx, p.text("username"), p.text("email"), p.text("password"), display_name=p.text("username"),
            invite_code=p.text("invite_code") or None, request_note=p.text("reason"))
    except ValidationError as exc:
        if "form" in exc.errors and ctx.config.instance.registration == "closed":
            raise ApiError(403, "Registrations are closed on this instance") from None
        raise
    issued = await oauth.issue_token(ctx, found.app, account.id, " ".join(found.scopes), refresh=True)
    return reply(entities_oauth.token(issued.access_token, issued.row.scopes, issued.row.created_at))
