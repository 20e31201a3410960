"""Imports that go wrong part way, and lost jobs, on SQLite and PostgreSQL: a portfolio import whose worker died
after the first work and whose archive is then unreadable is undone whole (works, originals, the row marked
failed with a message); the sweep queues a lost import again and it finishes."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

from sqlalchemy import func, select

from cara_fed import tasks
from cara_fed.db import utcnow
from cara_fed.models import Artwork, DataImport, MediaAsset
from cara_fed.services import archive_import, data_sweep
from cara_fed.states import transition
from tests import images
from tests.federation.sink import local_artist


def archive(tmp_path, works: int = 2, **extra):  # type: ignore[no-untyped-def]
    out = io.BytesIO()
    entries = []
    with zipfile.ZipFile(out, "w") as zf:
        for n in range(works):
            zf.writestr(f"originals/{n}.jpg", images.jpeg(160, 120, colour=(n * 40, 90, 10)))
            entries.append({"id": n, "title": f"Work {n}", "images": [{"file": f"originals/{n}.jpg", "alt_text": "x"}],
                            "created_at": "2023-05-01T10:00:00+00:00", "published_at": "2023-05-01T10:00:00+00:00",
                            **extra})
        zf.writestr("manifest.json", json.dumps({"format": "cara-fed-portfolio", "version": 1, "works": entries}))
    path = tmp_path / "upload.zip"
    path.write_bytes(out.getvalue())
    return path


async def counts(ctx):  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        return (await session.scalar(select(func.count()).select_from(Artwork)),
                await session.scalar(select(func.count()).select_from(MediaAsset)))


async def queued_import(ctx, tmp_path, **extra):  # type: ignore[no-untyped-def]
    """An import checked and recorded, its job not run yet (as when the worker is busy or gone)."""
    artist = await local_artist(ctx)
    real = ctx.jobs.registry.find(tasks.IMPORT_ARCHIVE).function

    async def later(ctx, *args):  # type: ignore[no-untyped-def]
        return None
    ctx.jobs.registry.register(tasks.IMPORT_ARCHIVE, later)
    row = await archive_import.start(ctx, artist, archive(tmp_path, **extra))
    ctx.jobs.registry.register(tasks.IMPORT_ARCHIVE, real)
    return artist, row


async def test_a_failure_part_way_undoes_the_whole_import(ctx, tmp_path):
    artist, row = await queued_import(ctx, tmp_path)
    path = archive_import.imports_dir(ctx) / row.payload["file"]
    async with ctx.transaction() as tx:  # the first work made, then the worker died
        transition(await tx.session.get(DataImport, row.id), "running")
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        assert await archive_import._recreate(ctx, row.id, artist, zf, 0, manifest["works"][0]) is not None
    assert await counts(ctx) == (1, 1)
    path.write_bytes(b"the disk lost it")  # the archive is unreadable when the import resumes
    await archive_import.import_archive(ctx, row.id)
    async with ctx.sessions() as session:
        failed = await session.get(DataImport, row.id)
    assert failed.state == "failed" and "This is not a zip archive." in failed.error
    assert await counts(ctx) == (0, 0) and not path.exists()


async def test_the_sweep_queues_a_lost_import_again(ctx, tmp_path):
    _artist, row = await queued_import(ctx, tmp_path, ai_label="ai_assisted", ai_label_by="moderator")
    assert await data_sweep.sweep(ctx) == 0  # not overdue yet
    async with ctx.transaction() as tx:
        (await tx.session.get(DataImport, row.id)).state_changed_at = utcnow() - timedelta(minutes=11)
    assert await data_sweep.sweep(ctx) == 1  # the inline job runs it now
    async with ctx.sessions() as session:
        done = await session.get(DataImport, row.id)
        works = (await session.scalars(select(Artwork).order_by(Artwork.id))).all()
    assert (done.state, done.done) == ("done", 2)
    assert [w.state for w in works] == ["published", "published"]
    assert all(w.published_at.year == 2023 and w.import_id == row.id for w in works)
    assert {(w.ai_label, w.ai_label_by) for w in works} == {("ai_assisted", "moderator")}  # a label moves along


async def test_a_cloak_that_cannot_be_made_here_is_said_up_front(ctx, tmp_path):
    ctx.config.cloak.engine = "none"
    row = await archive_import.start(ctx, await local_artist(ctx), archive(tmp_path, works=1, cloak=True))
    async with ctx.sessions() as session:
        done = await session.get(DataImport, row.id)
        work = await session.scalar(select(Artwork))
    assert done.state == "done" and work.cloak is True  # the choice is kept with the work
    assert done.failures == [{"item": "Work 0", "reason": "Asked for cloaking, which is not available here: This "
                                                         "instance does not offer cloaking. Imported without it."}]
