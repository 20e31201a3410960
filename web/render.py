"""Jinja2 rendering with the instance, the viewer and the CSRF token in every template."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from cara_fed import urls
from cara_fed.context import CONTEXT_KEY
from cara_fed.models.social import COMMENT_POLICIES
from cara_fed.queries import Page
from cara_fed.services import account_email
from cara_fed.taxonomy import LICENSES
from cara_fed.text import link_hashtags
from web import tile_classes
from web.card_memo import CardMemo
from web.focus import focus_cells
from web.keys import ACCOUNT, JINJA, LOGIN, UNREAD
from web.links import web_url
from web.picture import media_url, picture, srcset
from web.static_assets import static_url

TEMPLATES = Path(__file__).parent / "templates"
NOAI_ROBOTS = "noai, noimageai"


HOLE = "\x00hole:{}\x00"  # NUL never reaches a page from data (stripped at the edge and on the way to the database)


def hole(name: str) -> Markup:
    """A marker where a signed-in page's per-viewer part goes (web/viewer_pages.py fills it)."""
    return Markup(HOLE.format(name))


def human_date(value: datetime | None) -> str:
    return value.strftime("%-d %b %Y") if value else ""


def profile_path(account: Any) -> str:
    return urls.profile(account.username, account.domain)


def artwork_path(work: Any) -> str:
    """Our page for an artwork, local or a cached remote one (never the remote server's URL)."""
    return f"{profile_path(work.account)}/{work.id}"


def shows_noai(context: dict[str, Any]) -> bool:
    """Whether a page shows any NoAI artwork: a work, a list or page of works, or a dict of them (covers).
    Pages that pass noai=False (an artist who turned their default off) still carry the signals then."""
    def works(value: Any, depth: int = 0) -> Any:
        if isinstance(getattr(value, "noai", None), bool):
            yield value
        elif depth < 2 and isinstance(value, (list, tuple)):
            for item in value:
                yield from works(item, depth + 1)
        elif depth < 2 and isinstance(value, dict):
            for item in value.values():
                yield from works(item, depth + 1)
        elif depth < 2 and isinstance(value, Page):
            yield from works(value.items, depth + 1)

    return any(work.noai for value in context.values() for work in works(value))


def make_environment(public_base_url: str = "") -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "xml"]),
                      trim_blocks=True, lstrip_blocks=True, enable_async=False,
                      auto_reload=False)  # templates ship with the code: no stat() of each one per render
    env.filters["media_url"] = lambda derivative: media_url(derivative, public_base_url)
    env.filters["srcset"] = lambda asset, fmt: srcset(asset, fmt, public_base_url)
    env.filters["date"] = human_date
    env.filters["web_url"] = web_url  # every href built from a remote document's URL goes through it
    env.filters["safe_html"] = Markup  # only for HTML we sanitized ourselves (bio_html, description_html)
    env.filters["hashtags"] = lambda html: link_hashtags(html or "", "/tags/")[0]  # our own text's #tags linked
    env.globals["LICENSES"] = LICENSES
    env.globals["COMMENT_POLICIES"] = COMMENT_POLICIES
    env.globals["profile_path"] = profile_path
    env.globals["artwork_path"] = artwork_path
    env.globals["static_url"] = static_url
    env.globals["focus_cells"] = focus_cells
    env.globals["hole"] = hole
    env.globals["picture"] = partial(picture, base=public_base_url)  # web/picture.py (was a macro)
    env.globals["tile_ratio"] = tile_classes.ratio
    env.globals["cards_html"] = CardMemo(env).cards  # grids render their cards through it (web/card_memo.py)
    return env


def render_html(request: web.Request, template: str, context: dict[str, Any]) -> str:
    ctx = request.app[CONTEXT_KEY]
    login = request.get(LOGIN)
    full = {
        "instance": ctx.config.instance,
        "viewer": request.get(ACCOUNT),
        "unread_notifications": request.get(UNREAD, 0),
        "csrf_token": login.csrf_token if login else "",
        "path": request.path,
        "noai": True,
        "tdm_policy": ctx.config.protection.tdm_policy_url,
        "domain": ctx.config.server.domain,
        "base_url": ctx.config.base_url,
        "mail_enabled": ctx.config.mail.enabled,
        "email_unconfirmed": account_email.needs_verification(ctx.config, request.get(ACCOUNT)),
        **context,
    }
    return request.app[JINJA].get_template(template).render(full)


def render(request: web.Request, template: str, context: dict[str, Any] | None = None, *, status: int = 200,
           noai: bool = True, headers: dict[str, str] | None = None) -> web.Response:
    context = dict(context or {})
    noai = noai or shows_noai(context)
    context.setdefault("noai", noai)
    return html_response(render_html(request, template, context), status=status, noai=noai, headers=headers)


def html_response(text: str, *, status: int = 200, noai: bool = True,
                  headers: dict[str, str] | None = None) -> web.Response:
    """A rendered page as a response, with the NoAI headers when it shows NoAI works."""
    response = web.Response(text=text, status=status, content_type="text/html", headers=headers)
    if noai:
        response.headers["X-Robots-Tag"] = NOAI_ROBOTS
        response.headers["tdm-reservation"] = "1"
    return response
