"""Follow / like from anywhere, the visitor's side: where on *their* server can they act on our work?

A visitor who is not logged in here names their home server ("@you@mastodon.social" or "mastodon.social").
We ask that server's WebFinger (for their account, or for its instance actor `acct:host@host` when only the
host is given) for a FEP-3b86 intent matching what they want (Follow, Like, Announce, Create with
inReplyTo, Object) or else the oStatus subscribe template Mastodon, Pleroma, Misskey and we all serve, fill
it in with our object's id, and send them there.
"""

from __future__ import annotations

import re
import time
from urllib.parse import quote, urlsplit

from cara_fed.context import Context, ResourceKey
from cara_fed.directory import HomeServer, Intent, LookupFailed
from federation.discovery.finger import finger, links
from federation.discovery.net import FetchError

SUBSCRIBE = "http://ostatus.org/schema/1.0/subscribe"
FEP_3B86 = "https://w3id.org/fep/3b86/"
# Link relations to try for each intent, best first: the FEP-3b86 intent itself, then pages where the
# object can be opened (and acted on), the oStatus subscribe template being the most widely served.
RELS: dict[str, tuple[str, ...]] = {
    "follow": (FEP_3B86 + "Follow", SUBSCRIBE, FEP_3B86 + "Object"),
    "like": (FEP_3B86 + "Like", SUBSCRIBE, FEP_3B86 + "Object"),
    "announce": (FEP_3B86 + "Announce", SUBSCRIBE, FEP_3B86 + "Object"),
    "reply": (FEP_3B86 + "Create", SUBSCRIBE, FEP_3B86 + "Object"),
}
PLACEHOLDER = re.compile(r"\{([A-Za-z][A-Za-z-]*)\}")
JRD_CACHE = ResourceKey[dict[tuple[str, str], tuple[float, dict]]]("federation.discovery.remote_interaction.jrd")
CACHE_SECONDS = 600
CACHE_ENTRIES = 1000


def _template(link: dict) -> str | None:
    # FEP-3b86 puts the template in `href`; oStatus (and some FEP implementers) in `template`.
    for name in ("template", "href"):
        value = link.get(name)
        if isinstance(value, str) and "{" in value:
            return value
    return None


def choose_template(jrd: dict, intent: Intent) -> str | None:
    """The best template the JRD offers for `intent` (relations compared case-insensitively)."""
    offered: dict[str, str] = {}
    for link in links(jrd):
        template = _template(link)
        if template:
            offered.setdefault(link["rel"].lower(), template)
    for rel in RELS[intent]:
        template = offered.get(rel.lower())
        if template is None:
            continue
        if rel == FEP_3B86 + "Create" and "{inReplyTo}" not in template:
            continue  # a plain "share" page would post a new status, not a reply
        return template
    return None


def fill(template: str, object_uri: str, page_url: str) -> str:
    """Replace every {placeholder}: ours percent-encoded, unknown ones with "" (FEP-3b86 §3.2)."""
    values = {"uri": object_uri, "object": object_uri, "inReplyTo": object_uri, "on-success": page_url,
              "on-cancel": page_url}
    return PLACEHOLDER.sub(lambda m: quote(values.get(m.group(1), ""), safe=""), template)


def _usable(ctx: Context, url: str) -> bool:
    parts = urlsplit(url)
    allowed = ("https", "http") if ctx.config.federation.allow_private_addresses else ("https",)
    return parts.scheme in allowed and bool(parts.hostname) and not any(c.isspace() for c in url)


async def _jrd(ctx: Context, host: str, resource: str, timeout: float) -> dict:  # noqa: ASYNC109
    """The JRD, from a short in-process cache: a popular artist's visitors mostly come from a few servers."""
    cache = ctx.resources.provide(JRD_CACHE, dict)
    now = time.monotonic()
    hit = cache.get((host, resource))
    if hit is not None and hit[0] > now:
        return hit[1]
    jrd = await finger(ctx, host, resource, timeout=timeout)
    if len(cache) >= CACHE_ENTRIES:
        cache.clear()
    cache[(host, resource)] = (now + CACHE_SECONDS, jrd)
    return jrd


def _explain(home: HomeServer, exc: FetchError) -> str:
    host = home.host
    if exc.code == "blocked_address":
        return f"{host} is not a public server."
    if exc.code == "timeout":
        return f"{host} did not answer in time. Try again in a moment."
    if exc.code == "http_status" and exc.status in (404, 410) and home.username:
        return f"{host} does not know {home}. Check the spelling of your handle."
    if exc.code in ("http_status", "bad_type", "bad_document"):
        return f"{host} does not look like a fediverse server (its WebFinger did not answer usefully)."
    return f"We could not reach {host}. Check the spelling of the server's name."


async def interaction_url(ctx: Context, home: HomeServer, intent: Intent, object_uri: str, page_url: str, *,
                          timeout: float = 10) -> str:  # noqa: ASYNC109 (one deadline for the whole lookup)
    """The filled-in page on the visitor's server. Raises LookupFailed with a message for the visitor."""
    if home.host == ctx.config.server.domain.lower():  # one of ours after all: no need to ask ourselves
        return ctx.url(f"/authorize_interaction?uri={quote(object_uri, safe='')}&intent={intent}")
    resource = f"acct:{home.username}@{home.host}" if home.username else f"acct:{home.host}@{home.host}"
    try:
        jrd = await _jrd(ctx, home.host, resource, timeout)
    except FetchError as exc:
        raise LookupFailed(_explain(home, exc)) from None
    template = choose_template(jrd, intent)
    if template is None:
        where = "your account" if home.username else "the server"
        raise LookupFailed(f"{home.host} did not tell us where to send you (no follow or interaction link in "
                           f"{where}'s WebFinger)." + ("" if home.username else " Try your full handle instead."))
    url = fill(template, object_uri, page_url)
    if not _usable(ctx, url):
        raise LookupFailed(f"{home.host} offered an address we will not send you to ({url[:80]}).")
    return url

