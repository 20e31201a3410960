"""fediverse-pasture's actor personas and its catalogue of inputs, sent by pasture's own code to our real inbox.

Our federation edge runs on a loopback port (jobs inline, outbound jobs no-ops); pasture's Quart apps run on
another (tests/federation/pasture_support.py). What runs, what passes and why each refusal is right:
docs/federation-conformance.md.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from cara_fed.models import Account, Artwork, Follow, InboxItem
from cara_fed.services import accounts, follows
from cara_fed.text import ALLOWED_CLASSES, ALLOWED_TAGS
from federation.discovery import resolver
from federation.routes import setup_federation
from tests.federation.peer import enable_federation
from tests.instance import free_port

pytest.importorskip("fediverse_pasture", reason="fediverse-pasture is not installed (pip install -e '.[test]')")
pytest.importorskip("fediverse_pasture_inputs", reason="fediverse-pasture-inputs is not installed "
                                                      "(pip install -e '.[test]')")

from bovine import BovineActor  # noqa: E402
from bovine.clients.signed_http import legacy_digest_method_uppercase  # noqa: E402
from bovine.crypto import generate_rsa_public_private_key  # noqa: E402
from bovine.crypto.helper import content_digest_sha256_rfc_9530  # noqa: E402
from fediverse_pasture.data_provider.models import ActorData  # noqa: E402
from fediverse_pasture_inputs import available  # noqa: E402

from tests.federation.pasture_support import (  # noqa: E402
    AP,
    Answer,
    Sender,
    block_network,
    localize,
    one_actor_server,
    personas_server,
    recording_middleware,
    sender_for,
    verify_actor_server,
    write_assets,
)

PERSONAS = ("alice", "bob", "claire", "dean", "emily", "frank")


# --- our side ---------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def no_network(monkeypatch):  # type: ignore[no-untyped-def]
    block_network(monkeypatch)


@dataclass
class Ours:
    ctx: Any
    base: str
    answers: list[Answer] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base + path

    def answers_to(self, method: str, path: str) -> list[Answer]:
        return [a for a in self.answers if a.method == method and a.path == path]


@pytest.fixture
async def ours(ctx):  # type: ignore[no-untyped-def]
    """Our federation edge (documents, WebFinger, inboxes) on a real loopback port, so pasture can reach it.
    Every answer is recorded; none may be a 5xx."""
    port = free_port()
    ctx.config.server.domain, ctx.config.server.scheme = f"127.0.0.1:{port}", "http"
    enable_federation(ctx)  # allow_private_addresses = True: pasture lives on 127.0.0.1
    answers: list[Answer] = []
    app = web.Application()
    setup_federation(app, ctx)
    app.middlewares.insert(0, recording_middleware(answers))
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    try:
        yield Ours(ctx, ctx.config.base_url, answers)
    finally:
        await server.close()
    assert [a for a in answers if a.status >= 500] == [], "a 5xx was answered to pasture"
    async with ctx.sessions() as session:
        unsettled = (await session.scalars(select(InboxItem).where(
            InboxItem.state.not_in(("processed", "ignored", "failed"))))).all()
    assert [(i.activity_type, i.state, i.error) for i in unsettled] == [], "an inbox item hit an exception"


@pytest.fixture
async def ada(ours):  # type: ignore[no-untyped-def]
    async with ours.ctx.transaction() as tx:
        return await accounts.create_account(ours.ctx, tx, "ada", "ada@example.org", "password123",
                                             bypass_registration=True)


async def item_for(ours: Ours, activity_id: str) -> InboxItem | None:
    async with ours.ctx.sessions() as session:
        return await session.scalar(select(InboxItem).where(InboxItem.activity_id == activity_id))


async def artwork_for(ours: Ours, uri: str | None) -> Artwork | None:
    if not uri:
        return None
    async with ours.ctx.sessions() as session:
        return await session.scalar(select(Artwork).where(Artwork.uri == uri))


async def follow_and_accept(ours: Ours, ada: Account, sender: Sender) -> None:
    """ada follows the pasture actor, which answers with an Accept built and signed by pasture/bovine."""
    remote = await resolver.fetch_actor(ours.ctx, sender.actor_id)
    follow = await follows.request_follow(ours.ctx, ada, remote)
    status, body = await sender.post(ours.url("/users/ada/inbox"), sender.activity("Accept", follow.uri))
    assert status == 202, body
    async with ours.ctx.sessions() as session:
        assert (await session.get(Follow, follow.id)).state == "accepted"


def image_attachment(base: str, name: str = "base") -> dict:
    """One PNG from pasture's image provider (a random 40x40 colour): what makes a Note an artwork here."""
    return {"type": "Image", "mediaType": "image/png", "name": "a 40x40 square", "url": f"{base}/images/{name}.png"}


