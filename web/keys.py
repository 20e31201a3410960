"""Typed keys for what the web edge stores on the app and on each request."""

from __future__ import annotations

from aiohttp import web
from jinja2 import Environment

JINJA = web.AppKey("jinja", Environment)

ACCOUNT = web.RequestKey("account", object)      # the logged-in Account or None
LOGIN = web.RequestKey("login_session", object)  # the LoginSession row or None
UNREAD = web.RequestKey("unread_notifications", int)  # set for logged-in page views (nav badge)
SESSION_COOKIE = "cara_session"
