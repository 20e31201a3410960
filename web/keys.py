"""Typed keys for what the web edge stores on the app and on each request."""

from __future__ import annotations

from aiohttp import web
from jinja2 import Environment

from cara_fed.context import Context

CTX = web.AppKey("web_ctx", Context)
JINJA = web.AppKey("jinja", Environment)

# Request keys (plain strings: aiohttp requests are dict-like).
ACCOUNT = "account"      # the logged-in Account or None
LOGIN = "login_session"  # the LoginSession row or None
SESSION_COOKIE = "cara_session"
