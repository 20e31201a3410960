"""ActivityStreams -> artworks: a Note (or Article/Image/Page) with images as the core's RemoteArtwork, with
its licence, NoAI, AI label, cloak and reply policy. Pure, like federation/wire/parse.py."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from cara_fed.services.remote import RemoteArtwork, RemoteImage
from cara_fed.text import sanitize_html
from federation.wire import jsonld
from federation.wire.parse import Activity, ParseError
from federation.wire.parse_values import (
    MAX_IRI,
    first,
    get,
    iri,
    iris,
    links,
    plain_text,
    published,
    text,
    text_or_map,
    title_from,
    type_of,
    web_iri,
)

AS_PUBLIC = jsonld.AS_PUBLIC
ARTWORK_TYPES = ("Note", "Article", "Image", "Page")
CARA = "https://w3id.org/cara-fed/ns#"


def _image_url(item: dict) -> tuple[str | None, str]:
    """(url, mediaType) of an attachment: `url` as a string, a Link or a list (images preferred)."""
    media_type = text(item.get("mediaType"))
    candidates = item.get("url") if item.get("url") is not None else item.get("href")
    options = candidates if isinstance(candidates, list) else [candidates]
    for option in sorted(options, key=lambda o: not text(get(o, "mediaType")).startswith("image/")):
        found = links(option)
        if found:
            return found[0], media_type or text(get(option, "mediaType"))
    return None, media_type


def _focal_point(value: Any) -> tuple[float, float]:
    try:
        x, y = (float(v) for v in value[:2])
    except (TypeError, ValueError):
        return 0.0, 0.0
    return max(-1.0, min(1.0, x)), max(-1.0, min(1.0, y))


def _dimension(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 1_000_000 else None


def images(attachments: Any) -> list[RemoteImage]:
    found = []
    for item in attachments if isinstance(attachments, list) else [attachments]:
        if not isinstance(item, dict) or type_of(item) not in ("Document", "Image", "Link"):
            continue
        url, media_type = _image_url(item)
        url = web_iri(url)
        if not url or (media_type and not media_type.startswith("image/")):
            continue  # video, audio, or a Link that is not an image
        if type_of(item) == "Link" and not media_type:
            continue
        blurhash = text(get(item, "blurhash"))
        found.append(RemoteImage(
            url=url, alt_text=plain_text(text(item.get("name")) or text(item.get("summary"))),
            media_type=media_type, blurhash=blurhash if 0 < len(blurhash) <= 100 else None,
            width=_dimension(item.get("width")), height=_dimension(item.get("height")),
            focal_point=_focal_point(get(item, "focalPoint"))))
    return found


def _visibility(to: list[str], cc: list[str]) -> str:
    if AS_PUBLIC in to:
        return "public"
    return "unlisted" if AS_PUBLIC in cc else "followers"


def _ai_label(obj: dict) -> str | None:
    value = get(obj, "cara:aiProvenance", CARA + "aiProvenance")
    return value if value in ("ai_generated", "ai_assisted") else None


def _without_label(warning: str, label: str | None) -> str:
    """Our own outbound form puts "<Label> (labelled by host) · " before the artist's warning: drop it."""
    if label is None or " (labelled by " not in warning.split(" · ", 1)[0]:
        return warning
    return warning.split(" · ", 1)[1] if " · " in warning else ""


def _license(obj: dict) -> str:
    # Ours, else FEP-6757's dcterms:license (Pixelfed) or schema.org's, as the sender's context mapped them.
    value = iri(get(obj, "cara:license", CARA + "license", "http://purl.org/dc/terms/license", "license",
                    "schema:license", "http://schema.org/license")) or ""
    return value if value.startswith(("http://", "https://")) and len(value) <= 255 else "all-rights-reserved"


def _noai(obj: dict) -> bool:
    if get(obj, "cara:noAI", CARA + "noAI") is True:
        return True
    # FEP-5e53 xRobotsTag, under whatever IRI or prefix the sender mapped it to.
    values = [v for key, v in obj.items() if re.split(r"[#:/]", key)[-1] == "xRobotsTag"]
    tokens = {t.strip().lower() for v in values for item in (v if isinstance(v, list) else [v])
              for t in str(item).split(",")}
    return bool(tokens & {"noai", "noimageai"})


