"""Issue 18's Done-when, as one flow: an artist on cara-fed A with three followers on two other instances (two on C,
one on D) moves to cara-fed B. Four `cara-fed serve` processes on loopback, each with its own SQLite database and
embedded worker, talking real signed HTTP.

B's account lists A's in alsoKnownAs, A sends Move, C and D follow the new account (seen on B's followers and on
C's and D's following lists) and stop following the old one; the following CSV exported on A and imported on B
sends its Follow across; the portfolio archive built on A and imported on B carries every work with its
protection choices (NoAI, cloaking, licence, alt texts, dates, projects, pinned order), compared field by field
through a second archive built on B — and the imported works are not pushed to the followers as new posts; the old
account shows movedTo in its actor and the notice on its portfolio (on A and on C's copy)."""

from __future__ import annotations

import sqlite3
import sys

import aiohttp
import pytest

from tests import images
from tests.flows.portability import actor, archive_of, count_is, csv_export, follow, summary, upload_file
from tests.flows.users import Browserless, eventually
from tests.instance import running_instance

pytestmark = pytest.mark.flow

# A fast, deterministic cloak engine (the built-in one is tested in tests/protection/cloak).
CLOAK_TOOL = r'''
import sys
import numpy as np
from PIL import Image
a = np.asarray(Image.open(sys.argv[1]).convert("RGB")).astype(int)
Image.fromarray(np.clip(a + 6, 0, 255).astype("uint8")).save(sys.argv[2])
'''
PASSWORDS = {"alice": "alice password", "alina": "alina password", "carol": "carol password",
             "dan": "dan password", "erin": "erin password"}


