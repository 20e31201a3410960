"""Files a re-stamp replaces keep their URLs for the grace period: a page rendered (or cached, or federated) a
moment before a licence change or a moderator's label must not show broken images. Retention deletes them
after [retention] replaced_media_hours; a deleted work's go with it."""

from __future__ import annotations

import re
from datetime import timedelta

from cara_fed.db import utcnow
from cara_fed.services import retention
from tests import images
from tests.conftest import csrf_from, sign_up
from tests.web.test_artworks import upload

CC_BY = "https://creativecommons.org/licenses/by/4.0/"
MEDIA_RE = re.compile(r"/media/([0-9a-f]{2}/[0-9a-f]{32}\.(?:jpg|webp))")


async def shown_keys(client, path: str) -> set[str]:  # type: ignore[no-untyped-def]
    return set(MEDIA_RE.findall(await (await client.get(path)).text()))


async def change_licence(client, artwork_id: int, licence: str) -> None:  # type: ignore[no-untyped-def]
    token = await csrf_from(client, f"/artworks/{artwork_id}/edit")
    edited = await client.post(f"/artworks/{artwork_id}/edit", data={
        "csrf_token": token, "title": "Night ferry", "description": "", "tags": "", "noai": "on",
        "license": licence, "visibility": "public"}, allow_redirects=False)
    assert edited.status == 303


async def test_replaced_files_answer_through_the_grace_period_then_go(client, ctx, config):
    await sign_up(client, "ada")
    location = (await upload(client, [("a.jpg", images.jpeg(900, 600), "A ferry")])).headers["Location"]
    artwork_id = int(location.rsplit("/", 1)[1])
    before = await shown_keys(client, location)
    assert before

    # The XMP changes, so every file gets a new key.
    await change_licence(client, artwork_id, CC_BY)
    after = await shown_keys(client, location)
    assert after and not after & before
    for key in before:  # the old page's images still load, with the work's NoAI headers
        old = await client.get(f"/media/{key}")
        assert old.status == 200 and old.headers["X-Robots-Tag"].startswith("noai")
    media_root = config.data_path / "media" / "public"
    assert all((media_root / key).is_file() for key in before | after)

    assert (await retention.prune(ctx)).replaced_media == 0
    later = utcnow() + timedelta(hours=config.retention.replaced_media_hours, minutes=1)
    assert (await retention.prune(ctx, now=later)).replaced_media == len(before)
    assert not any((media_root / key).is_file() for key in before)
    assert all((media_root / key).is_file() for key in after)


async def test_a_deleted_works_replaced_files_go_with_it(client, ctx, config):
    await sign_up(client, "ada")
    location = (await upload(client, [("a.jpg", images.jpeg(900, 600), "A ferry")])).headers["Location"]
    artwork_id = int(location.rsplit("/", 1)[1])
    before = await shown_keys(client, location)
    await change_licence(client, artwork_id, CC_BY)
    token = await csrf_from(client, f"/artworks/{artwork_id}/edit")
    gone = await client.post(f"/artworks/{artwork_id}/delete", data={"csrf_token": token}, allow_redirects=False)
    assert gone.status == 303
    for key in before:  # served to nobody, the artist included
        assert (await client.get(f"/media/{key}")).status == 404
    assert not any(p.is_file() for p in ctx.storage.root.rglob("*"))  # no waiting for the grace period
    assert (await retention.prune(ctx)).replaced_media == 0
