"""Who may open a derivative, through HTTP (SQLite and PostgreSQL): public works' files for everyone and cached
for a year; followers-only works' files by their unguessable address but never in shared caches; files of held
or otherwise unpublished works only for the owner and moderators — and the protection panel says which."""

from __future__ import annotations

import re

from sqlalchemy import select

from cara_fed.context import CONTEXT_KEY
from cara_fed.models import Artwork
from tests import images
from tests.conftest import sign_up
from tests.web.test_admin import make_admin
from tests.web.test_artworks import upload
from tests.web.test_review import generated_png
from tests.web.test_social import login


async def media_urls(client, ctx, title: str) -> list[str]:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        work = await session.scalar(select(Artwork).where(Artwork.title == title))
        return [f"/media/{d.key}" for image in work.images for d in image.asset.derivatives]


async def test_public_followers_only_and_held_files(client, ctx):
    ctx.config.detection.local_policy = "hold"
    await make_admin(ctx, client, "boss")
    await sign_up(client, "ada")
    assert (await upload(client, [("a.jpg", images.jpeg(), "open")], title="Open")).status == 303
    assert (await upload(client, [("f.jpg", images.jpeg(), "friends")], title="Friends",
                         visibility="followers")).status == 303
    assert (await upload(client, [("gen.png", generated_png(), "held")], title="Held")).status == 303
    public, followers, held = [await media_urls(client, ctx, t) for t in ("Open", "Friends", "Held")]
    assert public and followers and held  # the held work's derivatives exist: it is kept for review

    # The owner opens all of them; only the public work's files may sit in shared caches.
    for url, cache in ((public[0], "public, max-age=31536000, immutable"),
                       (followers[0], "private, max-age=86400, immutable"), (held[0], "private, no-store")):
        response = await client.get(url)
        assert response.status == 200 and response.headers["Cache-Control"] == cache, url
    panel = await (await client.get(f"/artworks/{await _id(ctx, 'Held')}/protection")).text()
    assert "Only <strong>you and the moderators</strong> can open" in panel
    panel = await (await client.get(f"/artworks/{await _id(ctx, 'Friends')}/protection")).text()
    assert "unguessable addresses" in panel and "shared caches" in panel

    client.session.cookie_jar.clear()  # a stranger with the addresses
    assert (await client.get(public[0])).status == 200
    friends = await client.get(followers[0])
    assert friends.status == 200 and friends.headers["Cache-Control"].startswith("private")
    assert "noindex" in friends.headers["X-Robots-Tag"] and "noai" in friends.headers["X-Robots-Tag"]
    for url in held:
        assert (await client.get(url)).status == 404

    await sign_up(client, "eve")  # another artist here: still not hers to see
    assert (await client.get(held[0])).status == 404
    await login(client, "boss", "admin password")  # a moderator reviewing the case
    assert (await client.get(held[0])).status == 200


async def _id(ctx, title: str) -> int:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        return await session.scalar(select(Artwork.id).where(Artwork.title == title))


async def test_a_takedown_closes_the_files_at_once(client, ctx):
    """A published work that is held stops being served to the public at once in the process that held it
    (other web processes follow within the access cache's minute)."""
    await make_admin(ctx, client, "boss")
    await sign_up(client, "ada")
    assert (await upload(client, [("a.jpg", images.jpeg(), "open")], title="Open")).status == 303
    url = (await media_urls(client, ctx, "Open"))[0]
    client.session.cookie_jar.clear()
    assert (await client.get(url)).status == 200
    async with client.server.app[CONTEXT_KEY].transaction() as tx:  # the serving process's own context
        work = await tx.session.scalar(select(Artwork).where(Artwork.title == "Open"))
        work.state = "held"
    assert (await client.get(url)).status == 404
    assert re.fullmatch(r"/media/[0-9a-f]{2}/[0-9a-f]{32}\.(jpg|webp)", url)