# --- 1. verify_actor: pasture's own verification of our actor --------------------------------------


# What pasture's verify_actor page reports for us, persona by persona. Without authorized fetch every persona
# can read our actor; only signed POSTs get in (alice and dean post unsigned: pasture itself warns when that
# succeeds). With authorized fetch the unsigned GETs of alice and dean are refused too.
VERIFIED = {p: {"get_actor": True, "post_inbox": p not in ("alice", "dean")} for p in PERSONAS}
VERIFIED_AUTHORIZED = {p: {"get_actor": p not in ("alice", "dean"), "post_inbox": p not in ("alice", "dean")}
                       for p in PERSONAS}


@pytest.mark.parametrize("authorized_fetch", [False, True], ids=["open-fetch", "authorized-fetch"])
async def test_verify_actor_personas(authorized_fetch, ours, ada, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)  # verify_actor keeps its personas' keys in ./data.toml
    ours.ctx.config.federation.authorized_fetch = authorized_fetch
    domain = ours.ctx.config.server.domain
    async with verify_actor_server() as (pasture, _), aiohttp.ClientSession() as session:
        for actor_uri in (ours.url("/users/ada"), f"acct:ada@{domain}"):  # the URI, then WebFinger first
            async with session.get(pasture.base + "/", params={"actor_uri": actor_uri},
                                   headers={"Accept": "application/json"}) as response:
                assert response.status == 200, await response.text()
                report = await response.json()
            result, steps = report["result"], json.loads(report["messages"])["steps"]
            assert result.pop("webfinger") is True, steps  # acct:ada@host resolves back to the same actor
            assert result == (VERIFIED_AUTHORIZED if authorized_fetch else VERIFIED), steps

    inbox_posts = ours.answers_to("POST", "/users/ada/inbox")
    if authorized_fetch:  # alice and dean never got the inbox: their unsigned GET was refused
        unsigned_gets = [a for a in ours.answers_to("GET", "/users/ada") if a.status == 401]
        assert len(unsigned_gets) == 4 and all("requires signed fetches" in a.body for a in unsigned_gets)
        assert [a.status for a in inbox_posts] == [202] * 8
    else:  # alice and dean POST `{"type": "EchoRequest"}` unsigned: refused before any signature work
        assert sorted(a.status for a in inbox_posts) == [202] * 8 + [400] * 4
        for refusal in (a for a in inbox_posts if a.status == 400):
            assert json.loads(refusal.body) == {"error": "an activity needs an id, a type and an actor"}

    # claire and frank only show their actor (and key) to signed GETs, which pasture checks by fetching the
    # signer's key: our instance actor's, so our key fetches are signed in a way pasture (bovine) accepts.
    assert {a.status for a in ours.answers_to("GET", "/actor")} == {200}

    async with ours.ctx.sessions() as session:
        likes = (await session.scalars(select(InboxItem).order_by(InboxItem.id))).all()
        remote = (await session.scalars(select(Account).where(Account.domain == f"127.0.0.1:{pasture.port}"))).all()
    # The signed Likes of bob, claire, emily and frank (the last two without WebFinger): accepted and recorded.
    assert sorted(i.actor_uri.rsplit("/", 1)[1] for i in likes) == sorted(["bob", "claire", "emily", "frank"] * 2)
    # They like something that is not an artwork here: recorded and ignored with the reason (no 500, no count).
    assert {(i.activity_type, i.state) for i in likes} == {("Like", "ignored")}
    assert all("not an artwork stored here" in (i.error or "") for i in likes), [i.error for i in likes]
    # (with authorized fetch we also verified, and so fetched, pasture's own `actor` that signs its GETs)
    known = ["actor"] * authorized_fetch + ["bob", "claire", "emily", "frank"]
    assert sorted((a.username, a.key_id) for a in remote) == [(name, f"{pasture.base}/{name}#main") for name in known]


# --- 2. every persona follows and posts; the refusals ------------------------------------------------


