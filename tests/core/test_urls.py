"""cara_fed/urls.py: every local URL kind builds and parses back to what it names; nothing else parses."""

import pytest

from cara_fed import urls

BASE = "https://art.example"

ROUND_TRIPS = [
    (urls.actor("ana_1"), urls.Local("actor", "ana_1")),
    (urls.INSTANCE_ACTOR, urls.Local("instance_actor")),
    (urls.profile("ana_1"), urls.Local("profile", "ana_1")),
    (urls.artwork("ana_1", 42), urls.Local("artwork", "ana_1", 42)),
    (urls.replies(urls.artwork("ana_1", 42)), urls.Local("replies", "ana_1", 42)),
    (urls.project("ana_1", 7), urls.Local("project", "ana_1", 7)),
    (urls.comment("12-0a1b2c3d"), urls.Local("comment", None, 12, "12-0a1b2c3d")),
    (urls.job(9), urls.Local("job", None, 9)),
    (urls.activity("0123456789abcdef0123456789abcdef"), urls.Local("activity", ref="0123456789abcdef0123456789abcdef")),
    (urls.media("ab/0123456789abcdef0123456789abcdef.webp"),
     urls.Local("media", ref="ab/0123456789abcdef0123456789abcdef.webp")),
    (urls.tag("cats"), urls.Local("tag", ref="cats")),
    (urls.interaction("ana_1", "like", "5-deadbeef"), urls.Local("interaction", "ana_1", 5, "5-deadbeef")),
    (urls.interaction("ana_1", "announce", "6-deadbeef"), urls.Local("interaction", "ana_1", 6, "6-deadbeef")),
    *[(urls.actor_collection("ana_1", c), urls.Local(c, "ana_1"))
      for c in ("outbox", "followers", "following", "featured", "inbox")],
]


@pytest.mark.parametrize(("path", "expected"), ROUND_TRIPS, ids=[e.kind + ":" + p for p, e in ROUND_TRIPS])
def test_every_kind_round_trips(path, expected):
    assert urls.parse(BASE, BASE + path) == expected


def test_every_kind_is_covered():
    assert {e.kind for _, e in ROUND_TRIPS} == set(urls.Kind.__args__)


def test_the_shapes_on_the_wire_are_unchanged():
    """Peers hold these ids: a changed shape orphans them, so the exact strings are pinned here."""
    assert urls.actor("ana") == "/users/ana"
    assert urls.profile("ana") == "/@ana"
    assert urls.profile("ana", "far.example") == "/@ana@far.example"
    assert urls.artwork("ana", 3) == "/@ana/3"
    assert urls.project("ana", 4) == "/@ana/projects/4"
    assert urls.actor_collection("ana", "followers") == "/users/ana/followers"
    assert urls.interaction("ana", "like", "5-00ff00ff") == "/users/ana/likes/5-00ff00ff"
    assert urls.comment("5-00ff00ff") == "/comments/5-00ff00ff"
    assert urls.job(8) == "/jobs/8"
    assert urls.activity("ab") == "/activities/ab"
    assert urls.media("ab/cd.jpg") == "/media/ab/cd.jpg"
    assert urls.tag("a b") == "/tags/a%20b"


def test_a_fragment_and_a_trailing_slash_are_ignored():
    assert urls.parse(BASE, BASE + "/users/ana#main-key") == urls.Local("actor", "ana")
    assert urls.parse(BASE, BASE + "/@ana/") == urls.Local("profile", "ana")
    assert urls.parse(BASE, BASE + "/actor#main-key") == urls.Local("instance_actor")


@pytest.mark.parametrize("url", [
    "https://other.example/users/ana",
    "https://art.example.evil.com/users/ana",  # our host as a prefix of another
    "http://art.example/users/ana",  # another scheme is another origin
    "https://art.example",
    "",
    None,
    "/users/ana",  # relative: not a URL on the wire
])
def test_other_hosts_are_refused(url):
    assert urls.parse(BASE, url) is None


@pytest.mark.parametrize("path", [
    "/@ana/0",  # ids start at 1
    "/@ana/2147483648",  # past the int4 column
    "/@ana/99999999999",
    "/@ana/１２",  # full-width digits
    "/@ana/12abc",
    "/@ana/-1",
    "/jobs/0",
    "/jobs/x",
    "/comments/12",  # a comment ref carries its hex tail
    "/comments/0-0a1b2c3d",
    "/comments/12-0A1B2C3D",
    "/activities/not-hex",
    "/media/../secret.jpg",
    "/media/ab/cd.exe",
    "/users/" + "a" * 65,  # longer than any username
    "/users/ana/likes/x",
    "/users/an.a",
    "/@ana/3?x=1",
    "/elsewhere",
    "/",
])
def test_malformed_ids_are_refused(path):
    assert urls.parse(BASE, BASE + path) is None


def test_inbox_paths():
    assert urls.is_inbox("/inbox") and urls.is_inbox(urls.actor_collection("ana", "inbox"))
    assert not urls.is_inbox("/users/ana/outbox") and not urls.is_inbox("/inboxes")
