"""Follow and like from anywhere.

`/interact`: a visitor who is not logged in here names their home server; the federation edge finds that
server's subscribe template or FEP-3b86 intent (through ctx.directory) and we send them there (303, or JSON
for the dialog in app.js). The page itself is the no-JavaScript fallback, with a copy-the-handle box.

`/authorize_interaction?uri=…`: the template we serve, for people with an account here who found something
on another site: log in, see the account or artwork, and follow / like / boost it with the usual forms.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

from aiohttp import web
from yarl import URL

from cara_fed import queries, queries_safety, queries_social
from cara_fed.context import CONTEXT_KEY
from cara_fed.directory import INTENTS, LookupFailed, home_server
from cara_fed.models import Account, Artwork
from cara_fed.observe import client_address
from cara_fed.ratelimit import shared_limiter
from web.keys import ACCOUNT
from web.middleware import request_csp
from web.noai import RateLimiter
from web.render import artwork_path, profile_path, render

routes = web.RouteTableDef()
HOME_COOKIE = "cara_home_server"  # the visitor's last home server, so the next click is one keypress
HOME_COOKIE_DAYS = 365
ACTIONS = {"like": "like", "boost": "announce", "reply": "reply"}  # the artwork page's buttons -> intents
LIMITER = web.AppKey("remote_interact_limiter", RateLimiter)
NO_STORE = {"Cache-Control": "no-store"}


def setup(app: web.Application) -> None:
    per_minute = app[CONTEXT_KEY].config.security.remote_lookups_per_minute
    app[LIMITER] = RateLimiter(per_minute, shared=shared_limiter(app[CONTEXT_KEY].config, "remote-lookups",
                                                                 per_minute, 60))
    app.router.add_routes(routes)


def _csp(request: web.Request) -> str:
    # The form on /interact ends in a redirect to the visitor's own server, which form-action must allow.
    targets = "https: http:" if request.app[CONTEXT_KEY].config.federation.allow_private_addresses else "https:"
    return request_csp(request).replace("form-action 'self'", f"form-action 'self' {targets}")


async def _target(request: web.Request) -> tuple[Account | Artwork, str]:
    """(the account or artwork, the intent) named by ?account=NAME (our artists) or ?artwork=ID&action=like|boost|reply
    (any public work shown here: ours, or our copy of a remote one, whose own id is then what we hand on)."""
    query = request.query
    async with request.app[CONTEXT_KEY].sessions() as session:
        if "account" in query:
            account = await queries.local_account(session, query["account"][:64])
            if account is None or account.status != "active" or account.kind == "application":
                raise web.HTTPNotFound(text="There is no artist by that name here.")
            return account, "follow"
        raw, action = query.get("artwork", ""), query.get("action", "like")
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 9 or action not in ACTIONS:
            raise web.HTTPBadRequest(text="Say whom to follow (?account=name) or which artwork to like, boost "
                                          "or reply to (?artwork=number&action=like).")
        work = await session.get(Artwork, int(raw))
        if work is None or not queries.can_view(work, None):
            raise web.HTTPNotFound(text="This artwork does not exist or is not public.")
        return work, ACTIONS[action]


def _copy_text(request: web.Request, target: Account | Artwork) -> str:
    """What the visitor can paste into their server's search instead: the handle, or the work's address."""
    ctx = request.app[CONTEXT_KEY]
    if isinstance(target, Artwork):
        return target.uri or ctx.url(artwork_path(target))  # a remote work: its own id, which servers resolve
    return f"@{target.username}@{ctx.config.server.domain}"


def _page(request: web.Request, target: Account | Artwork, intent: str, *, home: str = "", error: str = "",
          status: int = 200) -> web.Response:
    response = render(request, "interact.html", {
        "target": target, "intent": intent, "is_artwork": isinstance(target, Artwork), "home": home,
        "error": error, "copy_text": _copy_text(request, target),
        "back": artwork_path(target) if isinstance(target, Artwork) else profile_path(target)},
        status=status, headers=NO_STORE)
    response.headers["Content-Security-Policy"] = _csp(request)
    return response


def _wants_json(request: web.Request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _failure(request: web.Request, target: Account | Artwork, intent: str, home: str, message: str,
             status: int) -> web.Response:
    if _wants_json(request):
        return web.json_response({"error": message, "copy": _copy_text(request, target)}, status=status,
                                 headers=NO_STORE)
    return _page(request, target, intent, home=home, error=message, status=status)


@routes.get("/interact", name="remote_interact")
async def interact(request: web.Request) -> web.Response:
    target, intent = await _target(request)
    typed = request.query.get("handle")
    if typed is None:  # the plain page: ask for the home server, remembered from last time
        return _page(request, target, intent, home=unquote(request.cookies.get(HOME_COOKIE, ""))[:200])
    typed = typed.strip()[:200]
    ctx = request.app[CONTEXT_KEY]
    try:
        home = home_server(typed)
    except LookupFailed as exc:
        return _failure(request, target, intent, typed, str(exc), 400)
    wait = await request.app[LIMITER].wait(client_address(request))
    if wait:
        response = _failure(request, target, intent, typed, "Too many lookups from your address; wait a minute "
                            "and try again.", 429)
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    if ctx.directory is None:
        return _failure(request, target, intent, typed, "This server cannot look up other servers.", 404)
    try:
        url = await ctx.directory.interaction_url(home, intent, target)
    except LookupFailed as exc:
        return _failure(request, target, intent, typed, str(exc), 400 if exc.bad_input else 404)
    if _wants_json(request):
        response = web.json_response({"url": url}, headers=NO_STORE)
        _remember(request, response, str(home))
        return response
    redirect = web.HTTPSeeOther(_exactly(url), headers=NO_STORE)
    _remember(request, redirect, str(home))
    raise redirect


def _exactly(url: str) -> URL:
    """A Location sent as built: yarl would otherwise re-quote it, decoding escapes a server may need."""
    return URL(url, encoded=url.isascii())


def _remember(request: web.Request, response: web.StreamResponse, home: str) -> None:
    # Not HttpOnly: app.js reads it to fill the dialog in (the page itself comes from the anonymous cache).
    response.set_cookie(HOME_COOKIE, quote(home, safe=""), max_age=HOME_COOKIE_DAYS * 86400, samesite="Lax", path="/",
                        secure=request.app[CONTEXT_KEY].config.server.scheme == "https")


# --- the template we serve ----------------------------------------------------------------------------


def _error(request: web.Request, message: str, status: int, uri: str = "") -> web.Response:
    return render(request, "authorize_interaction.html", {"error": message, "uri": uri}, status=status,
                  headers=NO_STORE)


@routes.get("/authorize_interaction", name="authorize_interaction")
async def authorize_interaction(request: web.Request) -> web.Response:
    uri = request.query.get("uri", "").strip()
    if not uri:
        return _error(request, "Nothing to show: the link did not say which account or artwork it is about "
                               "(the uri parameter is missing).", 400)
    viewer = request[ACCOUNT]
    if viewer is None:  # log in here first, then come back to exactly this request
        raise web.HTTPSeeOther(_exactly("/login?next=" + quote(request.raw_path, safe="")))
    ctx = request.app[CONTEXT_KEY]
    if ctx.directory is None:
        return _error(request, "This server cannot look up other servers.", 404, uri)
    try:
        target = await ctx.directory.resolve_uri(uri)
    except LookupFailed as exc:
        return _error(request, str(exc), 400 if exc.bad_input else 404, uri)
    intent = request.query.get("intent", "")
    context: dict = {"uri": uri, "intent": intent if intent in INTENTS else "", "here": request.raw_path}
    async with ctx.sessions() as session:
        if isinstance(target, Artwork):
            work = await session.get(Artwork, target.id)  # loaded with this session's relationships
            fetching = work is not None and work.state == "processing" and work.uri is not None
            if work is None or not (fetching or await queries.can_view_async(session, work, viewer)):
                return _error(request, "This artwork is not visible to you.", 404, uri)
            context.update(work=work, account=work.account, fetching=fetching,
                           social=await queries_social.artwork_social(session, work, viewer))
        else:
            account = await session.get(Account, target.id)
            context.update(account=account, relation=await queries.follow_between(session, viewer.id, account.id),
                           safety=await queries_safety.safety_relation(session, viewer, account),
                           counts=await queries.count_follows(session, account))
    return render(request, "authorize_interaction.html", context, headers=NO_STORE)
