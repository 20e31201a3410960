"""AI-provenance labels on the wire (cara:aiProvenance + a content warning Mastodon shows) and the inbound
policy applied to remote media — on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from cara_fed.models import Artwork, ReviewCase
from cara_fed.services import remote
from cara_fed.services.remote import RemoteActor, RemoteArtwork, RemoteImage
from federation.wire import parse_artworks, serialize_artworks
from tests import images
from tests.federation.peer import enable_federation
from tests.web.test_review import generated_png


async def _post(ctx, peer, url: str, **extra) -> Artwork:  # type: ignore[no-untyped-def]
    actor = peer.add_actor("mira")
    account = await remote.upsert_actor(ctx, RemoteActor(
        uri=actor.id, username="mira", domain=peer.host, inbox=actor.id + "/inbox",
        public_key_pem=actor.public_pem, key_id=actor.key_id))
    return await remote.upsert_artwork(ctx, account, RemoteArtwork(
        uri=actor.id + "/notes/1", attributed_to=actor.id, title="Remote piece",
        images=[RemoteImage(url=url, alt_text="a lighthouse")], **extra))


async def _reload(ctx, artwork_id: int) -> Artwork:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        return await session.get(Artwork, artwork_id)


async def test_inbound_hold_policy_keeps_remote_ai_media_out_of_sight(ctx, peer):
    fed = enable_federation(ctx)
    fed.config.detection.inbound_policy = "hold"
    artwork = await _post(fed, peer, peer.serve("/media/gen.png", generated_png(), "image/png"))
    artwork = await _reload(fed, artwork.id)
    assert artwork.state == "held"  # kept, not shown in feeds (they list published works only)
    async with fed.sessions() as session:
        case = await session.scalar(select(ReviewCase).where(ReviewCase.artwork_id == artwork.id))
    assert case.origin == "inbound" and case.reason == "hold" and case.verdict["label"] == "ai_generated"
    assert any("generation parameters" in e["finding"] for e in case.verdict["evidence"])


async def test_inbound_label_policy_labels_remote_ai_media(ctx, peer):
    fed = enable_federation(ctx)
    labelled = await _post(fed, peer, peer.serve("/media/gen.png", generated_png(), "image/png"))
    labelled = await _reload(fed, labelled.id)
    assert (labelled.state, labelled.ai_label, labelled.ai_label_by) == ("published", "ai_generated", "detection")


async def test_origin_label_is_kept_when_our_check_finds_nothing(ctx, peer):
    fed = enable_federation(ctx)
    artwork = await _post(fed, peer, peer.serve("/media/photo.jpg", images.jpeg(), "image/jpeg"),
                          ai_label="ai_assisted")
    artwork = await _reload(fed, artwork.id)
    assert (artwork.state, artwork.ai_label, artwork.ai_label_by) == ("published", "ai_assisted", "remote")


async def test_label_goes_out_as_cara_term_and_content_warning_and_comes_back(ctx):
    from cara_fed.models import Account

    async with ctx.transaction() as tx:
        account = Account(username="ada", domain=None, display_name="Ada")
        tx.session.add(account)
        await tx.session.flush()
        work = Artwork(account_id=account.id, title="Dusk light", state="published", ai_label="ai_generated",
                       ai_label_by="detection", content_warning="flashing colours")
        tx.session.add(work)
    async with ctx.sessions() as session:
        work = await session.scalar(select(Artwork))
        note = serialize_artworks.note_for_artwork(ctx, work)
    assert note["cara:aiProvenance"] == "ai_generated"
    assert note["summary"] == "AI-generated (labelled by test.example) · flashing colours"  # what Mastodon shows
    back = parse_artworks.artwork(note)
    assert back.ai_label == "ai_generated" and back.content_warning == "flashing colours"
    plain = parse_artworks.artwork({**note, "summary": "AI-generated (labelled by test.example)"})
    assert plain.content_warning == ""
