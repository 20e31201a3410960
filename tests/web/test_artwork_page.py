"""The artwork page read as plain rows (cara_fed/queries_artwork.py): the shown work's details and tags, and the
artist's latest visible works beside it."""

from tests import images
from tests.conftest import sign_up
from tests.web.test_artworks import upload


async def post_work(client, title: str, **fields: str) -> int:  # type: ignore[no-untyped-def]
    response = await upload(client, [("a.png", images.png(60, 40), f"alt of {title}")], title=title, **fields)
    assert response.status == 303, await response.text()
    return int(response.headers["Location"].rsplit("/", 1)[1])


def more_section(html: str) -> str:
    return html.split('id="more-h"', 1)[1] if 'id="more-h"' in html else ""


async def test_artwork_page_shows_its_details_and_the_latest_other_works(client):
    await sign_up(client, "ada")
    ids = [await post_work(client, f"Work {i}", tags="zeta, Alpha", field="Illustration") for i in range(8)]
    secret = await post_work(client, "Secret", visibility="followers")
    client.session.cookie_jar.clear()

    html = await (await client.get(f"/@ada/{ids[0]}")).text()
    assert "<h1>Work 0</h1>" in html and 'alt="alt of Work 0"' in html
    assert "<dt>Field</dt><dd>Illustration</dd>" in html
    assert html.index('href="/tags/alpha"') < html.index('href="/tags/zeta"')  # sorted, as the model's
    more = more_section(html)
    shown = [i for i in ids if f'href="/@ada/{i}"' in more]
    assert shown == ids[2:], shown  # six, newest first on the page; not the shown work, not a followers-only one
    assert more.index(f'href="/@ada/{ids[7]}"') < more.index(f'href="/@ada/{ids[2]}"')
    assert f'href="/@ada/{secret}"' not in more

    newest = more_section(await (await client.get(f"/@ada/{ids[7]}")).text())
    assert [i for i in ids if f'href="/@ada/{i}"' in newest] == ids[1:7]
    assert (await client.get(f"/@ada/{secret}")).status == 404  # followers-only: not for an anonymous visitor


async def test_artwork_page_of_another_artist_or_none_is_not_found(client):
    await sign_up(client, "ada")
    mine = await post_work(client, "Mine")
    client.session.cookie_jar.clear()
    await sign_up(client, "bo")
    theirs = await post_work(client, "Theirs")
    assert (await client.get(f"/@ada/{theirs}")).status == 404
    assert (await client.get(f"/@bo/{mine}")).status == 404
    assert (await client.get("/@ada/2147483647")).status == 404
    alone = await (await client.get(f"/@bo/{theirs}")).text()
    assert "<h1>Theirs</h1>" in alone and 'id="more-h"' not in alone  # no other works: no "more" section
