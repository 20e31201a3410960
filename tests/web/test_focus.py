"""Issue 16 item 12: the artist sets each image's thumbnail focus on the edit page (nine radio buttons, Mastodon's
focus range -1..1), the tiles crop around it, followers' servers get it as `focalPoint` in an Update, and
processing keeps a chosen point. Real HTTP (aiohttp test client), real pipeline (jobs inline), SQLite and
PostgreSQL; the federation part through the loopback sink."""

from __future__ import annotations

import re

import pytest

from cara_fed.models import Artwork, MediaAsset
from cara_fed.services import artworks, unattached_media
from cara_fed.services.artworks import ArtworkInput
from cara_fed.services.media import Upload
from tests import images
from tests.conftest import csrf_from, sign_up
from tests.federation.sink import Sink, activities, local_artist
from tests.federation.test_delivery import with_followers
from tests.web.test_artworks import upload

# The upload's own fields (tests/web/test_artworks.py): a save that changes only the focus.
FIELDS = {"title": "Night ferry", "description": "Ink *and* wash", "tags": "ink, Night Sky", "noai": "on",
          "license": "all-rights-reserved", "visibility": "public", "field": "Illustration"}


async def wide_work(client, ctx) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    """A published 3000×1500 work of ada's: (artwork id, image id, asset id)."""
    location = (await upload(client, [("wide.jpg", images.jpeg(3000, 1500), "A wide harbour")])).headers["Location"]
    artwork_id = int(location.rsplit("/", 1)[1])
    async with ctx.sessions() as session:
        image = (await session.get(Artwork, artwork_id)).images[0]
        return artwork_id, image.id, image.asset_id


async def asset(ctx, asset_id: int) -> MediaAsset:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        return await session.get(MediaAsset, asset_id)


async def save(client, artwork_id: int, **extra: str):  # type: ignore[no-untyped-def]
    token = await csrf_from(client, f"/artworks/{artwork_id}/edit")
    return await client.post(f"/artworks/{artwork_id}/edit", data={"csrf_token": token, **FIELDS, **extra},
                             allow_redirects=False)


def checked_focus(html: str, image_id: int) -> str:
    [value] = re.findall(rf'name="focus_image_{image_id}" value="([^"]+)" checked', html)
    return value


async def test_the_artist_sets_the_thumbnail_focus_and_the_tiles_follow(client, ctx):
    await sign_up(client, "ada")
    artwork_id, image_id, asset_id = await wide_work(client, ctx)
    form = await (await client.get(f"/artworks/{artwork_id}/edit")).text()
    assert form.count(f'name="focus_image_{image_id}"') == 9 and "Thumbnail focus" in form
    assert checked_focus(form, image_id) == "0,0"  # the pipeline's automatic point: the centre
    assert '<span class="sr-only">Top left</span>' in form and '<span class="sr-only">Bottom right</span>' in form

    saved = await save(client, artwork_id, **{f"focus_image_{image_id}": "-1,1"})  # top left
    assert saved.status == 303
    stored = await asset(ctx, asset_id)
    assert (stored.focal_x, stored.focal_y, stored.focal_chosen) == (-1.0, 1.0, True)
    for page in ("/", "/@ada"):  # the tiles crop to the chosen corner (object-position 0 % 0 %)
        html = await (await client.get(page)).text()
        assert re.search(r'<img class=" fx-0 fy-0" src="/media/', html), page
    assert checked_focus(await (await client.get(f"/artworks/{artwork_id}/edit")).text(), image_id) == "-1,1"
    note = await (await client.get(f"/@ada/{artwork_id}", headers={"Accept": "application/activity+json"})).json()
    assert note["attachment"][0]["focalPoint"] == [-1.0, 1.0]
    async with ctx.sessions() as session:
        assert (await session.get(Artwork, artwork_id)).edited_at is None  # presentation, not an edit


async def test_a_point_off_the_grid_survives_an_unchanged_save(client, ctx):
    await sign_up(client, "ada")
    artwork_id, image_id, asset_id = await wide_work(client, ctx)
    async with ctx.transaction() as tx:  # as a client app sets it (Mastodon API `focus`)
        row = await tx.session.get(MediaAsset, asset_id)
        row.focal_x, row.focal_y = 0.25, -0.5
    form = await (await client.get(f"/artworks/{artwork_id}/edit")).text()
    value = checked_focus(form, image_id)  # the centre cell is nearest, and carries the exact point
    assert value == "0.25,-0.5"
    assert (await save(client, artwork_id, **{f"focus_image_{image_id}": value})).status == 303
    stored = await asset(ctx, asset_id)
    assert (stored.focal_x, stored.focal_y) == (0.25, -0.5)


@pytest.mark.parametrize("value", ["2,0", "0,-1.5", "left", "0.5", "1,1,1", "nan,0", "inf,0", ""])
async def test_bad_focus_is_a_clear_400_and_changes_nothing(client, ctx, value):
    await sign_up(client, "ada")
    artwork_id, image_id, asset_id = await wide_work(client, ctx)
    refused = await save(client, artwork_id, title="Renamed", **{f"focus_image_{image_id}": value})
    assert refused.status == 400
    html = await refused.text()
    assert "The thumbnail focus must be two numbers from -1 to 1" in html
    assert f'id="focus_{image_id}-error"' in html
    stored = await asset(ctx, asset_id)
    assert (stored.focal_x, stored.focal_y, stored.focal_chosen) == (0.0, 0.0, False)
    async with ctx.sessions() as session:
        assert (await session.get(Artwork, artwork_id)).title == "Night ferry"  # nothing half-saved


async def test_someone_elses_work_is_404(client, ctx):
    await sign_up(client, "ada")
    artwork_id, image_id, asset_id = await wide_work(client, ctx)
    client.session.cookie_jar.clear()
    await sign_up(client, "bob")
    token = await csrf_from(client, "/upload")
    refused = await client.post(f"/artworks/{artwork_id}/edit", data={
        "csrf_token": token, **FIELDS, f"focus_image_{image_id}": "1,-1"}, allow_redirects=False)
    assert refused.status == 404
    assert (await asset(ctx, asset_id)).focal_x == 0.0


# --- Federation and processing -------------------------------------------------------------------


@pytest.fixture
async def sink():  # type: ignore[no-untyped-def]
    server = await Sink().start(ports=1)
    yield server
    await server.stop()


async def test_followers_get_the_new_focal_point_in_an_update(ctx, sink):
    ctx.config.federation.allow_private_addresses = True
    artist = await with_followers(ctx, sink, (1,))
    work = await artworks.create_artwork(ctx, artist, ArtworkInput(title="Harbour"),
                                         [Upload(images.jpeg(600, 300), "h.jpg", "harbour")])
    image_id = work.images[0].id
    await artworks.update_artwork(ctx, artist, work.id, ArtworkInput(title="Harbour"), focus={image_id: (1.0, -1.0)})
    [update] = activities(sink, "Update")
    assert update.json["object"]["attachment"][0]["focalPoint"] == [1.0, -1.0]


async def test_processing_keeps_a_focus_chosen_before_it_ran(ctx):
    """A client app sends `focus` with the upload; the pipeline's automatic point (the centre) used to overwrite it
    when processing finished."""
    artist = await local_artist(ctx)
    stored = await unattached_media.upload_unattached(ctx, artist, Upload(images.jpeg(600, 300), "h.jpg"),
                                                      focus=(0.25, -0.5))
    processed = await asset(ctx, stored.id)
    assert processed.state == "ready" and (processed.focal_x, processed.focal_y) == (0.25, -0.5)