async def test_personas_follow_and_post_artworks(ours, ada):  # type: ignore[no-untyped-def]
    """Each of pasture's personas (and its one actor) signs a Follow with bovine, gets followed back, and sends a
    Create(Note with an image) through pasture's ActivitySender: all accepted and processed."""
    async with personas_server() as (pasture, data), aiohttp.ClientSession() as session:
        for persona in [*data.possible_actors, data.one_actor]:
            sender = await sender_for(pasture.base, persona, session)
            follow = sender.activity("Follow", ours.url("/users/ada"))
            status, body = await sender.post(ours.url("/users/ada/inbox"), follow)
            assert (status, json.loads(body)) == (202, {"status": "accepted"}), persona.actor_name
            item = await item_for(ours, follow["id"])
            assert (item.state, item.error) == ("processed", None), persona.actor_name
            async with ours.ctx.sessions() as db:
                row = await db.scalar(select(Follow).where(Follow.uri == follow["id"]))
            assert (row.state, row.follower.uri, row.followee_id) == ("accepted", sender.actor_id, ada.id)
            # no preferredUsername (dean, emily, frank have no WebFinger): the name comes from the id's path
            assert row.follower.username == persona.actor_name

            await follow_and_accept(ours, ada, sender)
            sender.activity_sender._inbox_cache[ours.url("/users/ada")] = ours.url("/inbox")  # deliver shared
            sender.activity_sender.init_create_note(lambda note, name=persona.actor_name: {
                **note, "content": f"<p>Drawn by {name}</p>", "attachment": [image_attachment(pasture.base, name)]})
            response = await sender.activity_sender.send(ours.url("/users/ada"))
            assert response is not None and response.status == 202, persona.actor_name
            assert (await item_for(ours, sender.activity_sender.activity["id"])).state == "processed"
            art = await artwork_for(ours, sender.activity_sender.object_id)
            assert (art.state, art.title, art.account.uri) == ("published", f"Drawn by {persona.actor_name}",
                                                               sender.actor_id)
            assert [(i.alt_text, i.asset.state) for i in art.images] == [("a 40x40 square", "ready")]


async def test_refused_variants_get_a_clear_401(ours, ada):  # type: ignore[no-untyped-def]
    """Sender setups we must refuse, each with the reason in the JSON body; nothing is stored."""
    # pasture has no persona without a key; its own ActorData model allows one (key_pairs=[]), and pasture's
    # BlueprintForActors then cannot serve the actor at all (an IndexError, answered 500 by Quart).
    keyless = ActorData(actor_name="keyless", user_part="keyless", key_pairs=[])
    async with personas_server([keyless]) as (pasture, data), aiohttp.ClientSession() as session:
        inbox = ours.url("/users/ada/inbox")
        actors = {a.actor_name: a for a in data.possible_actors}
        bob = await sender_for(pasture.base, actors["bob"], session)

        async def refused(status: int, body: str, reason: str) -> None:
            assert status == 401, body
            assert reason in json.loads(body)["error"], body

        # 1. unsigned, as pasture's verify_actor posts for alice and dean (here a well-formed Follow)
        follow = bob.activity("Follow", ours.url("/users/ada"))
        async with session.post(inbox, data=json.dumps(follow), headers={"Content-Type": AP}) as response:
            await refused(response.status, await response.text(), "signature header missing")

        # 2. the keyless actor: its key cannot be fetched
        _, private = generate_rsa_public_private_key()
        keyless_actor = BovineActor(actor_id=f"{pasture.base}/keyless", public_key_url=f"{pasture.base}/keyless#main",
                                    secret=private)
        await keyless_actor.init(session=session)
        response = await keyless_actor.client.post(inbox, json.dumps({**follow, "actor": keyless_actor.actor_id}))
        await refused(response.status, await response.text(), "could not get the signing key")

        # 3. bob's key id, signed with alice's private key (a forged or stale key): the signature does not verify
        forger = BovineActor(actor_id=bob.actor_id, public_key_url=f"{bob.actor_id}#main",
                             secret=actors["alice"].key_pairs[0].private)
        await forger.init(session=session)
        response = await forger.client.post(inbox, json.dumps(bob.activity("Follow", ours.url("/users/ada"))))
        await refused(response.status, await response.text(),
                      f"signature does not verify with key {bob.actor_id}#main")

        # 4. claire signs (validly, with her own key) an activity whose actor is bob
        claire = await sender_for(pasture.base, actors["claire"], session)
        status, body = await claire.post(inbox, bob.activity("Follow", ours.url("/users/ada")))
        await refused(status, body, f"signed by {claire.actor_id}, not by the actor {bob.actor_id}")

        # 5. bovine's RFC 9530 option: Content-Digest inside a draft-cavage signature. Like Mastodon we require
        #    `digest` to be signed on a draft-cavage POST.
        emily = await sender_for(pasture.base, actors["emily"], session, digest_method=content_digest_sha256_rfc_9530)
        status, body = await emily.post(inbox, emily.activity("Follow", ours.url("/users/ada")))
        await refused(status, body, "the signature must cover Digest")

    async with ours.ctx.sessions() as db:
        assert (await db.scalars(select(InboxItem))).all() == []
        assert (await db.scalars(select(Follow))).all() == []


