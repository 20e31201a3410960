"""How a Mastodon post becomes our ArtworkInput (POST and PUT /api/v1/statuses), docs/api.md: the title is
`cara[title]` when given, else the first line of `status` (trailing hashtags dropped, cut at 200 characters),
else "Untitled"; the rest of the text is the description (Markdown); every #hashtag and `cara[tags]` become
tags; `spoiler_text` is the content warning and marks the work sensitive; visibility public / unlisted /
private (= followers only); `cara[field]`, `cara[medium]`, `cara[license]`, `cara[noai]`, `cara[software]` set
our fields (NoAI defaults to the account's choice)."""

from __future__ import annotations

import re

from cara_fed.models import Account, Artwork
from cara_fed.services.artworks import ArtworkInput
from cara_fed.services.comments import HASHTAG_RE
from cara_fed.taxonomy import LICENSES
from web.api.base import Params, unprocessable

VISIBILITIES = {"public": "public", "unlisted": "unlisted", "private": "followers"}
TITLE_MAX = 200


def derive_title(text: str) -> tuple[str, str]:
    """(title, description) from a post's text: the first line is the title, the rest the description."""
    lines = text.strip().splitlines()
    if not lines:
        return "", ""
    first, rest = lines[0].strip(), "\n".join(lines[1:]).strip()
    title = re.sub(r"(\s+#\w+)+\s*$", "", first).strip()
    if title.startswith("#") and all(word.startswith("#") for word in title.split()):
        title = ""  # a line of hashtags only is no title
    if len(title) > TITLE_MAX:
        cut = title[: TITLE_MAX - 1].rsplit(" ", 1)[0]
        return cut + "…", text.strip()  # the full line stays readable in the description
    return title, rest


def _cara_tags(cara: Params) -> list[str]:
    raw = cara.list("tags")
    if len(raw) == 1 and isinstance(raw[0], str) and "," in raw[0]:
        raw = raw[0].split(",")
    return [str(t) for t in raw]


def artwork_input(p: Params, text: str, account: Account, current: Artwork | None = None) -> ArtworkInput:
    cara = p.nested("cara")
    title, description = derive_title(text)
    if current is not None and not p.has("status"):
        title, description = current.title, current.description
    title = cara.text("title") or title or (current.title if current is not None else "") or "Untitled"
    tags = [m.group(1) for m in HASHTAG_RE.finditer(text)] + _cara_tags(cara)
    if current is not None and not p.has("status") and not cara.has("tags"):
        tags = current.tag_names
    visibility = p.text("visibility") or ("" if current is None else next(
        (k for k, v in VISIBILITIES.items() if v == current.visibility), "public"))
    if visibility == "direct":
        raise unprocessable("Direct messages are not offered here: post to public, unlisted or private (followers)")
    if visibility and visibility not in VISIBILITIES:
        raise unprocessable(f"Visibility must be one of {', '.join(VISIBILITIES)}")
    license_ = cara.text("license") or (current.license if current is not None else "all-rights-reserved")
    if license_ not in LICENSES:
        raise unprocessable(f"Unknown licence; choose one of: {', '.join(LICENSES)}")
    spoiler = p.text("spoiler_text") if p.has("spoiler_text") else (current.content_warning if current else "")
    default_noai = current.noai if current is not None else account.noai_default
    if cara.flag("cloak", False) and (current is None or not current.cloak):
        # The cloak is made with the derivatives, when the image is processed; an API upload is processed
        # before its post exists, so cloaking stays a choice of the upload form for now.
        raise unprocessable("Cloaking is chosen when uploading on the web (Upload, Cloak this work); posts from "
                            "apps are not cloaked yet")
    software = cara.list("software")
    return ArtworkInput(
        title=title, description=description, tags=tags,
        field=cara.text("field") if cara.has("field") else (current.field if current else ""),
        medium=cara.text("medium") if cara.has("medium") else (current.medium if current else ""),
        software=[str(s) for s in software] if cara.has("software") else list(current.software if current else []),
        content_warning=spoiler,
        sensitive=bool(p.flag("sensitive", current.sensitive if current else False)) or bool(spoiler),
        license=license_, visibility=VISIBILITIES.get(visibility or "public", "public"),
        noai=bool(cara.flag("noai", default_noai)))
