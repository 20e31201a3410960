"""Models -> ActivityStreams JSON. Pure functions: no database, no HTTP (callers load what is needed).

With federation/wire/parse*.py (and serialize_threads.py, comments) this and its serialize_*.py siblings are the
only place that knows the AS wire format (DESIGN.md §1, §4). This module holds our ids and the shared pieces
(dates, hashtags, mentions, the image derivative to link) and the envelopes: activities and collections;
serialize_actors.py builds actors, serialize_artworks.py the Notes of artworks.
Every term used below is defined by CONTEXT, and CONTEXT names only contexts federation/wire/jsonld.py ships,
so any JSON-LD processor (ours is offline) can expand what we send.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cara_fed import urls
from cara_fed.context import Context
from cara_fed.text import link_hashtags
from federation.wire.contexts import AS_CONTEXT as AS_CONTEXT
from federation.wire.contexts import CARA_NS as CARA_NS
from federation.wire.contexts import CONTEXT as CONTEXT
from federation.wire.contexts import DCTERMS_LICENSE as DCTERMS_LICENSE
from federation.wire.contexts import GTS_CONTEXT as GTS_CONTEXT
from federation.wire.contexts import PIXELFED_COMMENTS as PIXELFED_COMMENTS
from federation.wire.contexts import SECURITY_CONTEXT as SECURITY_CONTEXT
from federation.wire.contexts import XROBOTS_IRI as XROBOTS_IRI

if TYPE_CHECKING:  # annotations only: the wire reads rows it is handed, never the database
    from cara_fed.models import Account, Artwork, Boost, Like, MediaAsset, Project

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
NOAI_ROBOTS = "noai, noimageai"


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def actor_id(ctx: Context, account: Account) -> str:
    if not account.is_local:
        return account.uri or ""
    if account.kind == "application":
        return ctx.url(urls.INSTANCE_ACTOR)
    return ctx.url(urls.actor(account.username))


def profile_url(ctx: Context, account: Account) -> str:
    if not account.is_local:
        return account.url or account.uri or ""
    return ctx.url(urls.INSTANCE_PROFILE if account.kind == "application" else urls.profile(account.username))


def artwork_id(ctx: Context, artwork: Artwork) -> str:
    if artwork.uri:  # remote
        return artwork.uri
    return ctx.url(urls.artwork(artwork.account.username, artwork.id))


def project_id(ctx: Context, account: Account, project: Project | int) -> str:
    number = project if isinstance(project, int) else project.id
    return ctx.url(urls.project(account.username, number))


def followers_id(ctx: Context, account: Account) -> str:
    if not account.is_local:
        return account.followers_url or ""
    return actor_id(ctx, account) + "/followers"


def replies_id(note_id: str) -> str:
    """The `replies` collection of a local Note (an artwork's or a comment's)."""
    return urls.replies(note_id)


def tag_url(ctx: Context, tag: str) -> str:
    return ctx.url(urls.tag(tag))


def hashtags(ctx: Context, html: str, local: bool, extra: list[str] | None = None) -> tuple[str, list[dict]]:
    """Our own text with its #hashtags linked, and a Hashtag tag for each (plus `extra`), so Mastodon makes
    them searchable. Remote text is left as its server wrote it."""
    found: list[str] = []
    if local and html:
        html, found = link_hashtags(html, ctx.url(urls.TAGS))
    names = list(dict.fromkeys([*(extra or []), *found]))
    return html, [{"type": "Hashtag", "href": tag_url(ctx, t), "name": f"#{t}"} for t in names]


def mention_tags(mentions: list[dict] | None) -> list[dict]:
    """Mention tags from a stored mention list (services/mentions.py): Mastodon notifies whom these name."""
    return [{"type": "Mention", "href": m["href"], "name": m["name"]}
            for m in mentions or [] if isinstance(m, dict) and m.get("href") and m.get("name")]


def new_activity_id(ctx: Context) -> str:
    return ctx.url(urls.activity(uuid.uuid4().hex))


def largest(asset: MediaAsset | None, long_edge: int | None = None) -> Any:
    """The JPEG derivative to link: the best for `long_edge`, or the largest there is."""
    if asset is None or asset.state != "ready":
        return None
    if long_edge is not None:
        return asset.best(long_edge, "jpeg")
    jpegs = [d for d in asset.derivatives if d.format == "jpeg"]
    return max(jpegs, key=lambda d: d.long_edge) if jpegs else None


def _embedded(value: Any) -> Any:
    """An object inside another document carries no @context of its own."""
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k != "@context"}
    return value


def activity(ctx: Context, type_: str, actor: Account | str, object_: dict | str | list, *,
             to: list[str] | None = None, cc: list[str] | None = None, id_: str | None = None) -> dict:
    """An activity by `actor` about `object_` (a document or an IRI). Without to/cc it copies the object's
    addressing, as Mastodon does for Create/Update, so recipients see the same audience on both."""
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "id": id_ or new_activity_id(ctx),
        "type": type_,
        "actor": actor if isinstance(actor, str) else actor_id(ctx, actor),
        "object": _embedded(object_),
    }
    if to is None and isinstance(object_, dict) and "to" in object_:
        to = object_["to"]
        if cc is None:
            cc = object_.get("cc")
    if to is not None:
        doc["to"] = to
    if cc is not None:
        doc["cc"] = cc
    if isinstance(object_, dict) and type_ in ("Create", "Update") and object_.get("published"):
        doc["published"] = object_.get("updated") or object_["published"]
    return doc


def tombstone(uri: str, former_type: str | None = None) -> dict:
    """What a Delete carries for an object that is gone."""
    return {"id": uri, "type": "Tombstone", **({"formerType": former_type} if former_type else {})}


def ordered_collection(id_: str, total: int, *, first: str | None = None, items: list | None = None,
                       **extra: Any) -> dict:
    """An OrderedCollection: paged (first) or with its items inline (featured, projects)."""
    doc: dict[str, Any] = {"@context": CONTEXT, "id": id_, "type": "OrderedCollection", "totalItems": total}
    doc.update({k: v for k, v in extra.items() if v is not None})
    if first is not None:
        doc["first"] = first
    if items is not None:
        doc["orderedItems"] = [_embedded(item) for item in items]
    return doc


def collection_page(id_: str, part_of: str, items: list, *, next_: str | None = None) -> dict:
    doc: dict[str, Any] = {"@context": CONTEXT, "id": id_, "type": "OrderedCollectionPage", "partOf": part_of,
                           "orderedItems": [_embedded(item) for item in items]}
    if next_ is not None:
        doc["next"] = next_
    return doc


def create_for_note(ctx: Context, artwork: Artwork, note: dict) -> dict:
    """The Create an outbox lists for a Note (a stable id derived from the Note's, so listings repeat it)."""
    return activity(ctx, "Create", artwork.account, note, id_=note["id"] + "#create")


def project_collection(ctx: Context, account: Account, project: Project, artworks: list[Artwork]) -> dict:
    """A portfolio project: an OrderedCollection with a title and description whose items are Notes' ids."""
    return ordered_collection(
        project_id(ctx, account, project), len(artworks), items=[artwork_id(ctx, a) for a in artworks],
        name=project.title, summary=project.description_html or None, attributedTo=actor_id(ctx, account),
        url=project_id(ctx, account, project), published=iso(project.created_at), updated=iso(project.updated_at))


def interaction(ctx: Context, type_: str, row: Like | Boost, actor: Account, artwork: Artwork) -> dict:
    """Like (to the author only) or Announce (public, to the author and our followers) of a work."""
    note, author = artwork_id(ctx, artwork), actor_id(ctx, artwork.account)
    if type_ == "Like":
        return activity(ctx, "Like", actor, note, to=[author], id_=row.uri)
    return activity(ctx, "Announce", actor, note, to=[PUBLIC], cc=[author, followers_id(ctx, actor)],
                    id_=row.uri) | {"published": iso(row.created_at)}
