"""ActivityStreams -> actors: an actor document as the core's RemoteActor (its key, profile links). Pure, like
federation/wire/parse.py."""

from __future__ import annotations

import html
import re

from cara_fed.services.remote import RemoteActor, domain_of
from cara_fed.text import sanitize_html
from federation.wire.parse import ParseError
from federation.wire.parse_keys import assertion_keys
from federation.wire.parse_values import first, get, iri, links, plain_text, same_origin, text, type_of

ACTOR_TYPES = ("Person", "Organization", "Service", "Application", "Group")


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
