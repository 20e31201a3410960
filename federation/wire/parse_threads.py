"""ActivityStreams -> threads: a reply Note as the core's RemoteComment. Pure, like federation/wire/parse.py
(and the mirror of serialize_threads.py); the inbound social handlers decide what to do with it.
"""

from __future__ import annotations

import html

from cara_fed.services.comments import RemoteComment
from cara_fed.text import sanitize_html
from federation.wire import parse
from federation.wire.parse_values import (
    first,
    iri,
    iris,
    links,
    plain_text,
    published,
    text,
    text_or_map,
    type_of,
    web_iri,
)


def reply(obj: dict) -> RemoteComment:
    """A compacted Note that answers something: its id, author, target, sanitized content, Mention/Hashtag tags."""
    uri = web_iri(iri(obj.get("id")))
    if not uri:
        raise parse.ParseError("the reply has no http(s) id")
    tags = [t for t in obj.get("tag") or [] if isinstance(t, dict)]
    content = text_or_map(obj, "content")
    warning = plain_text(text_or_map(obj, "summary"))
    if warning:  # a content warning stays visible in front of the text, as plain text
        content = f"<p><strong>CW: {html.escape(warning[:200])}</strong></p>{content}"
    return RemoteComment(
        uri=uri, attributed_to=first(iris(obj.get("attributedTo"))) or "", in_reply_to=iri(obj.get("inReplyTo")) or "",
        content_html=sanitize_html(content), url=first([u for u in links(obj.get("url")) if web_iri(u)]),
        published=published(text(obj.get("published"))),
        mentions=[h for t in tags if type_of(t) == "Mention" and (h := web_iri(iri(t.get("href"))))],
        tags=[text(t.get("name")).lstrip("#") for t in tags if type_of(t) == "Hashtag" and text(t.get("name"))])
