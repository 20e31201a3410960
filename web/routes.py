"""Wire the human-facing edge onto an aiohttp application."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from cara_fed.context import CONTEXT_KEY, Context
from web import (
    account_deletion,
    account_email,
    admin,
    appeals,
    audit_log,
    auth,
    conditional,
    edge,
    interactions,
    jobs_studio,
    limits,
    mail_digest,
    media,
    middleware,
    moves,
    noai,
    notifications,
    ops,
    pages,
    portability,
    review,
    rules,
    settings,
    social,
    static_assets,
    studio,
    two_factor,
)
from web import discovery as discovery_pages
from web import jobs as job_pages
from web import remote_interact as remote_interaction_pages
from web import safety as safety_pages
from web.api import setup_api
from web.keys import JINJA
from web.render import make_environment

STATIC = Path(__file__).parent / "static"


def setup_web(app: web.Application, ctx: Context) -> None:
    app[CONTEXT_KEY] = ctx
    app[JINJA] = make_environment(ctx.config.storage.public_base_url)
    app[media.VIEWED], app[media.REFETCHING] = {}, {}
    app.middlewares.extend([middleware.errors, middleware.security_headers, middleware.login_session,
                            two_factor.admins_enrol, limits.body_limit, middleware.csrf, edge.refuse_nul,
                            conditional.conditional_get])
    for table in (pages.routes, auth.routes, studio.routes, settings.routes, media.routes, social.routes, admin.routes,
                  jobs_studio.routes, job_pages.routes, review.routes, discovery_pages.routes,
                  safety_pages.routes, interactions.routes, notifications.routes, ops.routes, account_email.routes,
                  two_factor.routes, moves.routes, portability.routes, account_deletion.routes, rules.routes,
                  audit_log.routes, appeals.routes, mail_digest.routes):
        app.router.add_routes(table)
    setup_api(app, ctx)  # the client API (Mastodon-compatible) and OAuth
    remote_interaction_pages.setup(app)  # /interact (follow from your server) and /authorize_interaction
    noai.setup_noai(app, ctx)  # robots.txt, ai.txt, tdmrep.json, tdm-policy header, media guard
    static_assets.setup(app)  # before add_static: our CSS/JS with fingerprints and long caching (gzip: app.py)
    app.router.add_static("/static", STATIC, name="static", append_version=True)
