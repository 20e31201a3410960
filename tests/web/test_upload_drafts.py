"""Issue 16 item 18: without JavaScript, an upload form refused for another field (no title) keeps its chosen
files server-side (private drafts, never processed, never served) and the re-shown form reuses them by id; drafts
nobody came back for are deleted by retention."""

import re
from datetime import timedelta

from aiohttp import FormData
from sqlalchemy import select

from cara_fed.db import utcnow
from cara_fed.models import Artwork, MediaAsset
from cara_fed.services import media_sweep, retention, upload_drafts
from tests import images
from tests.conftest import csrf_from, sign_up
from tests.web.test_artworks import upload

DRAFT_RE = re.compile(r'name="draft" value="(\d+)"')


async def drafts(ctx) -> list[MediaAsset]:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        return list((await session.scalars(select(MediaAsset).where(MediaAsset.purpose == "draft")
                                           .order_by(MediaAsset.id))).all())


async def resubmit(client, kept: list[tuple[str, str]], files=(), **fields: str):  # type: ignore[no-untyped-def]
    """Post the re-shown form: kept draft ids (in the order given) with their alt text, plus new files."""
    token = await csrf_from(client, "/upload")
    form = FormData()
    form.add_field("csrf_token", token)
    for key, value in {"title": "Night ferry", "license": "all-rights-reserved", "visibility": "public",
                       **fields}.items():
        form.add_field(key, value)
    for draft_id, alt in kept:
        form.add_field("draft", draft_id)
        form.add_field(f"alt_draft_{draft_id}", alt)
    for index, (name, data, alt) in enumerate(files):
        form.add_field("images", data, filename=name, content_type="application/octet-stream")
        form.add_field(f"alt_{index}", alt)
    return await client.post("/upload", data=form, allow_redirects=False)


async def test_refused_form_keeps_the_files_and_the_next_submit_uses_them_in_the_shown_order(client, ctx):
    await sign_up(client, "ada")
    refused = await upload(client, [("first.png", images.png(300, 200), "A heron"),
                                    ("second.jpg", images.jpeg(400, 300), "A reed")], title=" ")
    html = " ".join((await refused.text()).split())
    assert refused.status == 400
    assert "Give the artwork a title." in html
    assert "2 chosen images are kept for this form" in html
    ids = DRAFT_RE.findall(html)
    assert len(ids) == 2
    assert "Alt text for first.png" in html and ">A heron</textarea>" in html and ">A reed</textarea>" in html
    kept = await drafts(ctx)
    assert [(d.state, d.original_name, d.description) for d in kept] == [
        ("draft", "first.png", "A heron"), ("draft", "second.jpg", "A reed")]
    # Private and untouched: no derivative was made (jobs run inline here), so nothing can serve them.
    assert all(not d.derivatives for d in kept)
    assert all((ctx.storage.root / "private" / d.original_key).is_file() for d in kept)
    # The media sweep does not pick drafts up, however old.
    async with ctx.transaction() as tx:
        for d in kept:
            (await tx.session.get(MediaAsset, d.id)).state_changed_at = utcnow() - timedelta(days=3)
    assert await media_sweep.sweep(ctx) == 0

    # Reordered, one alt edited, a new file added after them: stored in exactly that order.
    published = await resubmit(client, [(ids[1], "A reed, edited"), (ids[0], "A heron")],
                                files=[("third.png", images.png(200, 200), "A boat")])
    assert published.status == 303, await published.text()
    async with ctx.sessions() as session:
        work = await session.scalar(select(Artwork))
        shown = [(i.asset.original_name, i.alt_text) for i in work.images]
        assert work.state == "published"
    assert shown == [("second.jpg", "A reed, edited"), ("first.png", "A heron"), ("third.png", "A boat")]
    assert await drafts(ctx) == []  # used up: rows and private files gone
    assert not any((ctx.storage.root / "private" / d.original_key).exists() for d in kept)


async def test_removed_kept_image_goes_and_refused_files_say_why(client, ctx):
    await sign_up(client, "ada")
    refused = await upload(client, [("keep.png", images.png(300, 200), ""),
                                    ("notes.png", b"just some text, not an image\n" * 10, "")], title="")
    html = " ".join((await refused.text()).split())
    assert "notes.png: this file is not an image we can use" in html.lower()  # not kept, and says why
    assert "1 chosen image is kept" in html
    [draft_id] = DRAFT_RE.findall(html)
    token = await csrf_from(client, "/upload")
    form = FormData()
    for key, value in {"csrf_token": token, "title": "", "draft": draft_id, f"remove_draft_{draft_id}": "on"}.items():
        form.add_field(key, value)
    again = await client.post("/upload", data=form, allow_redirects=False)
    assert again.status == 400
    assert "Add at least one image." in await again.text()
    assert await drafts(ctx) == []


async def test_drafts_are_the_owners_only_and_retention_deletes_abandoned_ones(client, ctx):
    await sign_up(client, "ada")
    html = await (await upload(client, [("mine.png", images.png(300, 200), "")], title="")).text()
    [draft_id] = DRAFT_RE.findall(html)
    token = await csrf_from(client, "/settings")
    await client.post("/logout", data={"csrf_token": token})
    await sign_up(client, "bob")
    stolen = await resubmit(client, [(draft_id, "")])
    assert stolen.status == 400
    assert "is no longer kept" in await stolen.text()
    [kept] = await drafts(ctx)
    assert kept.account_id != (await ctx_account_id(ctx, "bob"))

    assert (await retention.prune(ctx)).upload_drafts == 0  # fresh: the artist may still come back
    later = utcnow() + timedelta(hours=upload_drafts.DRAFT_HOURS, minutes=1)
    assert (await retention.prune(ctx, now=later)).upload_drafts == 1
    assert await drafts(ctx) == []
    assert not (ctx.storage.root / "private" / kept.original_key).exists()


async def ctx_account_id(ctx, username: str) -> int:  # type: ignore[no-untyped-def]
    from cara_fed.models import Account

    async with ctx.sessions() as session:
        return await session.scalar(select(Account.id).where(Account.username == username))


async def test_nonsense_draft_ids_are_a_clear_400(client):
    await sign_up(client, "ada")
    for value in ("abc", "99999999999", "-1", "١٢"):
        response = await resubmit(client, [(value, "x")])
        assert response.status == 400
        assert "Add at least one image." in await response.text()
    gone = await resubmit(client, [("12345", "x")])  # a well-formed id that names no draft of ours
    assert gone.status == 400
    assert "is no longer kept" in await gone.text()