def _cloaked(obj: dict) -> dict | None:
    """cara:cloaked {cara:engine, cara:version}: the origin's files carry a cloak (or `true`, engine unknown)."""
    value = get(obj, "cara:cloaked", CARA + "cloaked")
    if value is True:
        return {"engine": "unknown", "version": ""}
    if not isinstance(value, dict):
        return None
    return {"engine": text(get(value, "cara:engine", CARA + "engine"))[:40] or "unknown",
            "version": text(get(value, "cara:version", CARA + "version"))[:40]}


GTS = "https://gotosocial.org/ns#"


def can_reply(obj: dict) -> list[str] | None:
    """GoToSocial interactionPolicy.canReply: who may reply without approval (`always`/`automaticApproval`),
    or None when the post states no policy."""
    policy = get(obj, "interactionPolicy", GTS + "interactionPolicy")
    rule = get(policy, "canReply", GTS + "canReply")
    if not isinstance(rule, dict):
        return None
    return [*iris(get(rule, "always", GTS + "always")),
            *iris(get(rule, "automaticApproval", GTS + "automaticApproval"))]


def comments_enabled(obj: dict) -> bool | None:
    """Pixelfed's commentsEnabled (pixelfed:commentsEnabled; older Pixelfed mapped the term to schema:Boolean)."""
    for key, value in obj.items():
        if re.split(r"[#:/]", key)[-1] in ("commentsEnabled", "Boolean") or key == "_:commentsEnabled":
            value = value.get("@value") if isinstance(value, dict) else value
            if isinstance(value, bool):
                return value
    return None


def _reply_policy(obj: dict) -> list[str] | None:
    """Who may reply: interactionPolicy when stated, else nobody when Pixelfed turned comments off."""
    policy = can_reply(obj)
    return [] if policy is None and comments_enabled(obj) is False else policy


@dataclass(frozen=True)
class ArtworkHead:
    """What decides whether a work is stored at all, without the text work (sanitising) of `artwork`."""

    uri: str
    attributed_to: str
    images: list[RemoteImage]


def artwork_head(obj: dict) -> ArtworkHead:
    """The id, author and images of a compacted artwork; raises what `artwork` raises for the same object."""
    uri, kind = iri(obj.get("id")), type_of(obj)
    if not uri or kind not in ARTWORK_TYPES:
        raise ParseError(f"not an artwork ({kind or 'no type'})")
    if web_iri(uri) is None:
        raise ParseError(f"the object id is not an http(s) IRI of at most {MAX_IRI} characters")
    return ArtworkHead(uri, first(iris(obj.get("attributedTo"))) or "", images(obj.get("attachment")))


def artwork(obj: dict, envelope: Activity | None = None) -> RemoteArtwork:
    """A compacted Note (or Article/Image/Page) with image attachments."""
    head = artwork_head(obj)
    uri, kind = head.uri, type_of(obj)
    to, cc = iris(obj.get("to")), iris(obj.get("cc"))
    if not to and not cc and envelope is not None:  # addressing only on the activity
        to, cc = envelope.to, envelope.cc
    content = text_or_map(obj, "content")
    ai_label = _ai_label(obj)
    warning = _without_label(plain_text(text_or_map(obj, "summary")), ai_label) if kind == "Note" else ""
    urls = [u for u in links(obj.get("url")) if web_iri(u)]
    return RemoteArtwork(
        uri=uri, attributed_to=head.attributed_to,
        title=title_from(text_or_map(obj, "name"), content), content_html=sanitize_html(content),
        url=first(urls), content_warning=warning[:500], sensitive=get(obj, "sensitive") is True or bool(warning),
        published=published(text(obj.get("published"))),
        tags=[text(t.get("name")).lstrip("#") for t in obj.get("tag") or []
              if isinstance(t, dict) and type_of(t) == "Hashtag" and text(t.get("name"))],
        images=head.images, license=_license(obj), noai=_noai(obj),
        visibility=_visibility(to, cc), ai_label=ai_label, can_reply=_reply_policy(obj), cloaked=_cloaked(obj))
