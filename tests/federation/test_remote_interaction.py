"""Follow / like from anywhere, the federation side: which template we pick from a visitor's WebFinger (FEP-3b86
intents first, the oStatus subscribe template else), how it is filled in, the host-meta fallback, and the
failures a visitor must understand (unknown account, no template, a non-http template, a private address,
a server that does not answer). The visitor's server is a real aiohttp app on loopback; what WebFinger we
serve ourselves is in tests/federation/test_wellknown.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from cara_fed.config import load_config
from cara_fed.context import Context
from cara_fed.directory import HomeServer, LookupFailed, home_server
from federation.discovery.finger import lrdd_template
from federation.discovery.remote_interaction import FEP_3B86, SUBSCRIBE, choose_template, fill, interaction_url

OBJECT = "https://art.example/@ada/12"
PAGE = "https://art.example/@ada/12"


def jrd(*links: dict) -> dict:
    return {"subject": "acct:bob@home.example", "links": [{"rel": "self", "type": "application/activity+json",
                                                           "href": "https://home.example/users/bob"}, *links]}


def test_fep_intents_come_first_then_the_subscribe_template():
    both = jrd({"rel": SUBSCRIBE, "template": "https://h/authorize_interaction?uri={uri}"},
               {"rel": FEP_3B86 + "Like", "href": "https://h/intents/like?id={object}&back={on-success}"},
               {"rel": FEP_3B86.upper() + "FOLLOW", "template": "https://h/follow?o={object}"})
    assert choose_template(both, "like") == "https://h/intents/like?id={object}&back={on-success}"
    assert choose_template(both, "follow") == "https://h/follow?o={object}"  # rel compared case-insensitively
    assert choose_template(both, "announce") == "https://h/authorize_interaction?uri={uri}"
    assert choose_template(jrd({"rel": FEP_3B86 + "Object", "href": "https://h/o?id={object}"}), "like") \
        == "https://h/o?id={object}"
    # A Create intent is only a reply if it takes inReplyTo; a bare "share" page would post something new.
    share = jrd({"rel": FEP_3B86 + "Create", "href": "https://h/share?text={content}"},
                {"rel": SUBSCRIBE, "template": "https://h/ai?uri={uri}"})
    assert choose_template(share, "reply") == "https://h/ai?uri={uri}"
    reply = jrd({"rel": FEP_3B86 + "Create", "href": "https://h/new?re={inReplyTo}&text={content}"})
    assert choose_template(reply, "reply") == "https://h/new?re={inReplyTo}&text={content}"
    assert choose_template(jrd(), "follow") is None
    assert choose_template({"links": "nonsense"}, "follow") is None
    assert choose_template({"links": [{"rel": SUBSCRIBE, "template": 7}, "x"]}, "follow") is None


def test_fill_encodes_ours_and_empties_the_unknown():
    assert fill("https://h/ai?uri={uri}", OBJECT, PAGE) == f"https://h/ai?uri={quote(OBJECT, safe='')}"
    filled = fill("https://h/x?o={object}&r={inReplyTo}&ok={on-success}&no={on-cancel}&who={actor}&t={content}",
                  "https://a.example/n?x=1&y=2", PAGE)
    encoded = quote("https://a.example/n?x=1&y=2", safe="")
    assert filled == f"https://h/x?o={encoded}&r={encoded}&ok={quote(PAGE, safe='')}&no={quote(PAGE, safe='')}&who=&t="


def test_host_meta_lrdd_template():
    xrd = ('<?xml version="1.0"?><XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">'
           '<Link rel="other" template="https://x/{uri}"/>'
           "<Link rel='lrdd' type='application/jrd+json' template='https://social.example/wf?r={uri}&amp;x=1'/>"
           "</XRD>")
    assert lrdd_template(xrd) == "https://social.example/wf?r={uri}&x=1"
    assert lrdd_template('<XRD><Link rel="lrdd" href="https://x/"/></XRD>') is None
    assert lrdd_template("not xml at all") is None


@pytest.mark.parametrize(("typed", "expected"), [
    ("@bob@Home.Example", HomeServer("home.example", "bob")),
    ("bob@home.example", HomeServer("home.example", "bob")),
    ("acct:bob@home.example", HomeServer("home.example", "bob")),
    ("home.example", HomeServer("home.example")),
    (" https://home.example/@bob ", HomeServer("home.example")),
    ("127.0.0.1:8081", HomeServer("127.0.0.1:8081")),
])
def test_what_a_visitor_may_type(typed, expected):
    assert home_server(typed) == expected


@pytest.mark.parametrize("typed", ["", "bob", "@bob", "bob@", "home example", "https://", "-bad-.example",
                                   "javascript:alert(1)", "a@b@c.example"])
def test_what_a_visitor_may_not_type(typed):
    with pytest.raises(LookupFailed) as caught:
        home_server(typed)
    assert caught.value.bad_input


class HomeStub:
    """The visitor's server: WebFinger answers set per resource, an optional host-meta, an optional delay."""

    def __init__(self) -> None:
        self.jrds: dict[str, dict] = {}
        self.host_meta: str | None = None
        self.delay = 0.0
        self.asked: list[str] = []
        self.app = web.Application()
        self.app.router.add_get("/.well-known/webfinger", self.finger)
        self.app.router.add_get("/.well-known/host-meta", self.meta)
        self.app.router.add_get("/elsewhere/finger", self.finger)
        self.server = TestServer(self.app, host="127.0.0.1")

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server.port}"

    async def finger(self, request: web.Request) -> web.Response:
        self.asked.append(request.path_qs)
        await asyncio.sleep(self.delay)
        found = self.jrds.get(request.path + " " + request.query.get("resource", ""))
        if found is None:
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response(found, content_type="application/jrd+json")

    async def meta(self, request: web.Request) -> web.Response:
        if self.host_meta is None:
            return web.Response(status=404)
        return web.Response(text=self.host_meta, content_type="application/xrd+xml")


