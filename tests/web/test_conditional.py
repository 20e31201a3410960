"""Conditional GETs: pages, AP documents and API answers carry a weak ETag and answer 304 to a client that
holds them; anonymous pages may be kept by browsers and shared caches for [cache] page_seconds, varying with
the session cookie so a signed-in visitor never gets the anonymous copy."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests import images
from tests.conftest import sign_up
from tests.web.test_artworks import upload

AP = "application/activity+json"


async def anonymous(client: TestClient) -> None:
    client.session.cookie_jar.clear()


async def test_anonymous_pages_revalidate_and_change_with_their_content(client, config):
    await sign_up(client, "ada")
    await anonymous(client)
    first = await client.get("/@ada")
    etag = first.headers["ETag"]
    assert first.status == 200 and etag.startswith('W/"')
    assert first.headers["Cache-Control"] == f"public, max-age={config.cache.page_seconds}"
    assert "cookie" in first.headers["Vary"].lower()

    again = await client.get("/@ada", headers={"If-None-Match": etag})
    assert again.status == 304 and await again.read() == b""
    assert again.headers["ETag"] == etag and again.headers["X-Robots-Tag"] == first.headers["X-Robots-Tag"]
    assert (await client.get("/@ada", headers={"If-None-Match": etag.removeprefix("W/")})).status == 304
    assert (await client.get("/@ada", headers={"If-None-Match": '"other", ' + etag})).status == 304
    assert (await client.get("/@ada", headers={"If-None-Match": "*"})).status == 304
    assert (await client.get("/@ada", headers={"If-None-Match": '"other"'})).status == 200
    gzip = await client.get("/@ada", headers={"If-None-Match": etag, "Accept-Encoding": "gzip"})
    assert gzip.status == 304  # weak: the compressed copy is the same content

    await sign_up(client, "bea")  # a write in between that this page does not show: still the same page
    await anonymous(client)
    assert (await client.get("/@ada", headers={"If-None-Match": etag})).status == 304


async def test_a_new_work_changes_the_portfolios_etag(client):
    await sign_up(client, "ada")
    signed_in = await client.get("/@ada")
    assert signed_in.status == 200 and "ETag" in signed_in.headers
    assert "public" not in signed_in.headers.get("Cache-Control", "")  # never shared: it is ada's own view
    await anonymous(client)
    before = (await client.get("/@ada")).headers["ETag"]
    await sign_up(client, "ada2")
    assert (await upload(client, [("a.jpg", images.jpeg(600, 400), "A ferry")])).status in (202, 303)
    await anonymous(client)
    assert (await client.get("/@ada", headers={"If-None-Match": before})).status == 304  # ada's did not change
    changed = await client.get("/@ada2", headers={"If-None-Match": before})
    assert changed.status == 200 and changed.headers["ETag"] != before


async def test_actor_documents_revalidate(client):
    await sign_up(client, "ada")
    await anonymous(client)
    actor = await client.get("/users/ada", headers={"Accept": AP})
    assert actor.status == 200 and actor.content_type == "application/activity+json"
    etag = actor.headers["ETag"]
    assert "public" not in actor.headers.get("Cache-Control", "")  # what a signer may see is not for shared caches
    again = await client.get("/users/ada", headers={"Accept": AP, "If-None-Match": etag})
    assert again.status == 304 and "accept" in again.headers["Vary"].lower()


def vary_tokens(response) -> set[str]:
    return {token.strip().lower() for token in response.headers.get("Vary", "").split(",") if token.strip()}


async def test_vary_names_accept_and_accept_encoding_as_separate_tokens(client):
    """A shared cache keys the stored copy by every header Vary names: a page sent gzip-compressed must still name
    Accept (HTML and ActivityStreams share the URL), not only Accept-Encoding, which merely contains the word."""
    await sign_up(client, "ada")
    for signed_in in (True, False):
        if not signed_in:
            await anonymous(client)
        for _ in range(2):  # rendered, then from the page cache
            page = await client.get("/@ada", headers={"Accept": "text/html", "Accept-Encoding": "gzip"})
            assert page.status == 200 and page.headers.get("Content-Encoding") == "gzip"
            assert {"accept", "accept-encoding", "cookie"} <= vary_tokens(page), page.headers.get("Vary")
            assert len(page.headers.getall("Vary")) == 1
            if signed_in:  # names its reader: kept by the browser only, revalidated with the ETag
                assert page.headers["Cache-Control"] == "private, no-cache" and "ETag" in page.headers
    document = await client.get("/users/ada", headers={"Accept": AP, "Accept-Encoding": "gzip"})
    assert "accept" in vary_tokens(document), document.headers.get("Vary")


async def test_gzip_answers_hold_the_same_bytes_and_caches_keep_them_plain(client):
    """Bodies are compressed on their way out, outside the layers that keep or hash them: a gzip reader first
    must not leave compressed bytes in the ActivityStreams document cache or the page cache for a plain reader."""
    import zlib

    await sign_up(client, "ada")
    await anonymous(client)
    for path, accept in (("/users/ada", AP), ("/@ada", "text/html"), ("/api/v1/instance", "application/json")):
        packed = await client.get(path, headers={"Accept": accept, "Accept-Encoding": "gzip"}, auto_decompress=False)
        assert packed.status == 200 and packed.headers["Content-Encoding"] == "gzip", path
        raw = await packed.read()
        assert int(packed.headers["Content-Length"]) == len(raw)
        plain = await client.get(path, headers={"Accept": accept, "Accept-Encoding": "identity"})
        assert plain.status == 200 and "Content-Encoding" not in plain.headers, path
        body = await plain.read()
        assert zlib.decompress(raw, wbits=31) == body, path
        if accept != "text/html":
            assert (await plain.json(content_type=None))  # plain JSON, not gzip bytes from a cache
        assert plain.headers["ETag"] == packed.headers["ETag"]  # one representation's validator for both
