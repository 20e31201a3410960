"""@mentions on our pages (issue 16, item 4): a description or a bio naming a local account links it as
Mastodon marks it up; unknown names, e-mail addresses and names inside links stay as written."""

from __future__ import annotations

import re

from tests import images
from tests.conftest import csrf_from, sign_up
from tests.web.api_support import account_with_token, post_work
from tests.web.test_artworks import upload


def card(href: str, name: str) -> str:
    return f'<span class="h-card"><a href="{href}" class="u-url mention">@<span>{name}</span></a></span>'


async def test_a_description_links_the_local_account_it_mentions(client, ctx):
    await sign_up(client, "bea")
    await sign_up(client, "ada")
    posted = await upload(client, [("a.jpg", images.jpeg(400, 300), "A heron")], title="Heron",
                          description="Drawn with @bea, not @nobody; mail bea@example.org or [@bea](https://x.example/).")
    assert posted.status == 303
    html = await (await client.get(posted.headers["Location"])).text()
    assert card(ctx.url("/@bea"), "bea") in html
    assert "@nobody" in html and "bea@example.org" in html and html.count("u-url mention") == 1
    assert '<a href="https://x.example/" rel="nofollow noopener ugc">@bea</a>' in html


async def test_a_bio_links_the_local_account_it_mentions(client, ctx):
    await sign_up(client, "bea")
    await sign_up(client, "ada")
    token = await csrf_from(client, "/settings")
    saved = await client.post("/settings", data={"csrf_token": token, "display_name": "Ada",
                                                 "bio": "Studio with @bea and @ada@test.example. #ink"},
                              allow_redirects=False)
    assert saved.status == 303
    html = await (await client.get("/@ada")).text()
    about = re.search(r'<div class="prose">(.*?)</div>', html, re.S)
    assert about is not None
    assert card(ctx.url("/@bea"), "bea") in about.group(1) and card(ctx.url("/@ada"), "ada") in about.group(1)
    assert 'class="mention hashtag"' in about.group(1)  # hashtags are still linked beside mentions


async def test_a_post_from_an_app_lists_and_links_its_mentions(client, ctx):
    bo, _ = await account_with_token(client, "bo")
    _, token = await account_with_token(client, "ada")
    posted = await post_work(client, token, "Heron\nWith @bo and @nobody.")
    assert posted["mentions"] == [{"id": str(bo.id), "username": "bo", "url": ctx.url("/@bo"), "acct": "bo"}]
    assert card(ctx.url("/@bo"), "bo") in posted["content"] and "@nobody" in posted["content"]
    fetched = await (await client.get(f"/api/v1/statuses/{posted['id']}")).json()
    assert fetched["mentions"] == posted["mentions"]
