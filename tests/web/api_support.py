"""Helpers for client-API tests on the in-process server: accounts with tokens (made by the same services the
OAuth endpoints use), uploads and posts over real HTTP."""

from __future__ import annotations

from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient

from cara_fed.context import CONTEXT_KEY, Context
from cara_fed.models import Account
from cara_fed.services import accounts, oauth
from tests import images

OOB = "urn:ietf:wg:oauth:2.0:oob"


def app_ctx(client: TestClient) -> Context:
    return client.app[CONTEXT_KEY]


async def account_with_token(client: TestClient, username: str, scopes: str = "read write follow",
                             **profile: Any) -> tuple[Account, str]:
    ctx = app_ctx(client)
    async with ctx.transaction() as tx:
        account = await accounts.create_account(ctx, tx, username, f"{username}@example.org", "password 1234",
                                                bypass_registration=True)
        for name, value in profile.items():
            setattr(account, name, value)
    app, _secret = await oauth.create_app(ctx, f"{username}'s app", OOB, scopes)
    issued = await oauth.issue_token(ctx, app, account.id, scopes, refresh=False)
    return account, issued.access_token


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def upload(client: TestClient, token: str, data: bytes | None = None, description: str = "Alt text",
                 path: str = "/api/v2/media") -> tuple[int, dict]:
    form = FormData()
    form.add_field("file", data or images.jpeg(320, 240), filename="work.jpg", content_type="image/jpeg")
    form.add_field("description", description)
    response = await client.post(path, data=form, headers=auth(token))
    return response.status, await response.json()


async def post_work(client: TestClient, token: str, text: str, *, media: int = 1, **extra: Any) -> dict:
    ids = []
    for _ in range(media):
        status, body = await upload(client, token)
        assert status in (200, 202), body
        ids.append(body["id"])
    response = await client.post("/api/v1/statuses", json={"status": text, "media_ids": ids, **extra},
                                 headers=auth(token))
    assert response.status == 200, await response.text()
    return await response.json()
