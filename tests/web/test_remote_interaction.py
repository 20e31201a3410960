"""Follow and like from anywhere over HTTP, on SQLite and PostgreSQL: the visitor's buttons and /interact page
(bad input, our own server as the visitor's home, the remembered server, the rate limit), and the template we
serve, /authorize_interaction (login and back, follow and like through it, bad and unknown addresses).
Resolution against another running server is in tests/flows/test_remote_interaction.py."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, quote, urlsplit

from aiohttp.test_utils import TestClient

from cara_fed.context import CONTEXT_KEY
from cara_fed.models import Follow, Like
from tests import images
from tests.conftest import csrf_from, sign_up
from tests.web.test_artworks import upload
from tests.web.test_interactions import artist_with_work, rows

ORIGIN = "http://test.example"  # the test config's domain, with the default scheme


async def publish_work(artist: TestClient) -> str:
    response = await upload(artist, [("a.jpg", images.jpeg(800, 600), "A ferry at night")])
    assert response.status == 303
    return response.headers["Location"]


async def test_visitors_get_follow_and_like_buttons_that_work_without_javascript(client: TestClient, aiohttp_client):
    work_path = await artist_with_work(client)
    visitor = await aiohttp_client(client.server)
    portfolio = await (await visitor.get("/@ada")).text()
    assert 'href="/interact?account=ada"' in portfolio and 'data-interact="Follow ada"' in portfolio
    assert '<dialog class="interact-dialog"' in portfolio and 'value="@ada@test.example" readonly' in portfolio
    assert 'src="/static/app.js?v=' in portfolio
    artwork_id = work_path.rsplit("/", 1)[1]
    page = await (await visitor.get(work_path)).text()
    for action in ("like", "boost", "reply"):
        assert f'href="/interact?artwork={artwork_id}&amp;action={action}"' in page
    assert f'value="{ORIGIN}{work_path}" readonly' in page  # the work's address to paste elsewhere
    # The artist (logged in) sees their own tools, not the visitor's buttons.
    own = await (await client.get("/@ada")).text()
    assert "/interact?account=ada" not in own and "interact-dialog" not in own

    # The no-JavaScript page: the form, the copy-the-handle box and a form-action that allows the redirect.
    response = await visitor.get("/interact?account=ada")
    html = await response.text()
    assert response.status == 200 and response.headers["Cache-Control"] == "no-store"
    assert "Follow ada from your server" in html
    assert '<label for="page-handle">Your handle or server</label>' in html
    assert '<input type="hidden" name="account" value="ada">' in html
    assert 'value="@ada@test.example" readonly' in html
    assert "form-action 'self' https:" in response.headers["Content-Security-Policy"]
    liked = await (await visitor.get(f"/interact?artwork={artwork_id}&action=boost")).text()
    assert "Boost “" in liked and '<input type="hidden" name="action" value="boost">' in liked


    # Bad input: a clear message on the same page (or in JSON for the dialog), never a 500.
    assert (await visitor.get("/interact?account=nobody")).status == 404
    assert (await visitor.get("/interact?artwork=12abc&action=like")).status == 400
    assert (await visitor.get("/interact", params={"artwork": "²", "action": "like"})).status == 400
    assert (await visitor.get("/interact?artwork=1&action=dance")).status == 400
    assert (await visitor.get("/interact?artwork=999999&action=like")).status == 404
    for typed in ("", "not a server", "@@", "javascript:alert(1)", "@you@", "x" * 300):
        response = await visitor.get("/interact", params={"account": "ada", "handle": typed})
        html = await response.text()
        assert response.status == 400, typed
        assert "Enter" in html and 'aria-invalid="true"' in html and 'value="@ada@test.example" readonly' in html
    response = await visitor.get("/interact", params={"account": "ada", "handle": "no spaces please"},
                                 headers={"Accept": "application/json"})
    assert response.status == 400
    body = await response.json()
    assert "mastodon.social" in body["error"] and body["copy"] == "@ada@test.example"


async def test_a_visitor_from_this_same_server_goes_to_our_own_template_and_it_is_remembered(client, aiohttp_client):
    await artist_with_work(client)
    visitor = await aiohttp_client(client.server)
    response = await visitor.get("/interact", params={"account": "ada", "handle": "@Bea@TEST.example"},
                                 allow_redirects=False)
    assert response.status == 303
    target = urlsplit(response.headers["Location"])
    assert (target.scheme, target.netloc, target.path) == ("http", "test.example", "/authorize_interaction")
    assert parse_qs(target.query) == {"uri": [f"{ORIGIN}/users/ada"], "intent": ["follow"]}
    cookie = response.cookies["cara_home_server"]
    assert cookie.value == quote("@Bea@test.example", safe="") and not cookie["httponly"]
    page = await (await visitor.get("/interact?account=ada")).text()
    assert 'value="@Bea@test.example"' in page  # filled in next time
    # JSON for the dialog: the same answer.
    answer = await visitor.get("/interact", params={"account": "ada", "handle": "test.example"},
                               headers={"Accept": "application/json"})
    assert answer.status == 200
    ada = quote(ORIGIN + "/users/ada", safe="")
    assert (await answer.json())["url"] == f"{ORIGIN}/authorize_interaction?uri={ada}&intent=follow"


async def test_the_lookup_rate_limit_answers_429(config, aiohttp_client):
    from cara_fed_run.app import create_app

    config.security.remote_lookups_per_minute = 2
    client = await aiohttp_client(create_app(config, jobs="inline", migrate=True))
    await sign_up(client, "ada")
    visitor = await aiohttp_client(client.server)
    statuses = [(await visitor.get("/interact", params={"account": "ada", "handle": "test.example"},
                                   allow_redirects=False)).status for _ in range(3)]
    assert statuses == [303, 303, 429]
    limited = await visitor.get("/interact", params={"account": "ada", "handle": "test.example"})
    assert limited.status == 429 and int(limited.headers["Retry-After"]) >= 1
    assert "Too many lookups" in await limited.text()


async def test_authorize_interaction_logs_in_comes_back_follows_and_likes(client: TestClient, aiohttp_client):
    await sign_up(client, "ada")
    bea = await aiohttp_client(client.server)
    uri = f"{ORIGIN}/users/ada"
    path = f"/authorize_interaction?uri={quote(uri, safe='')}&intent=follow"
    response = await bea.get(path, allow_redirects=False)
    assert response.status == 303
    login = response.headers["Location"]
    (path,) = parse_qs(urlsplit(login).query)["next"]  # exactly this request, query and all
    assert urlsplit(path).path == "/authorize_interaction"
    assert parse_qs(urlsplit(path).query) == {"uri": [uri], "intent": ["follow"]}
    assert (await sign_up(bea, "bea")).status == 303  # a new account here; then log in again the usual way
    await bea.post("/logout", data={"csrf_token": await csrf_from(bea, "/settings")})
    form = await (await bea.get(login)).text()
    assert f'name="next" value="{path.replace("&", "&amp;")}"' in form
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    back = await bea.post("/login", data={"csrf_token": token, "login": "bea", "password": "correct horse 1",
                                          "next": path}, allow_redirects=False)
    assert back.status == 303 and back.headers["Location"] == path

    page = await bea.get(path)
    html = await page.text()
    assert page.status == 200 and "Follow ada?" in html and "@ada@test.example" in html
    account_id = re.search(r'action="/accounts/(\d+)/follow"', html).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    assert (await bea.post(f"/accounts/{account_id}/follow", data={})).status == 403  # CSRF on the form
    followed = await bea.post(f"/accounts/{account_id}/follow", data={"csrf_token": token}, allow_redirects=False)
    assert followed.status == 303 and followed.headers["Location"] == "/@ada"
    assert await rows(client.server.app[CONTEXT_KEY], Follow, followee_id=int(account_id), state="accepted") == 1
    again = await (await bea.get("/authorize_interaction?uri=acct:ada@test.example")).text()
    assert "You follow them." in again and "/follow\"" not in again

    # One of our artworks: Like (the asked-for action) comes first.
    work_path = await publish_work(client)
    page = await bea.get("/authorize_interaction", params={"uri": ORIGIN + work_path, "intent": "like"})
    html = await page.text()
    artwork_id = work_path.rsplit("/", 1)[1]
    assert page.status == 200 and f'action="/artworks/{artwork_id}/like"' in html
    assert 'class="button primary" type="submit" aria-pressed="false">' in html  # the asked-for action first
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    liked = await bea.post(f"/artworks/{artwork_id}/like", data={"csrf_token": token}, allow_redirects=False)
    assert liked.status == 303
    assert await rows(client.server.app[CONTEXT_KEY], Like, artwork_id=int(artwork_id)) == 1


async def test_authorize_interaction_bad_and_unknown_addresses_are_400_and_404(client: TestClient, aiohttp_client):
    await sign_up(client, "ada")
    anonymous = await aiohttp_client(client.server)
    missing = await anonymous.get("/authorize_interaction", allow_redirects=False)
    assert missing.status == 400 and "uri parameter is missing" in await missing.text()
    for uri, status, says in [
        ("not a handle at all", 400, "handle like"),
        ("acct:nobody@test.example", 404, "no one called @nobody"),
        (f"{ORIGIN}/about", 404, "not an artist or an artwork"),
        (f"{ORIGIN}/@ada/424242", 404, "not an artist or an artwork"),
        (f"{ORIGIN}/actor", 404, "not an artist or an artwork"),
        ("https://" + "x" * 2100, 400, "Give the address"),
        ("ftp://test.example/users/ada", 400, "handle like"),
    ]:
        response = await client.get("/authorize_interaction", params={"uri": uri})
        html = await response.text()
        assert response.status == status, (uri, html[-600:])
        assert says in html and "Nothing to show" in html, uri
