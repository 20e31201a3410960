"""OAuth 2 for client apps over real HTTP, on SQLite and PostgreSQL: app registration, the login + consent page,
the code flow with PKCE S256, refresh rotation, client credentials, revocation, scopes, expired and revoked
tokens, and the Settings page that lists and revokes authorized apps."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from datetime import timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from sqlalchemy import select, update

from cara_fed.db import utcnow
from cara_fed.models import OAuthToken
from cara_fed.services import oauth
from tests import api_shapes
from tests.conftest import csrf_from, sign_up
from tests.web.api_support import OOB, account_with_token, app_ctx, auth

HIDDEN_RE = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


async def register(client, **fields):  # type: ignore[no-untyped-def]
    response = await client.post("/api/v1/apps", json={"client_name": "Sketchbook", "scopes": "read write",
                                                       "redirect_uris": "cara-test://callback", **fields})
    return response.status, await response.json()


async def test_app_registration_and_server_metadata(client, config):
    config.server.scheme = "https"  # as in production: RFC 8414 wants an https issuer
    status, app = await register(client, redirect_uris=["cara-test://callback", OOB], website="https://example.org")
    assert status == 200
    api_shapes.check("CredentialApplication", app)
    assert app["redirect_uris"] == ["cara-test://callback", OOB] and app["scopes"] == ["read", "write"]
    form = await client.post("/api/v1/apps", data={"client_name": "Form app", "redirect_uris": OOB})
    assert form.status == 200 and (await form.json())["scopes"] == ["read"]  # Mastodon's default scope

    for bad in ({"redirect_uris": "javascript:alert(1)"}, {"scopes": "read delete_everything"},
                {"client_name": ""}, {"redirect_uris": ""}):
        status, body = await register(client, **bad)
        assert status == 422 and body["error"].startswith("Validation failed"), (bad, body)

    metadata = await (await client.get("/.well-known/oauth-authorization-server")).json()
    AuthorizationServerMetadata(metadata).validate()
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert "password" not in metadata["grant_types_supported"]  # off unless [api] password_grant is on

    token = await client.post("/oauth/token", json={"grant_type": "client_credentials", "client_id": app["client_id"],
                                                    "client_secret": app["client_secret"], "scope": "read",
                                                    "unknown_field": "ignored"})
    body = await token.json()
    assert token.status == 200 and body["scope"] == "read" and "refresh_token" not in body
    api_shapes.check("Token", body)
    verified = await (await client.get("/api/v1/apps/verify_credentials", headers=auth(body["access_token"]))).json()
    api_shapes.check("Application", verified)
    assert "client_secret" not in verified
    # An app's own token acts for no one.
    as_user = await client.get("/api/v1/accounts/verify_credentials", headers=auth(body["access_token"]))
    assert as_user.status == 422
    wrong = await client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": app["client_id"],
                                                    "client_secret": "nope"})
    assert wrong.status == 401 and (await wrong.json())["error"] == "invalid_client"
    password = await client.post("/oauth/token", data={"grant_type": "password", "client_id": app["client_id"],
                                                       "client_secret": app["client_secret"], "username": "x",
                                                       "password": "y"})
    assert password.status == 400 and (await password.json())["error"] == "unsupported_grant_type"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


async def consent_fields(client, query: dict) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    page = await client.get("/oauth/authorize", params=query)
    html = await page.text()
    assert page.status == 200, html
    assert "Authorize Sketchbook?" in html and "read:statuses" not in html  # names the app and its scopes
    assert "Post, edit and delete works" in html and "@ada" in html
    return [(name, unescape(value)) for name, value in HIDDEN_RE.findall(html)]


async def test_code_flow_with_pkce_refresh_and_revocation(client):
    _, app = await register(client)
    verifier, challenge = pkce()
    query = {"response_type": "code", "client_id": app["client_id"], "redirect_uri": "cara-test://callback",
             "scope": "read write", "state": "xyz", "code_challenge": challenge, "code_challenge_method": "S256"}
    anonymous = await client.get("/oauth/authorize", params=query, allow_redirects=False)
    assert anonymous.status == 303
    assert anonymous.headers["Location"].startswith("/login?next=/oauth/authorize?response_type")
    await sign_up(client, "ada")
    fields = await consent_fields(client, query)
    without_csrf = await client.post("/oauth/authorize", data=[(k, v) for k, v in fields if k != "csrf_token"]
                                     + [("decision", "approve")], allow_redirects=False)
    assert without_csrf.status == 403
    approved = await client.post("/oauth/authorize", data=[*fields, ("decision", "approve")], allow_redirects=False)
    assert approved.status == 302
    location = urlsplit(approved.headers["Location"])
    assert (location.scheme, location.netloc) == ("cara-test", "callback")
    answer = parse_qs(location.query)
    assert answer["state"] == ["xyz"]
    code = answer["code"][0]

    exchange = {"grant_type": "authorization_code", "code": code, "redirect_uri": "cara-test://callback",
                "client_id": app["client_id"], "client_secret": app["client_secret"]}
    wrong = await client.post("/oauth/token", data={**exchange, "code_verifier": pkce()[0]})
    assert wrong.status == 400 and (await wrong.json())["error"] == "invalid_grant"
    token = await client.post("/oauth/token", data={**exchange, "code_verifier": verifier})
    issued = await token.json()
    assert token.status == 200 and issued["scope"] == "read write" and issued["token_type"] == "Bearer"
    again = await client.post("/oauth/token", data={**exchange, "code_verifier": verifier})
    assert again.status == 400  # a code works once

    me = await client.get("/api/v1/accounts/verify_credentials", headers=auth(issued["access_token"]))
    assert me.status == 200 and (await me.json())["acct"] == "ada"
    # Only digests are stored.
    async with app_ctx(client).sessions() as session:
        assert await oauth.find_token(app_ctx(client), issued["access_token"]) is not None
        stored = (await session.scalars(select(OAuthToken.token_hash))).all()
    assert issued["access_token"] not in stored and oauth.digest(issued["access_token"]) in stored

    refreshed = await client.post("/oauth/token", data={"grant_type": "refresh_token", "client_id": app["client_id"],
                                                        "client_secret": app["client_secret"],
                                                        "refresh_token": issued["refresh_token"]})
    renewed = await refreshed.json()
    assert refreshed.status == 200 and renewed["access_token"] != issued["access_token"]
    reused = await client.post("/oauth/token", data={"grant_type": "refresh_token", "client_id": app["client_id"],
                                                     "client_secret": app["client_secret"],
                                                     "refresh_token": issued["refresh_token"]})
    assert reused.status == 400  # refresh tokens rotate
    old = await client.get("/api/v1/accounts/verify_credentials", headers=auth(issued["access_token"]))
    assert old.status == 401

    revoked = await client.post("/oauth/revoke", data={"client_id": app["client_id"],
                                                       "client_secret": app["client_secret"],
                                                       "token": renewed["access_token"]})
    assert revoked.status == 200
    gone = await client.get("/api/v1/accounts/verify_credentials", headers=auth(renewed["access_token"]))
    assert gone.status == 401 and (await gone.json()) == {"error": "The access token was revoked"}

    # Denying sends the app an access_denied; a plain (non-S256) challenge is refused on the consent page.
    fields = await consent_fields(client, {**query, "state": "no"})
    denied = await client.post("/oauth/authorize", data=[*fields, ("decision", "deny")], allow_redirects=False)
    assert parse_qs(urlsplit(denied.headers["Location"]).query)["error"] == ["access_denied"]
    plain = await client.get("/oauth/authorize", params={**query, "code_challenge_method": "plain"})
    assert plain.status == 400 and "not valid" in await plain.text()


async def test_out_of_band_code_is_shown_to_copy(client):
    _, app = await register(client, redirect_uris=OOB)
    await sign_up(client, "ada")
    fields = await consent_fields(client, {"response_type": "code", "client_id": app["client_id"],
                                           "redirect_uri": OOB, "scope": "read write"})
    shown = await client.post("/oauth/authorize", data=[*fields, ("decision", "approve")])
    page = await shown.text()
    code = re.search(r'id="oauth-code" value="([^"]+)"', page).group(1)
    token = await client.post("/oauth/token", data={"grant_type": "authorization_code", "code": code,
                                                    "redirect_uri": OOB, "client_id": app["client_id"],
                                                    "client_secret": app["client_secret"]})
    assert token.status == 200 and (await token.json())["scope"] == "read write"


async def test_scopes_expired_tokens_and_the_authorized_apps_page(client):
    _, reader = await account_with_token(client, "reader", scopes="read")
    timeline = await client.get("/api/v1/timelines/home", headers=auth(reader))
    assert timeline.status == 200
    post = await client.post("/api/v1/statuses", json={"status": "hi"}, headers=auth(reader))
    assert post.status == 403 and await post.json() == {"error": "This action is outside the authorized scopes"}
    _, granular = await account_with_token(client, "granular", scopes="read:accounts write:media")
    assert (await client.get("/api/v1/accounts/verify_credentials", headers=auth(granular))).status == 200
    assert (await client.get("/api/v1/timelines/home", headers=auth(granular))).status == 403
    _, follower = await account_with_token(client, "follower", scopes="follow")
    assert (await client.get("/api/v1/blocks", headers=auth(follower))).status == 200  # follow covers blocks
    assert (await client.get("/api/v1/bookmarks", headers=auth(follower))).status == 403

    for headers in ({}, auth("not-a-token"), {"Authorization": "Basic abc"}):
        answer = await client.get("/api/v1/timelines/home", headers=headers)
        assert answer.status == 401 and "error" in await answer.json()
    _, soon = await account_with_token(client, "soon", scopes="read")
    async with app_ctx(client).transaction() as tx:
        await tx.session.execute(update(OAuthToken).where(OAuthToken.token_hash == oauth.digest(soon))
                                 .values(expires_at=utcnow() - timedelta(minutes=1)))
    expired = await client.get("/api/v1/timelines/home", headers=auth(soon))
    assert expired.status == 401 and (await expired.json())["error"] == "The access token expired"

    # Ada authorizes an app through the consent page, then sees it in Settings and revokes it.
    _, app = await register(client, redirect_uris=OOB)
    await sign_up(client, "ada")
    fields = await consent_fields(client, {"response_type": "code", "client_id": app["client_id"],
                                           "redirect_uri": OOB, "scope": "read write"})
    page = await (await client.post("/oauth/authorize", data=[*fields, ("decision", "approve")])).text()
    code = re.search(r'id="oauth-code" value="([^"]+)"', page).group(1)
    token = (await (await client.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": OOB, "client_id": app["client_id"],
        "client_secret": app["client_secret"]})).json())["access_token"]
    listing = await (await client.get("/settings/apps")).text()
    assert "Sketchbook" in listing and "Revoke access" in listing and "write" in listing
    csrf = await csrf_from(client, "/settings/apps")
    revoke = await client.post(f"/settings/apps/{app['id']}/revoke", data={"csrf_token": csrf},
                               allow_redirects=False)
    assert revoke.status == 303
    assert (await client.get("/api/v1/accounts/verify_credentials", headers=auth(token))).status == 401
    assert "Sketchbook" not in await (await client.get("/settings/apps")).text()


async def test_sign_up_from_an_app_obeys_the_registration_mode(client, config):
    _, app = await register(client, scopes="read write")
    token = (await (await client.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": app["client_id"], "client_secret": app["client_secret"],
        "scope": "read write"})).json())["access_token"]
    person = {"username": "newbie", "email": "newbie@example.org", "password": "long enough 1", "agreement": "true"}
    assert (await client.post("/api/v1/accounts", headers=auth(token), json={**person, "agreement": False})).status \
        == 422
    created = await client.post("/api/v1/accounts", headers=auth(token), json=person)
    body = await created.json()
    assert created.status == 200, body
    api_shapes.check("Token", body)
    me = await (await client.get("/api/v1/accounts/verify_credentials", headers=auth(body["access_token"]))).json()
    assert me["username"] == "newbie"
    taken = await client.post("/api/v1/accounts", headers=auth(token), json=person)
    assert taken.status == 422 and "taken" in (await taken.json())["error"]
    as_user = await client.post("/api/v1/accounts", headers=auth(body["access_token"]),
                                json={**person, "username": "other", "email": "o@example.org"})
    assert as_user.status == 403
    config.instance.registration = "approval"
    pending = await (await client.post("/api/v1/accounts", headers=auth(token), json={
        **person, "username": "waiting", "email": "w@example.org", "reason": "I draw"})).json()
    refused = await client.get("/api/v1/accounts/verify_credentials", headers=auth(pending["access_token"]))
    assert refused.status == 401 and "pending approval" in (await refused.json())["error"]
    config.instance.registration = "closed"
    closed = await client.post("/api/v1/accounts", headers=auth(token), json={
        **person, "username": "late", "email": "late@example.org"})
    assert closed.status == 403