def _cloak_settings(tmp_path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    script = tmp_path / "cloak_tool.py"
    script.write_text(CLOAK_TOOL)
    return {"CARA_FED__CLOAK__ENGINE": "external", "CARA_FED__CLOAK__EXTERNAL_VERSION": "plus-6",
            "CARA_FED__CLOAK__EXTERNAL_COMMAND": f"{sys.executable},{script},{{input}},{{output}}",
            # The panel's figures run CLIP on the CPU (minutes on a busy machine); they are not what moves.
            "CARA_FED__CLOAK__MEASURE": "false"}


async def _publish_portfolio(alice: Browserless) -> None:
    """Three works with different protection choices, two pinned (in an order), two in a project."""
    harbour = await alice.upload(
        "Harbour at dawn", [("one.jpg", images.jpeg(1200, 800), "Boats at dawn"),
                            ("two.png", images.png(500, 700, mode="RGB"), "A red sail")],
        license="https://creativecommons.org/licenses/by/4.0/", field="Illustration", medium="Digital 2D",
        tags="harbour,boats")
    study = await alice.upload("Quiet study", [("three.jpg", images.jpeg(640, 640, colour=(20, 90, 200)), "Blue")],
                               noai="", field="Fine Art", medium="Traditional Painting", sensitive="on",
                               content_warning="Nudity (figure study)")
    waves = await alice.upload("Waves", [("waves.png", images.png(400, 300, mode="RGB"), "Grey waves")],
                               cloak="on", license="https://creativecommons.org/licenses/by-nc/4.0/")
    ids = {title: int(location.rsplit("/", 1)[1])
           for title, location in (("harbour", harbour), ("study", study), ("waves", waves))}
    for title in ("waves", "harbour"):  # pinned in this order: Waves first
        pinned = await alice.post(f"/artworks/{ids[title]}/pin", {"pinned": "on"}, token_from=harbour)
        assert pinned.status == 303
    project = await alice.post("/projects/new", {"title": "Sea studies", "description": "Water, in two ways.",
                                                 "artworks": [str(ids["waves"]), str(ids["harbour"])],
                                                 "cover": str(ids["waves"])}, token_from="/projects/new")
    assert project.status == 303, await project.text()

    # The export must not be taken before every work is published (the cloak takes a moment).
    async def published():  # type: ignore[no-untyped-def]
        states = {}
        for title, artwork_id in ids.items():
            async with alice.http.get(f"{alice.base}/artworks/{artwork_id}/status") as response:
                states[title] = (await response.json())["state"]
        print("work states on A:", states)  # shown if the wait times out
        return set(states.values()) == {"published"}
    await eventually(published, what="A publishing the three works (one cloaked)")

async def test_artist_moves_with_followers_and_portfolio(tmp_path):
    cloak = _cloak_settings(tmp_path)
    with running_instance(tmp_path / "a", settings=cloak) as a, running_instance(tmp_path / "b", settings=cloak) as b, \
            running_instance(tmp_path / "c") as c, running_instance(tmp_path / "d") as d:
        for home, name in ((a, "alice"), (b, "alina"), (c, "carol"), (c, "dan"), (d, "erin")):
            home.cli("createuser", name, "--email", f"{name}@example.test", "--password", PASSWORDS[name])
        alice, alina, carol = Browserless(a.url), Browserless(b.url), Browserless(c.url)
        dan, erin = Browserless(c.url), Browserless(d.url)
        users = {"alice": alice, "alina": alina, "carol": carol, "dan": dan, "erin": erin}
        try:
            for name, user in users.items():
                await user.login(name, PASSWORDS[name])
            old_handle, new_handle = f"@alice@127.0.0.1:{a.port}", f"@alina@127.0.0.1:{b.port}"
            old_uri, new_uri = f"{a.url}/users/alice", f"{b.url}/users/alina"
            await _publish_portfolio(alice)

            # Three followers on two other instances: Carol and Dan on C, Erin on D. Alice follows Erin back.
            old_profile = await follow(carol, c.url, old_handle)
            for follower, home in ((dan, c), (erin, d)):
                await follow(follower, home.url, old_handle)
            await follow(alice, a.url, f"@erin@127.0.0.1:{d.port}")
            await eventually(lambda: count_is(alice, f"{old_uri}/followers", 3), what="the three follows reaching A")
            await eventually(lambda: count_is(alice, f"{old_uri}/following", 1), what="D accepting Alice's follow")

            # Without the alias on B, A refuses the move and says why; nothing changes. A wrong password too.
            refused = await alice.post("/settings/move", {"target": new_handle, "password": PASSWORDS["alice"]},
                                       token_from="/settings/move")
            text = await refused.text()
            assert refused.status == 400 and "does not list" in text and "alsoKnownAs" in text
            assert "movedTo" not in await actor(alice, old_uri)
            wrong = await alice.post("/settings/move", {"target": new_handle, "password": "not it"},
                                     token_from="/settings/move")
            assert wrong.status == 400 and "password is not right" in await wrong.text()

            # Alina on B names the old account; B's actor publishes it.
            added = await alina.post("/settings/aliases", {"alias": old_handle}, token_from="/settings/move")
            assert added.status == 303, await added.text()
            assert (await actor(alina, new_uri))["alsoKnownAs"] == [old_uri]

            moved = await alice.post("/settings/move", {"target": new_handle, "password": PASSWORDS["alice"]},
                                     token_from="/settings/move")
            assert moved.status == 303, await moved.text()
            assert (await actor(alice, old_uri))["movedTo"] == new_uri

            # C and D got the Move: all three follow Alina on B now, and no longer Alice on A — on B's and A's
            # collections, and on the followers' own servers.
            await eventually(lambda: count_is(alina, f"{new_uri}/followers", 3), what="the three follows of B")
            await eventually(lambda: count_is(alice, f"{old_uri}/followers", 0), what="the old follows ending")
            new_address, old_address = new_handle[1:], old_handle[1:]
            for follower in (carol, dan, erin):
                following = await csv_export(follower, "following_accounts")
                assert new_address in following and old_address not in following, following

            # The old portfolio says where the artist went, on A and on C's copy of the profile.
            status, portfolio = await alice.get("/@alice")
            assert status == 200 and "This artist has moved to" in portfolio
            assert f'href="http://127.0.0.1:{b.port}/@alina"' in portfolio
            status, copy = await carol.get(old_profile)
            assert status == 200 and "has moved to" in copy and "@alina@127.0.0.1" in copy
            again = await alice.post("/settings/move", {"target": new_handle, "password": PASSWORDS["alice"]},
                                     token_from="/settings/move")
            assert again.status == 400 and "can move again" in await again.text()

            # What Alice follows comes along as Mastodon's following CSV: B follows Erin on D by the worker.
            following_csv = await csv_export(alice, "following_accounts")
            assert f"erin@127.0.0.1:{d.port}" in following_csv
            status = await upload_file(alina, "/settings/data/import/following", "csv", following_csv.encode())
            assert status["failures"] == []

            async def erin_followed():  # type: ignore[no-untyped-def]
                return new_address in await csv_export(erin, "followers")
            await eventually(erin_followed, what="D accepting the imported follow")

            # The portfolio: built on A, imported on B, then built again on B — the same works, field by field.
            exported = await archive_of(alice)
            before = summary(exported)
            assert sorted(before["works"]) == ["Harbour at dawn", "Quiet study", "Waves"]
            status = await upload_file(alina, "/settings/data/import/archive", "archive", exported)
            assert (status["done"], status["total"], status["failures"]) == (3, 3, [])

            async with aiohttp.ClientSession() as anonymous:
                async def imported():  # type: ignore[no-untyped-def]
                    async with anonymous.get(f"{b.url}/@alina") as response:
                        html = await response.text()
                    return all(title in html for title in before["works"])
                await eventually(imported, what="B publishing the imported works")
            after = summary(await archive_of(alina))
            for title, work in before["works"].items():
                for key, value in work.items():
                    assert after["works"][title][key] == value, f"{title}: {key}"
            assert after["works"].keys() == before["works"].keys()
            assert after["projects"] == before["projects"] == [
                {"title": "Sea studies", "description": "Water, in two ways.", "position": 0, "cover": "Waves",
                 "works": ["Waves", "Harbour at dawn"]}]
            assert after["pinned"] == before["pinned"] == ["Waves", "Harbour at dawn"]
            protections = {t: (w["noai"], w["cloak"], w["license"]) for t, w in after["works"].items()}
            assert protections == {
                "Harbour at dawn": (True, False, "https://creativecommons.org/licenses/by/4.0/"),
                "Quiet study": (False, False, "all-rights-reserved"),
                "Waves": (True, True, "https://creativecommons.org/licenses/by-nc/4.0/")}

            # B's three followers were not flooded: no Create went out for the imported works.
            with sqlite3.connect(b.data_dir / "cara-fed.db") as db:
                creates = db.execute("SELECT count(*) FROM outgoing_activities WHERE activity_type = 'Create'")
                assert creates.fetchone()[0] == 0
        finally:
            for user in users.values():
                await user.close()

