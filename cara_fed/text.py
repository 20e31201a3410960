"""User text: Markdown to sanitized HTML, tags, usernames."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from urllib.parse import quote

import nh3
from markdown_it import MarkdownIt

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True}).enable("strikethrough")

ALLOWED_TAGS = {"p", "br", "a", "em", "strong", "del", "code", "pre", "blockquote", "ul", "ol", "li",
                "h3", "h4", "hr", "span"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
# Mastodon's microformats for mentions and hashtags (`h-card`, `u-url mention`, `mention hashtag`): kept so
# remote and our own mention links read as mentions; any other class is dropped.
ALLOWED_CLASSES = {"a": {"u-url", "mention", "hashtag"}, "span": {"h-card"}}


def sanitize_html(html: str) -> str:
    """Keep a small safe subset; links get rel=nofollow noopener and only http(s)/mailto schemes."""
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, allowed_classes=ALLOWED_CLASSES,
                     link_rel="nofollow noopener ugc", url_schemes={"http", "https", "mailto"})


def render_markdown(source: str) -> str:
    if not source.strip():
        return ""
    html = _markdown.render(source)
    # Headings inside a bio or description should not outrank the page title.
    html = re.sub(r"<(/?)h[12]>", r"<\1h3>", html)
    html = re.sub(r"<(/?)h[56]>", r"<\1h4>", html)
    return sanitize_html(html)


USERNAME_RE = re.compile(r"^[a-z0-9_]{1,30}$")
RESERVED_USERNAMES = frozenset({
    "admin", "administrator", "api", "about", "actor", "explore", "feed", "inbox", "instance", "login", "logout",
    "media", "moderator", "nodeinfo", "oauth", "outbox", "root", "settings", "signup", "static", "support",
    "system", "tags", "upload", "users", "well-known", "www", "jobs", "search", "notifications",
})


def username_problem(username: str) -> str | None:
    if not USERNAME_RE.match(username):
        return "Use 1–30 lowercase letters, digits or underscores."
    if username in RESERVED_USERNAMES:
        return f"“{username}” is reserved; please pick another name."
    return None


def normalize_tag(raw: str) -> str:
    """'#Concept Art' -> 'conceptart'; tags are matched case-insensitively like Mastodon's."""
    text = unicodedata.normalize("NFKC", raw).strip().lstrip("#").lower()
    return "".join(ch for ch in text if ch.isalnum() or ch == "_")[:100]


def parse_tags(raw: str | list[str]) -> list[str]:
    parts = raw if isinstance(raw, list) else re.split(r"[,\s]+", raw)
    seen: dict[str, None] = {}
    for part in parts:
        tag = normalize_tag(part)
        if tag:
            seen[tag] = None
    return list(seen)[:30]


HASHTAG_RE = re.compile(r"(?<![\w&/#])#(\w{1,100})")
# @name or @name@host (host with optional port). Not after a word character, `@`, `/` or `=`, as Mastodon's
# MENTION_RE: so e-mail addresses (ada@example.com) and URLs (https://host/@ada) are not mentions.
MENTION_RE = re.compile(r"(?<![\w@/=])@([A-Za-z0-9_]{1,64})(?:@([A-Za-z0-9.\-]+\.[A-Za-z]{2,}(?::\d{1,5})?"
                        r"|[0-9.]+:\d{1,5}))?(?![\w@])")
_TAG_OR_TEXT = re.compile(r"(<[^>]*>)")
_NO_LINKS_INSIDE = ("a", "code", "pre")


def _map_text(safe_html: str, change: Callable[[str], str]) -> str:
    """`change` applied to each run of text of sanitized HTML that is not inside a link, code or pre."""
    inside: list[str] = []
    parts = _TAG_OR_TEXT.split(safe_html)
    for index, part in enumerate(parts):
        if part.startswith("<"):
            name = re.match(r"</?\s*([a-zA-Z0-9]+)", part)
            if name and name.group(1).lower() in _NO_LINKS_INSIDE:
                if part.startswith("</"):
                    if inside:
                        inside.pop()
                elif not part.endswith("/>"):
                    inside.append(name.group(1).lower())
        elif not inside and part:
            parts[index] = change(part)
    return "".join(parts)


def link_hashtags(safe_html: str, tag_url: str) -> tuple[str, list[str]]:
    """Link the #hashtags in the text of sanitized HTML as Mastodon marks them up (never inside a link or
    code, nor in an entity such as &#39;). `tag_url` + tag is each link. Returns (html, tags found)."""
    tags: list[str] = []

    def hashtag(match: re.Match) -> str:
        tag = normalize_tag(match.group(1))
        if not tag or tag.isdigit():  # "#1" is a number, not a hashtag (as on Mastodon)
            return match.group(0)
        tags.append(tag)
        href = (tag_url + quote(tag)).replace("&", "&amp;").replace('"', "&quot;")
        return f'<a href="{href}" class="mention hashtag" rel="tag">#<span>{match.group(1)}</span></a>'

    html = _map_text(safe_html, lambda text: HASHTAG_RE.sub(hashtag, text) if "#" in text else text)
    return html, list(dict.fromkeys(tags))


def handle_key(name: str, host: str | None, own_domain: str) -> str:
    """'name@host' in lower case; a bare @name (or one written with our domain) is a local account."""
    return f"{name}@{host or own_domain}".lower()


def find_mentions(safe_html: str, own_domain: str) -> list[str]:
    """The handles (handle_key) @mentioned in the text of sanitized HTML, outside links and code, in order."""
    found: list[str] = []

    def collect(text: str) -> str:
        found.extend(handle_key(m.group(1), m.group(2), own_domain) for m in MENTION_RE.finditer(text))
        return text

    _map_text(safe_html, lambda text: collect(text) if "@" in text else text)
    return list(dict.fromkeys(found))


def link_mentions(safe_html: str, profile_urls: Mapping[str, str], own_domain: str) -> str:
    """Link the @mentions of known accounts (`profile_urls`: handle_key -> profile page) as Mastodon marks them
    up; unknown names stay plain text. Pure: whoever calls resolves the names (from the database, never over
    the network while rendering)."""

    def mention(match: re.Match) -> str:
        url = profile_urls.get(handle_key(match.group(1), match.group(2), own_domain))
        if not url:
            return match.group(0)
        href = url.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
        return (f'<span class="h-card"><a href="{href}" class="u-url mention">'
                f'@<span>{match.group(1)}</span></a></span>')

    return _map_text(safe_html, lambda text: MENTION_RE.sub(mention, text) if "@" in text else text)
