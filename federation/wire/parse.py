"""ActivityStreams in, our plain dataclasses out (the only place inbound AS JSON is read).

Documents are first compacted to one known context (`federation.wire.jsonld.compact_activity`, offline), so
aliases a sender chose come out under our names. Terms a sender did not define come out of the AS
context's `@vocab` as `_:term`; `get()` accepts both spellings. Be liberal like Mastodon: one value or a
list, a string or a Link, `name` or `summary` for alt text, `contentMap` when there is no `content`.
"""

from __future__ import annotations

import functools
import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from cara_fed.services.remote import RemoteActor, RemoteArtwork, RemoteImage, domain_of
from cara_fed.text import sanitize_html
from federation.wire import jsonld
from federation.wire.parse_keys import assertion_keys

AS_PUBLIC = jsonld.AS_PUBLIC
ACTOR_TYPES = ("Person", "Organization", "Service", "Application", "Group")
ARTWORK_TYPES = ("Note", "Article", "Image", "Page")
CARA = "https://w3id.org/cara-fed/ns#"
TITLE_MAX = 100


class ParseError(ValueError):
    """The document is not something we can read. `reason` is plain words, fine for a 400 body."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Activity:
    id: str
    type: str
    actor: str
    object: dict | str | None = None
    target: dict | str | None = None
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)

    @property
    def object_id(self) -> str | None:
        return iri(self.object)

    @property
    def object_type(self) -> str | None:
        return type_of(self.object) if isinstance(self.object, dict) else None


# --- small value readers -------------------------------------------------------------------------


def first(value: Any) -> Any:
    return (value[0] if value else None) if isinstance(value, list) else value


def get(obj: Any, *names: str) -> Any:
    """A property under its name or, when the sender left it undefined, its `_:name` spelling."""
    if not isinstance(obj, dict):
        return None
    for name in names:
        for key in (name, "_:" + name):
            if obj.get(key) is not None:
                return obj[key]
    return None


def iri(value: Any) -> str | None:
    value = first(value)
    if isinstance(value, dict):
        value = value.get("id") or value.get("href")
    return value if isinstance(value, str) and value else None


MAX_IRI = 2048  # our columns' limit; longer ones (or data: URLs) are not web addresses we can store or fetch


def web_iri(value: str | None) -> str | None:
    """`value` if it is an http(s) IRI of a storable length, else None."""
    return value if value and value.startswith(("http://", "https://")) and len(value) <= MAX_IRI else None


def iris(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return [found for item in values if (found := iri(item))]


def text(value: Any) -> str:
    value = first(value)
    if isinstance(value, dict) and "@value" in value:
        value = value["@value"]
    return value if isinstance(value, str) else ""


def text_or_map(obj: dict, name: str) -> str:
    """`content`, else the first language of `contentMap`."""
    found = text(obj.get(name))
    mapped = obj.get(name + "Map")
    if not found and isinstance(mapped, dict):
        found = next((v for v in mapped.values() if isinstance(v, str)), "")
    return found


def type_of(obj: Any) -> str:
    kind = text(obj.get("type")) if isinstance(obj, dict) else ""
    return kind.removeprefix("_:").removeprefix("as:")


def links(value: Any) -> list[str]:
    """URLs from a string, a Link (href), an object with url, or a list of those."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return links(value.get("href") or value.get("url") or value.get("id"))
    if isinstance(value, list):
        return [url for item in value for url in links(item)]
    return []


_BREAKS = re.compile(r"<br\s*/?>|</p\s*>|</h\d\s*>|</li\s*>", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]*>")


def plain_text(markup: str) -> str:
    """HTML to text, keeping line breaks (for titles, alt texts and names). Sanitizing first drops the
    content of <script>/<style>, which would otherwise leak into the text."""
    stripped = _TAGS.sub("", _BREAKS.sub("\n", sanitize_html(markup) if "<" in markup else markup))
    return "\n".join(" ".join(line.split()) for line in html.unescape(stripped).splitlines()).strip()


def title_from(name: str, content: str) -> str:
    """The Note's name, else its first line of text, cut at a word boundary."""
    line = plain_text(name).replace("\n", " ") or next((ln for ln in plain_text(content).splitlines() if ln), "")
    if len(line) <= TITLE_MAX:
        return line
    cut = line[:TITLE_MAX - 1].rsplit(" ", 1)[0] if " " in line[:TITLE_MAX - 1] else line[:TITLE_MAX - 1]
    return cut + "…"


