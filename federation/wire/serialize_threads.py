"""Threads -> ActivityStreams JSON: comments as Mastodon-shaped replies and the `replies` collections that let
peers backfill a thread. Pure functions, like federation/wire/serialize.py (split from it for size)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cara_fed.context import Context
from federation.wire.serialize import CONTEXT, PUBLIC, actor_id, artwork_id, followers_id, iso, tag_url
from federation.wire.serialize_artworks import replies_stub

if TYPE_CHECKING:  # annotations only: the wire reads rows it is handed, never the database
    from cara_fed.models import Account, Artwork


def comment_note(ctx: Context, comment: Any, artwork: Artwork, parent: Any, mentioned: list[Account]) -> dict:
    """A local comment as a Mastodon-shaped reply: public, cc the commenter's followers and everyone involved,
    with Mention and Hashtag tags."""
    author = comment.account
    involved = [actor_id(ctx, artwork.account), *([actor_id(ctx, parent.account)] if parent else [])]
    mention_ids = [actor_id(ctx, m) for m in mentioned]
    cc = list(dict.fromkeys([followers_id(ctx, author), *involved, *mention_ids]))
    tags: list[dict] = [{"type": "Mention", "href": actor_id(ctx, m),
                         "name": f"@{m.username}@{m.domain or ctx.config.server.domain}"} for m in mentioned]
    tags += [{"type": "Hashtag", "href": tag_url(ctx, t), "name": f"#{t}"} for t in comment.tags or []]
    return {
        "@context": CONTEXT,
        "id": comment.uri,
        "type": "Note",
        "attributedTo": actor_id(ctx, author),
        "inReplyTo": parent.uri if parent is not None else artwork_id(ctx, artwork),
        "content": comment.content_html,
        "published": iso(comment.created_at),
        "url": comment.uri,
        "to": [PUBLIC],
        "cc": cc,
        "tag": tags,
        "replies": replies_stub(comment.uri),
    }


def replies_collection(base: str, total: int) -> dict:
    return {"@context": CONTEXT, "id": base, "type": "Collection", "totalItems": total, "first": base + "?page=true"}


def replies_page(base: str, after: int | None, items: list[str], next_after: int | None) -> dict:
    """A page of direct replies (ids, oldest first), in Mastodon's CollectionPage shape."""
    page_id = base + "?page=true" + (f"&min_id={after}" if after is not None else "")
    doc: dict[str, Any] = {"@context": CONTEXT, "id": page_id, "type": "CollectionPage", "partOf": base,
                           "items": items}
    if next_after is not None:
        doc["next"] = f"{base}?page=true&min_id={next_after}"
    return doc