async def test_bovine_digest_spellings_are_accepted(ours, ada):  # type: ignore[no-untyped-def]
    """bovine (pasture's signer) writes `Digest: sha-256=...` by default; `SHA-256=` is its other option."""
    async with personas_server() as (pasture, data), aiohttp.ClientSession() as session:
        for persona, digest_method in ((data.possible_actors[0], None),
                                       (data.possible_actors[1], legacy_digest_method_uppercase)):
            sender = await sender_for(pasture.base, persona, session, digest_method=digest_method)
            follow = sender.activity("Follow", ours.url("/users/ada"))
            status, body = await sender.post(ours.url("/users/ada/inbox"), follow)
            assert status == 202, body
            assert (await item_for(ours, follow["id"])).state == "processed"


# --- 3. fediverse-pasture-inputs: the catalogue of Note shapes -------------------------------------


@dataclass
class Expect:
    """What should become of one input. `item`: the InboxItem's end state (None: refused over HTTP with
    `http`). `artwork`: its state when stored. `reason`: part of the item's error or the refusal. `fields`:
    stored values to compare. `bug`: a known deviation (the test xfails while exactly those deviate)."""

    item: str | None = "processed"
    artwork: str | None = "published"
    reason: str = ""
    http: int = 202
    image_error: str | None = None
    fields: dict = field(default_factory=dict)
    bug: str = ""


def stored(**fields: Any) -> Expect:
    return Expect(fields=fields)


def image_refused(code: str, **fields: Any) -> Expect:
    """Stored, but its only image failed our media checks: the artwork is `failed` and shown nowhere."""
    return Expect(artwork="failed", image_error=code, fields=fields)


def ignored(reason: str) -> Expect:
    return Expect(item="ignored", artwork=None, reason=reason)


def failed(reason: str) -> Expect:
    return Expect(item="failed", artwork=None, reason=reason)


def refused(status: int, reason: str) -> Expect:
    return Expect(item=None, artwork=None, http=status, reason=reason)


NO_IMAGE = "no image attachments"
NOT_STORED = "objects are not stored"
CREDENTIALS_V2 = ("we do not ship https://www.w3.org/ns/credentials/v2 (pasture's recommended media attachments and "
                  "FEP-1311 digestMultibase use it)")