def published(value: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


# --- documents ------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def _context_known(url: str) -> bool:
    try:
        jsonld.document_loader(url)
    except jsonld.UnknownContextError:
        return False
    return True


def _context_urls(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [url for item in value for url in _context_urls(item)]
    return []  # inline context objects are fine (remote URLs nested in them are caught by compaction)


def check_contexts(doc: dict) -> None:
    """Cheap check for the HTTP layer: every @context URL (top level and embedded object) is one we ship."""
    for node in (doc, doc.get("object")):
        if isinstance(node, dict):
            for url in _context_urls(node.get("@context")):
                if not _context_known(url):
                    raise ParseError(f"unsupported JSON-LD context: {url[:200]}")


def normalize(doc: dict) -> dict:
    """Compact to our context; refuse unknown remote contexts and unusable JSON-LD."""
    try:
        return jsonld.compact_activity(doc)
    except jsonld.UnknownContextError as exc:
        raise ParseError(f"unsupported JSON-LD context: {exc.url[:200]}") from None
    except jsonld.JsonLdError as exc:
        raise ParseError(str(exc)) from None


def activity(doc: dict) -> Activity:
    """The envelope of a compacted activity. id, type and actor are required."""
    id_, type_, actor_ = iri(doc.get("id")), type_of(doc), iri(doc.get("actor"))
    if not id_ or not type_ or not actor_:
        raise ParseError("an activity needs an id, a type and an actor")
    return Activity(id=id_, type=type_, actor=actor_, object=first(doc.get("object")),
                    target=first(doc.get("target")), to=iris(doc.get("to")), cc=iris(doc.get("cc")))


def _public_key(doc: dict, key_id: str | None) -> dict:
    published_keys = doc.get("publicKey")
    keys = [k for k in (published_keys if isinstance(published_keys, list) else [published_keys])
            if isinstance(k, dict) and text(k.get("publicKeyPem"))]
    if not keys:
        raise ParseError("the actor publishes no publicKey")
    chosen = next((k for k in keys if iri(k.get("id")) == key_id), keys[0])
    owner, actor_id, chosen_id = iri(chosen.get("owner")), iri(doc.get("id")), iri(chosen.get("id"))
    if owner and owner != actor_id:
        raise ParseError("the actor's key names another owner")
    # A key id on another server would let this actor squat someone else's key (their signatures would then
    # be checked against our copy of this actor's key): keys live on their actor's own origin.
    if chosen_id and actor_id and not same_origin(chosen_id, actor_id):
        raise ParseError(f"the actor's key {chosen_id[:200]} is not on the actor's own server")
    return chosen


def same_origin(a: str, b: str) -> bool:
    """Same scheme, host and port (RFC 6454), compared case-insensitively."""
    one, two = urlsplit(a), urlsplit(b)
    return bool(one.netloc) and (one.scheme.lower(), one.netloc.lower()) == (two.scheme.lower(), two.netloc.lower())


def _profile_links(doc: dict) -> list[dict[str, str]]:
    found = []
    for item in doc.get("attachment") or []:
        if not isinstance(item, dict) or type_of(item) != "PropertyValue":
            continue
        value = text(get(item, "value"))
        match = re.search(r'href="([^"]+)"', value)
        url = html.unescape(match.group(1)) if match else plain_text(value)
        if url.startswith(("http://", "https://")):
            found.append({"name": plain_text(text(item.get("name")))[:100], "url": url[:2048]})
    return found


def actor(doc: dict, key_id: str | None = None) -> RemoteActor:
    """A compacted actor document. `key_id` picks among several keys (the one a request was signed with)."""
    uri, kind = iri(doc.get("id")), type_of(doc)
    if not uri or kind not in ACTOR_TYPES:
        raise ParseError(f"not an actor ({kind or 'no type'})")
    inbox = iri(doc.get("inbox"))
    if not inbox:
        raise ParseError("the actor has no inbox")
    key = _public_key(doc, key_id)
    username = text(doc.get("preferredUsername")) or uri.rstrip("/").rsplit("/", 1)[-1]
    endpoints = doc.get("endpoints") if isinstance(doc.get("endpoints"), dict) else {}
    return RemoteActor(
        uri=uri, username=username[:64], domain=domain_of(uri), inbox=inbox,
        public_key_pem=text(key.get("publicKeyPem")), key_id=iri(key.get("id")) or f"{uri}#main-key",
        actor_type=kind, display_name=plain_text(text(doc.get("name")))[:100],
        summary_html=sanitize_html(text(doc.get("summary"))), url=first(links(doc.get("url"))),
        shared_inbox=iri(get(endpoints, "sharedInbox")), followers_url=iri(doc.get("followers")),
        avatar_url=first(links(first(doc.get("icon")))), banner_url=first(links(first(doc.get("image")))),
        locked=get(doc, "manuallyApprovesFollowers") is True, discoverable=get(doc, "discoverable") is not False,
        indexable=get(doc, "indexable") is not False,  # absent counts as yes, as for discoverable
        links=_profile_links(doc), assertion_keys=assertion_keys(doc))


def key_document(doc: dict) -> tuple[str, str, str]:
    """(key id, owner, pem) of a standalone key document (`CryptographicKey` with `owner`)."""
    key_id, owner, pem = iri(doc.get("id")), iri(doc.get("owner")), text(doc.get("publicKeyPem"))
    if not key_id or not owner or not pem:
        raise ParseError("not a key document (needs id, owner and publicKeyPem)")
    return key_id, owner, pem


# --- artworks -------------------------------------------------------------------------------------


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


# --- reports ---------------------------------------------------------------------------------------


def flag(doc: dict) -> tuple[list[str], str]:
    """(object IRIs, reason as plain text) of a compacted Flag: Mastodon sends [actor, statuses…] + content."""
    uris = iris(doc.get("object"))
    if not uris:
        raise ParseError("a Flag needs an object")
    return uris[:20], plain_text(text(doc.get("content")))[:1000]
