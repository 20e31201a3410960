"""Signed-in views of public pages from a cached skeleton (issue 15: uncached pages, signed-in included).

A signed-in visitor's portfolio, artwork or home page differs from everyone else's only in a few places: the site
header (their name, notifications, the log-out form), the email notice, the CSRF token of their forms, on a
portfolio the follow/mute/block buttons, and on an artwork page the like/boost/save buttons and the comment thread
(its reply and delete forms depend on who reads it; only works everyone may see are kept). So the page is rendered
once without a viewer, with a marker (`hole`, web/render.py) at each of those places, and kept in the page cache
under its own key with the same tags as the anonymous page (a write to what it shows drops both). Each signed-in
request then costs the statements for its own state (portfolio: follow; artwork: a block check, marks and thread)
and the small templates of its holes, not the page's queries and full render.

Only visitors who see what everyone sees get a skeleton: the owner of a portfolio or artwork (drafts, edit links)
still gets a full render, and so does a follower reading a followers-only work. The skeleton is rendered with
`viewer` None and `is_owner` False, so a template must show signed-in-only parts through a hole (or `{% if viewer
or skeleton %}` when they do not depend on who it is).
An unfilled hole fails loudly (KeyError) rather than showing a marker.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from markupsafe import escape

from cara_fed.context import CONTEXT_KEY
from web.keys import LOGIN
from web.render import HOLE, html_response, render_html, shows_noai

_HOLE = re.compile(re.escape(HOLE).replace(re.escape("{}"), "([a-z_]+)"))


@dataclass(frozen=True)
class Skeleton:
    html: str
    noai: bool
    subject: Any  # what the page is about, as the holes need it (portfolio: the artist's id and moved flag)


def _key(request: web.Request) -> str:
    return f"signed-in|{request.path_qs}"


def cached(request: web.Request) -> Skeleton | None:
    """The page's skeleton, if the cache holds one."""
    page = request.app[CONTEXT_KEY].cache.get(_key(request))
    return page.meta if page is not None and isinstance(page.meta, Skeleton) else None


def clock(request: web.Request) -> int:
    """Note this before reading what the skeleton shows: a write landing after it keeps the skeleton out."""
    return request.app[CONTEXT_KEY].cache.clock


def make(request: web.Request, template: str, context: dict[str, Any], *, subject: Any, tags: Iterable[str],
         since: int, noai: bool) -> Skeleton:
    """Render the page without a viewer, holes marked, and keep it (unless a write to `tags` landed since
    `since`, or caching is off)."""
    context = {**context, "viewer": None, "is_owner": False, "email_unconfirmed": False, "skeleton": True,
               "csrf_token": HOLE.format("csrf")}
    noai = noai or shows_noai(context)
    skeleton = Skeleton(render_html(request, template, {**context, "noai": noai}), noai, subject)
    request.app[CONTEXT_KEY].cache.put(_key(request), b"", "text/html", 200, {}, tags, since=since, meta=skeleton)
    return skeleton


def respond(request: web.Request, skeleton: Skeleton, parts: dict[str, str] | None = None) -> web.Response:
    """The page for this request's viewer: the skeleton with its holes filled (header, notice, CSRF token, and
    the page's own `parts`, each a rendered template)."""
    login = request.get(LOGIN)
    filled = {"nav": render_html(request, "_nav.html", {}), "notice": render_html(request, "_notice.html", {}),
              "csrf": str(escape(login.csrf_token if login else "")), **(parts or {})}
    return html_response(_HOLE.sub(lambda found: filled[found.group(1)], skeleton.html), noai=skeleton.noai)
