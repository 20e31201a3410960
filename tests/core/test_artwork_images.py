"""Issue 16 item 13: an artwork's images change after upload (add, remove, reorder), the change reaches
followers as one Update(Note), and the work keeps its likes and comments. Real pipeline (jobs inline), real
HTTP to the loopback sink, SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from cara_fed.errors import ValidationError
from cara_fed.models import Artwork, Comment, Like, MediaAsset
from cara_fed.services import artworks, comments, interactions
from cara_fed.services.artwork_images import ImageEdit
from cara_fed.services.artworks import ArtworkInput
from cara_fed.services.media import Upload
from tests import images
from tests.federation.sink import activities, local_artist
from tests.federation.test_delivery import with_followers


async def load(ctx, artwork_id: int) -> Artwork:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        return await session.get(Artwork, artwork_id)


async def count(ctx, model) -> int:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def three_image_work(ctx, artist) -> Artwork:  # type: ignore[no-untyped-def]
    work = await artworks.create_artwork(ctx, artist, ArtworkInput(title="Herons"), [
        Upload(images.jpeg(320, 240), "a.jpg", "first heron"), Upload(images.png(200, 300), "b.png", "second heron"),
        Upload(images.jpeg(300, 300), "c.jpg", "third heron")])
    return await load(ctx, work.id)


async def test_add_remove_reorder_sends_one_update_and_keeps_likes_and_comments(fed, sink):
    artist = await with_followers(fed, sink, (1,))
    work = await three_image_work(fed, artist)
    assert work.state == "published" and len(activities(sink, "Create")) == 1
    fan = await local_artist(fed, "bea")
    await interactions.add(fed, "like", fan, work.id)
    await comments.post(fed, fan, work.id, "Lovely herons")
    first, second, third = work.images
    removed_asset = second.asset
    removed_files = [removed_asset.original_key] + [d.key for d in removed_asset.derivatives]
    published_at = work.published_at

    await artworks.update_artwork(fed, artist, work.id, ArtworkInput(title="Herons"), images=ImageEdit(
        keep=[third.id, first.id], add=[Upload(images.png(400, 200), "d.png", "a fourth heron, added later")]))

    work = await load(fed, work.id)
    assert work.state == "published" and work.published_at == published_at
    assert [i.alt_text for i in work.images] == ["third heron", "first heron", "a fourth heron, added later"]
    assert [i.position for i in work.images] == [0, 1, 2]
    assert await count(fed, Like) == 1 and await count(fed, Comment) == 1
    async with fed.sessions() as session:
        assert await session.get(MediaAsset, removed_asset.id) is None
    assert not any((fed.storage.root / area / key).exists() for area in ("private", "public") for key in removed_files)

    [update] = activities(sink, "Update")
    note = update.json["object"]
    assert note["id"] == fed.url(f"/@ada/{work.id}")
    assert [a["name"] for a in note["attachment"] if a.get("type") in ("Image", "Document")] == [
        "third heron", "first heron", "a fourth heron, added later"]
    assert len(activities(sink, "Create")) == 1  # an edit is never sent as a second Create
    # New images send the work back through processing; it is still an edit (Mastodon shows "Edited").
    assert work.edited_at is not None  # (`updated` is sent only past the serializer's EDIT_GRACE)


async def test_reorder_alone_keeps_the_work_published_and_updates_followers(fed, sink):
    artist = await with_followers(fed, sink, (1,))
    work = await three_image_work(fed, artist)
    first, second, third = work.images
    await artworks.update_artwork(fed, artist, work.id, ArtworkInput(title="Herons"),
                                  images=ImageEdit(keep=[second.id, third.id, first.id]))
    work = await load(fed, work.id)
    assert work.state == "published"
    assert [i.alt_text for i in work.images] == ["second heron", "third heron", "first heron"]
    [update] = activities(sink, "Update")
    assert [a["name"] for a in update.json["object"]["attachment"]][:3] == ["second heron", "third heron",
                                                                            "first heron"]
    assert work.edited_at is not None


async def test_bad_image_edits_are_refused_and_change_nothing(fed):
    artist = await local_artist(fed)
    work = await three_image_work(fed, artist)
    ids = [i.id for i in work.images]
    other = await three_image_work(fed, await local_artist(fed, "bea"))
    fed.config.media.max_images_per_artwork = 4
    cases = [
        (ImageEdit(keep=[]), "at least one image"),
        (ImageEdit(keep=ids + [other.images[0].id]), "this artwork's own"),
        (ImageEdit(keep=[ids[0], ids[0]]), "this artwork's own"),
        (ImageEdit(keep=ids, add=[Upload(images.jpeg(), "x.jpg"), Upload(images.jpeg(), "y.jpg")]), "at most 4"),
        (ImageEdit(keep=ids, add=[Upload(b"not an image at all", "notes.png")]), "notes.png"),
    ]
    files_before = sorted(p.name for p in fed.storage.root.rglob("*") if p.is_file())
    for edit, message in cases:
        with pytest.raises(ValidationError) as caught:
            await artworks.update_artwork(fed, artist, work.id, ArtworkInput(title="Herons"), images=edit)
        assert message in caught.value.errors["images"]
    assert [i.id for i in (await load(fed, work.id)).images] == ids
    assert sorted(p.name for p in fed.storage.root.rglob("*") if p.is_file()) == files_before
