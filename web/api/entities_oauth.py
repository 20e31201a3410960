"""Mastodon's Application and Token entities and the OAuth 2 authorization server metadata (RFC 8414)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cara_fed.context import Context
from cara_fed.models import OAuthApp
from cara_fed.services import oauth


def application(app: OAuthApp, secret: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"id": str(app.id), "name": app.name, "website": app.website,
                            "scopes": oauth.scope_list(app.scopes), "redirect_uri": "\n".join(app.redirect_uris),
                            "redirect_uris": list(app.redirect_uris), "vapid_key": ""}
    if secret is not None:
        data.update({"client_id": app.client_id, "client_secret": secret, "client_secret_expires_at": 0})
    return data


def token(access_token: str, scopes: str, created_at: datetime) -> dict[str, Any]:
    return {"access_token": access_token, "token_type": "Bearer", "scope": scopes,
            "created_at": int(created_at.timestamp())}


def oauth_metadata(ctx: Context, *, password_grant: bool) -> dict[str, Any]:
    grants = ["authorization_code", "client_credentials", "refresh_token"] + (["password"] if password_grant else [])
    return {"issuer": ctx.url("/"), "service_documentation": ctx.url("/about"),
            "authorization_endpoint": ctx.url("/oauth/authorize"), "token_endpoint": ctx.url("/oauth/token"),
            "revocation_endpoint": ctx.url("/oauth/revoke"), "app_registration_endpoint": ctx.url("/api/v1/apps"),
            "scopes_supported": sorted(oauth.KNOWN_SCOPES - oauth.ADMIN),
            "response_types_supported": ["code"], "response_modes_supported": ["query"],
            "code_challenge_methods_supported": ["S256"], "grant_types_supported": grants,
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"]}
