"""Issue 16 item 10 through HTTP: the protection panel and the review queue say which checks could have fired
on the uploaded file ("re-encoded JPEG: watermark layers not applicable") instead of a bare "no signal"."""

from __future__ import annotations

import re

from tests.conftest import sign_up
from tests.protection.detect.fixtures import encode, exif_with, photo
from tests.web.test_admin import make_admin
from tests.web.test_artworks import upload
from tests.web.test_review import generated_png, work_of
from tests.web.test_social import login as log_in


async def test_panel_explains_no_signal_on_a_re_encoded_jpeg(client, ctx):
    await sign_up(client, "ada")
    jpeg = encode(photo(640, 480, seed=2), "JPEG", quality=88)
    assert (await upload(client, [("wall.jpg", jpeg, "A wall")], title="Plain wall")).status == 303
    work = await work_of(ctx, "Plain wall")
    panel = await (await client.get(f"/artworks/{work.id}/protection")).text()
    assert "No AI signal found" in panel
    assert "What could be checked on this image" in panel
    assert "re-encoded JPEG (chroma subsampled): watermark layers not applicable" in panel
    assert re.search(r"(\d) of 6 checks could not apply", panel).group(1) == "6"


async def test_panel_lists_each_image_of_a_multi_image_work(client, ctx):
    await sign_up(client, "ada")
    files = [("a.jpg", encode(photo(400, 300), "JPEG"), "One"), ("b.png", encode(photo(400, 300), "PNG"), "Two")]
    assert (await upload(client, files, title="Pair")).status == 303
    panel = await (await client.get(f"/artworks/{(await work_of(ctx, 'Pair')).id}/protection")).text()
    assert "What could be checked on these images" in panel
    assert "image 1: <strong>Invisible watermark</strong>:\n      not applicable" in panel
    assert "image 2: <strong>Invisible watermark</strong>:\n      applies" in panel


async def test_review_queue_names_the_checks_that_could_not_apply(client, ctx):
    ctx.config.detection.local_policy = "hold"
    await make_admin(ctx, client, "boss")
    await sign_up(client, "ada")
    flagged_jpeg = encode(photo(640, 480), "JPEG", quality=90, exif=exif_with(software="Midjourney"))
    assert (await upload(client, [("mj.jpg", flagged_jpeg, "Sky")], title="Sky study")).status == 303
    assert (await upload(client, [("gen.png", generated_png(), "Lighthouse")], title="Dusk light")).status == 303
    await log_in(client, "boss", "admin password")
    queue = await (await client.get("/admin/review")).text()
    items = {title: item for item in queue.split('<li>') for title in ("Sky study", "Dusk light") if title in item}
    assert "not applicable: C2PA provenance, IPTC source type, Hidden pixel metadata (NovelAI), Invisible " \
           "watermark, Classifier" in items["Sky study"]
    assert "Invisible watermark" not in items["Dusk light"] and "not applicable:" in items["Dusk light"]
    case_id = re.search(r'/admin/review/(\d+)"', items["Sky study"]).group(1)
    case_page = await (await client.get(f"/admin/review/{case_id}")).text()
    assert "watermark layers not applicable" in case_page and "Midjourney" in case_page
