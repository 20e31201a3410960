"""Small readers of compacted ActivityStreams values, shared by every parse_*.py module: one value or
a list, a string or a Link, `_:term` spellings, plain text from HTML, dates and same-origin checks."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from cara_fed.text import sanitize_html

TITLE_MAX = 100


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


def same_origin(a: str, b: str) -> bool:
    """Same scheme, host and port (RFC 6454), compared case-insensitively."""
    one, two = urlsplit(a), urlsplit(b)
    return bool(one.netloc) and (one.scheme.lower(), one.netloc.lower()) == (two.scheme.lower(), two.netloc.lower())
