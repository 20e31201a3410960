"""Our own URLs: every local URL is built here and parsed back here, nowhere else.

Why one module: these shapes are on the wire (peers store our actor, Note and activity ids), so a URL that is
formatted by hand in one place and parsed by a regex in another drifts silently. Builders return *paths*
(`/@{name}/{id}`); `Context.url(path)` makes them absolute. `parse()` is the one way back from an absolute URL
to what it names. Never change a shape here: a changed URL orphans every copy a peer holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

from cara_fed.numbers import parse_id

USERNAME = r"[A-Za-z0-9_]+"  # route pattern; parse() also caps the length (usernames are <= 64)
COMMENT_REF = r"\d{1,9}-[0-9a-f]{8}"  # `{comment id}-{8 hex}`: the id alone must not be guessable as a URL
MEDIA_KEY = r"[0-9a-f]{2}/[0-9a-f]{32}\.(?:jpg|webp|png)"  # a derivative's storage key (web/media.py's route)
INTERACTION_KINDS = ("like", "announce")  # /users/{name}/{kind}s/{ref}

# Fixed paths and prefixes the middlewares and routes match on.
INSTANCE_ACTOR = "/actor"
INSTANCE_PROFILE = "/about"
SHARED_INBOX = "/inbox"
ACTORS = "/users/"
ACTIVITIES = "/activities/"
MEDIA = "/media/"
TAGS = "/tags/"
# Paths only ActivityPub peers read (actors, inboxes, activities): JSON errors, no CSRF token, no nav badge.
FEDERATION_PATHS = (SHARED_INBOX, ACTORS, INSTANCE_ACTOR, ACTIVITIES)

# aiohttp route templates and path patterns for the routes that serve these shapes (same shapes, one place).
ACTOR_ROUTE = rf"{ACTORS}{{username:{USERNAME}}}"  # + "/outbox", "/followers", …
ARTWORK_REPLIES_ROUTE = rf"/@{{username:{USERNAME}}}/{{artwork_id:\d+}}/replies"
COMMENT_REPLIES_ROUTE = rf"/comments/{{ref:{COMMENT_REF}}}/replies"
ACTIVITY_ROUTE = r"/activities/{event:[0-9a-f]{32}}"
PROFILE_PATH = re.compile(rf"/@(?P<username>{USERNAME})")
ARTWORK_PATH = re.compile(rf"/@(?P<username>{USERNAME})/(?P<artwork_id>\d+)")
PROJECT_PATH = re.compile(rf"/@(?P<username>{USERNAME})/projects/(?P<project_id>\d+)")
COMMENT_PATH = re.compile(rf"/comments/(?P<ref>{COMMENT_REF})")
JOB_PATH = re.compile(r"/jobs/(?P<job_id>\d+)")

Kind = Literal["actor", "instance_actor", "profile", "artwork", "project", "comment", "job", "activity", "media",
               "tag", "outbox", "followers", "following", "featured", "inbox", "interaction", "replies"]


# --- builders (paths) ------------------------------------------------------------------------------------------


def actor(name: str) -> str:
    return f"{ACTORS}{name}"


def actor_collection(name: str, collection: Literal["outbox", "followers", "following", "featured", "inbox"]) -> str:
    return f"{ACTORS}{name}/{collection}"


def interaction(name: str, kind: str, ref: str) -> str:
    """A Like/Announce we send: `/users/{name}/{kind}s/{id}-{hex}`."""
    return f"{ACTORS}{name}/{kind}s/{ref}"


def profile(name: str, domain: str | None = None) -> str:
    """A profile page: ours `/@{name}`, a remote one shown here `/@{name}@{domain}`."""
    return f"/@{name}" if domain is None else f"/@{name}@{domain}"


def artwork(name: str, artwork_id: int | str) -> str:
    return f"/@{name}/{artwork_id}"


def project(name: str, project_id: int | str) -> str:
    return f"/@{name}/projects/{project_id}"


def comment(ref: str | int) -> str:
    return f"/comments/{ref}"


def replies(note_path: str) -> str:
    return note_path + "/replies"


def job(job_id: int | str) -> str:
    return f"/jobs/{job_id}"


def job_applications(job_id: int | str) -> str:
    return f"/jobs/{job_id}/applications"


def activity(ref: str) -> str:
    return f"{ACTIVITIES}{ref}"


def media(key: str) -> str:
    return f"{MEDIA}{key}"


def tag(name: str) -> str:
    return f"{TAGS}{quote(name)}"


def artwork_protection(artwork_id: int) -> str:
    return f"/artworks/{artwork_id}/protection"


def artwork_status(artwork_id: int) -> str:
    return f"/artworks/{artwork_id}/status"


def is_inbox(path: str) -> bool:
    """The shared inbox or an actor's inbox (backpressure lets deliveries through)."""
    return path == SHARED_INBOX or (path.startswith(ACTORS) and path.endswith("/inbox"))


# --- the parser ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Local:
    """What a local URL names: its kind, the account name in it, and the row id or opaque ref."""

    kind: Kind
    name: str | None = None
    id: int | None = None
    ref: str | None = None


_NAME = r"(?P<name>[A-Za-z0-9_]{1,64})"
_PATTERNS: tuple[tuple[Kind, re.Pattern[str]], ...] = tuple((kind, re.compile(pattern)) for kind, pattern in (
    ("instance_actor", re.escape(INSTANCE_ACTOR)),
    ("actor", rf"/users/{_NAME}"),
    ("outbox", rf"/users/{_NAME}/outbox"),
    ("followers", rf"/users/{_NAME}/followers"),
    ("following", rf"/users/{_NAME}/following"),
    ("featured", rf"/users/{_NAME}/featured"),
    ("inbox", rf"/users/{_NAME}/inbox"),
    ("interaction", rf"/users/{_NAME}/(?:likes|announces)/(?P<ref>\d{{1,10}}-[0-9a-f]{{8}})"),
    ("profile", rf"/@{_NAME}"),
    ("artwork", rf"/@{_NAME}/(?P<id>\d{{1,10}})"),
    ("replies", rf"/@{_NAME}/(?P<id>\d{{1,10}})/replies"),
    ("project", rf"/@{_NAME}/projects/(?P<id>\d{{1,10}})"),
    ("comment", rf"/comments/(?P<ref>{COMMENT_REF})"),
    ("job", r"/jobs/(?P<id>\d{1,10})"),
    ("activity", r"/activities/(?P<ref>[0-9a-f]{32})"),
    ("media", rf"/media/(?P<ref>{MEDIA_KEY})"),
    ("tag", r"/tags/(?P<ref>[^/?#]{1,256})"),
))


def parse(base_url: str, url: str | None) -> Local | None:
    """What our absolute `url` names, or None: another host, an unknown shape, or an id no row can have.

    A fragment (`#main-key`) and one trailing slash are ignored; the query string is not part of any of our ids.
    """
    if not url or not url.startswith(base_url + "/"):
        return None
    path = url[len(base_url):].split("#", 1)[0]
    path = path.rstrip("/") if path != "/" else path
    if "?" in path:
        return None
    for kind, pattern in _PATTERNS:
        match = pattern.fullmatch(path)
        if match is None:
            continue
        groups = match.groupdict()
        number = None
        if groups.get("id") is not None:
            number = parse_id(groups["id"])
            if number is None:
                return None
        ref = groups.get("ref")
        if kind in ("comment", "interaction"):  # `{row id}-{hex}`: the row id is the part before the dash
            number = parse_id(ref.split("-", 1)[0]) if ref else None
            if number is None:
                return None
        return Local(kind, groups.get("name"), number, ref)
    return None