# Inputs are applied on top of pasture's Note skeleton, which here also carries one image (an artwork server
# stores only posts with images); an input that brings its own `attachment` replaces it. Anything not listed
# is expected to be stored and published.
EXPECTED: dict[str, dict[int, Expect]] = {
    "attachments": {
        0: stored(alts=["a cow"]),
        1: ignored(NO_IMAGE), 2: ignored(NO_IMAGE), 3: ignored(NO_IMAGE),  # video, audio, audio as Document
        4: ignored(NO_IMAGE), 5: ignored(NO_IMAGE),  # a Link without mediaType, a payto: Link
        6: image_refused("bad_type"), 7: image_refused("bad_type"),  # Document without mediaType: a .txt
        8: ignored(NO_IMAGE), 9: ignored(NO_IMAGE),  # an attached Note, a schema.org Recipe
        10: stored(alts=[""] * 10),
    },
    "content_warnings": {
        0: stored(sensitive=True, cw=""), 1: stored(sensitive=True, cw="summary"),
        2: stored(sensitive=True, cw="summary"),
        3: stored(sensitive=False), 4: stored(sensitive=True), 5: stored(sensitive=False),  # only the Note's flag
        6: stored(sensitive=False, alts=["summary"]),
    },
    "context": {
        # "@context": null: the activity still parses (AS 2.0 §2.1 implies the AS context); its object has no
        # type, so it is ignored with that reason rather than lost as "no id, type or actor".
        4: Expect(item="ignored", artwork=None, reason="untyped"),
        5: refused(400, "unsupported JSON-LD context: http://strange.example/context"),  # never fetched
    },
    "hashtag_jsonld": {0: stored(tags=["test"]), 1: stored(tags=["test"]), 2: stored(tags=[]),  # untyped: no tag
                       3: stored(tags=["test"]), 4: stored(tags=["test"])},
    "hashtags": {i: stored(tags=tags) for i, tags in enumerate(
        [["test"], ["nohash"], ["withdash_under"], ["withwhitespace"], ["withsubtag"], ["with123"], ["1234"],
         ["camelcase"], ["ümläütß"], [], [], ["牛"], ["test"]])},  # emoji are not tag characters (as Mastodon)
    "html_tags": {26: stored(html="", title=""), 27: stored(html="")},  # <script> and its text, <img>: dropped
    "html_tags_article": {26: stored(html="", title=""), 27: stored(html="")},
    "html_tags_summary": {26: stored(cw="", sensitive=False)},  # a summary that is only a <script>
    "image_attachments": {
        4: image_refused("bad_type"), 5: image_refused("bad_type"), 7: image_refused("bad_type"),  # svg eps tiff
        9: image_refused("http_status"),  # 404
        10: stored(sizes=[(40, 40)]),  # declared 13x17; the real size wins
        11: ignored(NO_IMAGE),  # an attachment without type is not read
        # an inline data: image with its own @context; once that context is known, the data: URL (8 kB) must be
        # skipped or refused as media, not overflow media_assets.remote_url (PostgreSQL: a retry loop)
        16: Expect(artwork="failed", bug=CREDENTIALS_V2),
    },
    "image_description": {0: stored(alts=[""]), 1: stored(alts=["name"]), 2: stored(alts=["name"]),
                          3: stored(alts=[""])},
    "language": {**{i: stored(html="text") for i in range(5)}, 5: stored(html="Deutsch"), 6: stored(html="English"),
                 # JSON-LD language maps have no order: either language is a fair pick
                 7: stored(html={"English", "Deutsch"}), 8: stored(html={"English", "Deutsch"})},
    "necessary_properties": {
        1: failed('"@id" value must be a string'),  # "id": null: nothing to store it under
        3: ignored("attributed to nobody"),  # attributedTo must be the sender
        4: failed('"@type" value must be a string'),  # "type": null
    },
    "object_types": {
        **{i: ignored(NOT_STORED) for i in (1, 2, 3, 7, 8, 9, 10, 11)},  # Audio Document Event Place ... Video
        0: stored(title="name", cw=""), 4: stored(title="name"), 5: stored(title="name", cw="summary", html="content"),
        6: stored(title="name"), 12: stored(title="name", cw="summary"),  # ["Note", "Article"]: read as Note
        13: failed('"@type" value must be a string'),
    },
    "public_addressing": {i: stored(visibility="public") for i in range(3)},
    "recommended_attachments": {
        0: Expect(bug=CREDENTIALS_V2, fields={"alts": ["A beautiful cow"]}),
        1: Expect(item="ignored", artwork=None, reason=NO_IMAGE, bug=CREDENTIALS_V2),
        2: Expect(item="ignored", artwork=None, reason=NO_IMAGE, bug=CREDENTIALS_V2),
        3: Expect(item="ignored", artwork=None, reason=NO_IMAGE, bug=CREDENTIALS_V2),
    },
    "url": {i: stored(url=url) for i, url in enumerate(
        ["http://remote.example/objects/123"] * 3 + ["http://other.example/objects/123",  # the first link
         "http://html.example/objects/123", "http://video.example/objects/123", "http://remote.example/objects/123",
         "http://html.example/objects/123", "http://html.example/objects/123", "http://video.example/objects/123",
         "http://video.example/objects/123", "https://notype.example/", "{pasture}/objects/123"])},
}

_TAG = re.compile(r"<\s*(/?)\s*([a-zA-Z0-9]+)([^>]*)>")
_ATTR = re.compile(r'([^\s=]+)\s*=\s*"([^"]*)"')


