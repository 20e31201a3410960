"""AI-provenance policy through HTTP: detection on upload, label / hold / reject, the artist's protection panel
and appeal, the moderators' queue and decisions, the decision log — on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import re

from PIL import Image
from PIL.PngImagePlugin import PngInfo
from sqlalchemy import select

from cara_fed.models import Artwork, AuditEntry, ModerationEvent, ReviewCase
from tests import images
from tests.conftest import csrf_from, sign_up
from tests.web.test_admin import make_admin
from tests.web.test_artworks import upload
from tests.web.test_social import login as log_in

A1111 = ("a lighthouse at dusk, oil painting, highly detailed\nNegative prompt: blurry\n"
         "Steps: 30, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1234, Size: 512x512, Model: sd_xl_base_1.0")


def generated_png() -> bytes:
    """What Automatic1111 writes: the generation settings in a PNG text chunk called `parameters`."""
    image = Image.new("RGB", (512, 512), (40, 70, 120))
    info = PngInfo()
    info.add_text("parameters", A1111)
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info)
    return out.getvalue()


async def work_of(ctx, title: str) -> Artwork:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        return await session.scalar(select(Artwork).where(Artwork.title == title))


async def test_label_policy_publishes_with_a_label_and_explains_it(client, ctx):
    assert ctx.config.detection.local_policy == "label"  # the default
    await sign_up(client, "ada")
    assert (await upload(client, [("gen.png", generated_png(), "A lighthouse")], title="Dusk light")).status == 303
    assert (await upload(client, [("photo.jpg", images.jpeg(), "A red wall")], title="Red wall")).status == 303
    labelled, clean = await work_of(ctx, "Dusk light"), await work_of(ctx, "Red wall")
    assert (labelled.state, labelled.ai_label, labelled.ai_label_by) == ("published", "ai_generated", "detection")
    assert (clean.state, clean.ai_label) == ("published", None)

    client.session.cookie_jar.clear()
    public = await (await client.get(f"/@ada/{labelled.id}")).text()
    assert "AI-generated" in public and "provenance check" in public
    clean_page = await (await client.get(f"/@ada/{clean.id}")).text()
    assert "pill label-ai" not in clean_page and "AI provenance" not in clean_page
    assert '<span class="badge ai">AI-generated</span>' in clean_page  # the labelled work in "More by"

    await log_in(client, "ada", "correct horse 1")
    panel = await (await client.get(f"/artworks/{labelled.id}/protection")).text()
    assert "Stable Diffusion generation parameters" in panel  # the evidence, in words
    assert "set by the automatic check" in panel
    assert "X-Robots-Tag: noai, noimageai" in panel and "not a technical lock" in panel
    clean_panel = await (await client.get(f"/artworks/{clean.id}/protection")).text()
    assert "No AI signal found" in clean_panel and "does <em>not</em> mean" in clean_panel
    assert 'action="/artworks/' not in clean_panel.split("Appeal")[-1]  # nothing to appeal


async def test_hold_appeal_and_moderator_decision_are_logged(client, ctx):
    ctx.config.detection.local_policy = "hold"
    await make_admin(ctx, client, "boss")
    await sign_up(client, "ada")
    assert (await upload(client, [("gen.png", generated_png(), "A lighthouse")], title="Dusk light")).status == 303
    work = await work_of(ctx, "Dusk light")
    assert work.state == "held" and work.ai_label is None
    owner_page = await (await client.get(f"/@ada/{work.id}")).text()
    assert "held for review" in owner_page

    token = await csrf_from(client, f"/artworks/{work.id}/protection")
    empty = await client.post(f"/artworks/{work.id}/appeal", data={"csrf_token": token, "message": "  "})
    assert empty.status == 400 and "Say why" in await empty.text()
    sent = await client.post(f"/artworks/{work.id}/appeal", allow_redirects=False,
                             data={"csrf_token": token, "message": "I painted this; here are my process shots."})
    assert sent.status == 303
    again = await client.post(f"/artworks/{work.id}/appeal", data={"csrf_token": token, "message": "Hello?"})
    assert again.status == 400 and "already waiting" in await again.text()

    client.session.cookie_jar.clear()
    assert (await client.get(f"/@ada/{work.id}")).status == 404  # held: not public

    assert (await client.get("/admin/review")).status in (200, 303)  # anonymous: to login, never the queue
    await log_in(client, "ada", "correct horse 1")
    assert (await client.get("/admin/review")).status == 403
    await log_in(client, "boss", "admin password")
    queue = await (await client.get("/admin/review")).text()
    assert "Dusk light" in queue and "appealed" in queue
    case_id = re.search(r'/admin/review/(\d+)"', queue).group(1)
    case_page = await (await client.get(f"/admin/review/{case_id}")).text()
    assert "process shots" in case_page and "Stable Diffusion generation parameters" in case_page
    token = await csrf_from(client, f"/admin/review/{case_id}")
    bad = await client.post(f"/admin/review/{case_id}", data={"csrf_token": token, "action": "delete"})
    assert bad.status == 400 and "Choose one of" in await bad.text()
    decided = await client.post(f"/admin/review/{case_id}", allow_redirects=False,
                                data={"csrf_token": token, "action": "label_ai_assisted", "note": "Hybrid process"})
    assert decided.status == 303

    work = await work_of(ctx, "Dusk light")
    assert (work.state, work.ai_label, work.ai_label_by) == ("published", "ai_assisted", "moderator")
    assert work.published_at is not None
    client.session.cookie_jar.clear()
    public = await client.get(f"/@ada/{work.id}")
    assert public.status == 200 and "AI-assisted" in await public.text()
    async with ctx.sessions() as session:
        events = (await session.scalars(select(ModerationEvent).order_by(ModerationEvent.id))).all()
        assert [(e.action, e.who) for e in events] == [
            ("held", "policy (automatic)"), ("appealed", "@ada"), ("label_ai_assisted", "@boss")]
        case = await session.scalar(select(ReviewCase))
        assert case.state == "decided" and case.decided_at is not None
        logged = (await session.scalars(select(AuditEntry))).all()  # the moderator's decision is in the audit log
        assert [(e.actor_name, e.action, e.target, e.reason) for e in logged] == [
            ("@boss", "review.label_ai_assisted", f"artwork:{work.id}", "Hybrid process")]
        assert logged[0].target_account_id == work.account_id
    await log_in(client, "ada", "correct horse 1")
    panel = await (await client.get(f"/artworks/{work.id}/protection")).text()
    assert "Hybrid process" in panel and "set by a moderator" in panel


async def test_reject_keeps_the_work_and_its_original_for_an_appeal(client, ctx):
    ctx.config.detection.local_policy = "reject"
    await make_admin(ctx, client, "boss")
    await sign_up(client, "ada")
    await upload(client, [("gen.png", generated_png(), "A lighthouse")], title="Dusk light")
    work = await work_of(ctx, "Dusk light")
    assert work.state == "rejected"
    asset = work.images[0].asset
    assert asset.state == "ready" and await ctx.storage.get("private", asset.original_key)  # nothing lost
    assert "not published under this instance's AI policy" in await (await client.get(f"/@ada/{work.id}")).text()
    token = await csrf_from(client, f"/artworks/{work.id}/protection")
    await client.post(f"/artworks/{work.id}/appeal", data={"csrf_token": token, "message": "Hand-painted."})
    await log_in(client, "boss", "admin password")
    case_id = re.search(r'/admin/review/(\d+)"', await (await client.get("/admin/review")).text()).group(1)
    token = await csrf_from(client, f"/admin/review/{case_id}")
    await client.post(f"/admin/review/{case_id}", data={"csrf_token": token, "action": "publish"})
    work = await work_of(ctx, "Dusk light")
    assert (work.state, work.ai_label) == ("published", None)


async def test_only_the_owner_sees_the_panel(client, ctx):
    await sign_up(client, "ada")
    await upload(client, [("photo.jpg", images.jpeg(), "A red wall")], title="Red wall")
    work = await work_of(ctx, "Red wall")
    client.session.cookie_jar.clear()
    await sign_up(client, "bob")
    assert (await client.get(f"/artworks/{work.id}/protection")).status == 404
    token = await csrf_from(client, "/upload")
    refused = await client.post(f"/artworks/{work.id}/appeal", data={"csrf_token": token, "message": "mine"})
    assert refused.status == 404


async def test_configured_classifier_holds_what_it_flags(client, ctx, tmp_path):
    """The [detection] classifier settings reach the ONNX slot: a tiny model that calls red pictures AI."""
    from tests.protection.detect.test_classifier import red_model

    detection = ctx.config.detection
    detection.local_policy = "hold"
    detection.classifier_model = red_model(tmp_path / "red.onnx", size=32)
    detection.classifier_input_size, detection.classifier_normalisation = 32, "clip"
    detection.classifier_activation, detection.classifier_positive_index = "softmax", 1
    detection.classifier_threshold_percent = 90
    await sign_up(client, "ada")

    def solid(colour: tuple[int, int, int]) -> bytes:
        out = io.BytesIO()
        Image.new("RGB", (400, 300), colour).save(out, "PNG")
        return out.getvalue()

    await upload(client, [("red.png", solid((230, 20, 20)), "A red square")], title="Red square")
    await upload(client, [("blue.png", solid((20, 20, 230)), "A blue square")], title="Blue square")
    red, blue = await work_of(ctx, "Red square"), await work_of(ctx, "Blue square")
    assert (red.state, blue.state) == ("held", "published")
    panel = await (await client.get(f"/artworks/{red.id}/protection")).text()
    assert "classifier" in panel and "threshold 0.90" in panel


async def test_served_files_follow_the_label_and_the_noai_choice(client, ctx):
    """The XMP in the stored derivatives is rewritten in place when a moderator clears a label or the artist
    turns NoAI off: pixels and URLs stay, the statement changes."""
    from protection.mark import read_xmp

    async def xmp_of(work: Artwork) -> list[str]:  # type: ignore[no-untyped-def]
        async with ctx.sessions() as session:
            fresh = await session.get(Artwork, work.id)
            keys = [d.key for i in fresh.images for d in i.asset.derivatives]
        assert keys
        return [read_xmp(await ctx.storage.get("public", key)) for key in keys]

    await make_admin(ctx, client, "boss")
    await sign_up(client, "ada")
    await upload(client, [("gen.png", generated_png(), "A lighthouse")], title="Dusk light")
    work = await work_of(ctx, "Dusk light")
    assert work.ai_label == "ai_generated"
    assert all("trainedAlgorithmicMedia" in x and "DMI-PROHIBITED" in x for x in await xmp_of(work))

    token = await csrf_from(client, f"/artworks/{work.id}/protection")
    await client.post(f"/artworks/{work.id}/appeal", data={"csrf_token": token, "message": "Painted by hand."})
    await log_in(client, "boss", "admin password")
    case_id = re.search(r'/admin/review/(\d+)"', await (await client.get("/admin/review")).text()).group(1)
    token = await csrf_from(client, f"/admin/review/{case_id}")
    await client.post(f"/admin/review/{case_id}", data={"csrf_token": token, "action": "publish"})
    cleared = await xmp_of(work)
    assert all("digitalCreation" in x and "trainedAlgorithmicMedia" not in x for x in cleared)

    from cara_fed.services import artworks
    from cara_fed.services.artworks import ArtworkInput

    async with ctx.sessions() as session:
        ada = await session.get(type(work.account), work.account_id)
    await artworks.update_artwork(ctx, ada, work.id, ArtworkInput(title="Dusk light", noai=False))
    assert all("DMI-PROHIBITED" not in x and "digitalCreation" in x for x in await xmp_of(work))