@pytest.fixture
async def home() -> AsyncIterator[HomeStub]:
    stub = HomeStub()
    await stub.server.start_server()
    try:
        yield stub
    finally:
        await stub.server.close()


@pytest.fixture
async def net_ctx(tmp_path: Path) -> AsyncIterator[Context]:
    """No database is touched here: a context for its config and its HTTP client."""
    context = Context.create(load_config(environ={
        "CARA_FED__SERVER__DATA_DIR": str(tmp_path / "data"), "CARA_FED__SERVER__DOMAIN": "art.example",
        "CARA_FED__FEDERATION__ALLOW_PRIVATE_ADDRESSES": "true"}))
    yield context
    await context.close()


async def test_a_handle_goes_to_its_fep_intent_and_a_bare_server_to_its_instance_actor(net_ctx, home):
    home.jrds[f"/.well-known/webfinger acct:bob@{home.host}"] = jrd(
        {"rel": SUBSCRIBE, "template": f"http://{home.host}/authorize_interaction?uri={{uri}}"},
        {"rel": FEP_3B86 + "Like", "href": f"http://{home.host}/intents/like?object={{object}}&done={{on-success}}"})
    home.jrds[f"/.well-known/webfinger acct:{home.host}@{home.host}"] = jrd(
        {"rel": SUBSCRIBE, "template": f"http://{home.host}/authorize_interaction?uri={{uri}}"})
    url = await interaction_url(net_ctx, HomeServer(home.host, "bob"), "like", OBJECT, PAGE)
    assert url == f"http://{home.host}/intents/like?object={quote(OBJECT, safe='')}&done={quote(PAGE, safe='')}"
    url = await interaction_url(net_ctx, HomeServer(home.host), "follow", OBJECT, PAGE)
    assert url == f"http://{home.host}/authorize_interaction?uri={quote(OBJECT, safe='')}"
    asked = len(home.asked)
    await interaction_url(net_ctx, HomeServer(home.host), "like", OBJECT, PAGE)
    assert len(home.asked) == asked  # the same server again within minutes: from the cache


async def test_webfinger_moved_elsewhere_is_found_through_host_meta(net_ctx, home):
    home.host_meta = (f'<XRD><Link rel="lrdd" template="http://{home.host}/elsewhere/finger?resource={{uri}}"/>'
                      "</XRD>")
    home.jrds[f"/elsewhere/finger acct:bob@{home.host}"] = jrd(
        {"rel": SUBSCRIBE, "template": f"http://{home.host}/ai?uri={{uri}}"})
    url = await interaction_url(net_ctx, HomeServer(home.host, "bob"), "follow", OBJECT, PAGE)
    assert url == f"http://{home.host}/ai?uri={quote(OBJECT, safe='')}"
    assert home.asked[0].startswith("/.well-known/webfinger?") and home.asked[1].startswith("/elsewhere/finger?")


async def test_failures_a_visitor_can_understand(net_ctx, home):
    with pytest.raises(LookupFailed, match=f"does not know @nobody@{home.host}"):
        await interaction_url(net_ctx, HomeServer(home.host, "nobody"), "follow", OBJECT, PAGE)
    home.jrds[f"/.well-known/webfinger acct:{home.host}@{home.host}"] = jrd()
    with pytest.raises(LookupFailed, match="did not tell us where to send you.*full handle"):
        await interaction_url(net_ctx, HomeServer(home.host), "follow", OBJECT, PAGE)
    home.jrds[f"/.well-known/webfinger acct:eve@{home.host}"] = jrd(
        {"rel": SUBSCRIBE, "template": "javascript:alert({uri})"})
    with pytest.raises(LookupFailed, match="will not send you"):
        await interaction_url(net_ctx, HomeServer(home.host, "eve"), "follow", OBJECT, PAGE)
    home.delay = 1.0
    with pytest.raises(LookupFailed, match="did not answer in time"):
        await interaction_url(net_ctx, HomeServer(home.host, "slow"), "follow", OBJECT, PAGE, timeout=0.3)


async def test_private_addresses_are_refused_unless_allowed(net_ctx, home):
    home.jrds[f"/.well-known/webfinger acct:bob@{home.host}"] = jrd(
        {"rel": SUBSCRIBE, "template": f"http://{home.host}/ai?uri={{uri}}"})
    net_ctx.config.federation.allow_private_addresses = False  # the production default
    for host in (home.host, "localhost", "10.0.0.8", "[::1]:8080"):
        with pytest.raises(LookupFailed, match="is not a public server"):
            await interaction_url(net_ctx, HomeServer(host, "bob"), "follow", OBJECT, PAGE)
    assert home.asked == []  # nothing reached the loopback server