def assert_sanitized(html: str) -> None:
    """Only our allowed tags (and mention classes), no event handlers or styles, links only http(s)/mailto with
    rel=nofollow."""
    for _, tag, attrs in _TAG.findall(html):
        assert tag.lower() in ALLOWED_TAGS, html
        found = dict(_ATTR.findall(attrs))
        classes = ALLOWED_CLASSES.get(tag.lower(), set())
        assert set(found) <= ({"href", "rel", "title"} if tag.lower() == "a" else set()) | ({"class"} if classes
                                                                                            else set()), html
        assert set(found.get("class", "").split()) <= classes, html  # Mastodon's mention markup, nothing else
        if tag.lower() == "a" and "href" in found:
            assert found["href"].startswith(("http://", "https://", "mailto:")), html
            assert "nofollow" in found.get("rel", ""), html
    lowered = html.lower()
    for bad in ("<script", "javascript:", "onerror", "onclick", "onload", "style=", "<img", "<iframe", "<form",
                "<audio", "<video", "<input", "<button"):
        assert bad not in lowered, html


async def outcome(ours: Ours, activity: dict, note: dict, answer: Answer) -> dict:
    found: dict[str, Any] = {"http": answer.status, "body": answer.body}
    item = await item_for(ours, activity["id"])
    if item is not None:
        found.update(item=item.state, reason=item.error or "")
    art = await artwork_for(ours, note.get("id"))
    if art is not None:
        assert_sanitized(art.description_html)
        assert "alert(" not in art.title + art.content_warning  # the text of a <script> never becomes text
        found.update(artwork=art.state, title=art.title, html=art.description_html, cw=art.content_warning,
                     sensitive=art.sensitive, visibility=art.visibility, tags=art.tag_names, url=art.url,
                     alts=[i.alt_text for i in art.images], sizes=[(i.asset.width, i.asset.height) for i in art.images],
                     image_errors=[i.asset.error_code for i in art.images if i.asset.error_code])
    return found


def mismatches(expect: Expect, found: dict, base: str) -> list[str]:
    problems = []
    if found["http"] != expect.http:
        problems.append(f"answered {found['http']} {found['body'][:200]}, expected {expect.http}")
    if expect.item is None:
        if expect.reason not in found["body"]:
            problems.append(f"refusal {found['body'][:200]!r} lacks {expect.reason!r}")
        return problems
    if found.get("item") != expect.item:
        problems.append(f"inbox item {found.get('item')} ({found.get('reason')}), expected {expect.item}")
    if expect.reason and expect.reason not in found.get("reason", ""):
        problems.append(f"reason {found.get('reason')!r} lacks {expect.reason!r}")
    if found.get("artwork") != expect.artwork:
        problems.append(f"artwork {found.get('artwork')}, expected {expect.artwork}")
    if expect.image_error and found.get("artwork") and expect.image_error not in found["image_errors"]:
        problems.append(f"image errors {found['image_errors']}, expected {expect.image_error}")
    for name, wanted in expect.fields.items():
        wanted = wanted.replace("{pasture}", base) if isinstance(wanted, str) else wanted
        got = found.get(name)
        if not (got in wanted if isinstance(wanted, set) else got == wanted):
            problems.append(f"{name} = {got!r}, expected {wanted!r}")
    return problems


@pytest.mark.parametrize("name", sorted(available))
async def test_pasture_inputs(name, ours, ada, tmp_path):  # type: ignore[no-untyped-def]
    """Every example of the input `name`, as pasture's ActivitySender sends it (a Create of its Note skeleton
    with the example applied), from an actor ada follows, to our shared inbox."""
    expected = EXPECTED.get(name, {})
    deviations, known = [], []
    async with one_actor_server(write_assets(tmp_path / "assets")) as (pasture, data), \
            aiohttp.ClientSession() as session:
        sender = await sender_for(pasture.base, data.one_actor, session)
        await follow_and_accept(ours, ada, sender)
        sender.activity_sender._inbox_cache[ours.url("/users/ada")] = ours.url("/inbox")
        for index, example in enumerate(available[name].examples):
            sender.activity_sender.init_create_note(lambda note, example=example: localize(
                {**note, "attachment": [image_attachment(pasture.base)], **example}, pasture.base))
            await sender.activity_sender.send(ours.url("/users/ada"))
            [answer] = ours.answers_to("POST", "/inbox")[-1:]
            found = await outcome(ours, sender.activity_sender.activity, sender.activity_sender.note, answer)
            expect = expected.get(index, Expect())
            problems = mismatches(expect, found, pasture.base)
            if problems:
                (known if expect.bug else deviations).append(f"{name}[{index}] {json.dumps(example)[:150]}: "
                                                             + "; ".join(problems) + (f" [{expect.bug}]" * bool(
                                                                 expect.bug)))
    assert deviations == []
    if known:
        pytest.xfail("known deviations:\n" + "\n".join(known))
