"""GET /api/v1/statuses/:id/history through the real Mastodon.py client (in a thread: it is synchronous, and
the in-process server answers on a real port): oldest first, the versions edits replaced and then the current
one; nothing invented for works edited before history was kept; the same 404s as GET /api/v1/statuses/:id."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from mastodon import Mastodon, MastodonNotFoundError

from cara_fed.db import utcnow
from cara_fed.models import Artwork
from tests.web.api_support import account_with_token, app_ctx, auth, post_work, upload
from tests.web.test_review import generated_png


def client_for(client, token: str | None) -> Mastodon:  # type: ignore[no-untyped-def]
    return Mastodon(access_token=token, api_base_url=str(client.make_url("")).rstrip("/"))


async def call(client, token: str | None, method: str, *args, **kwargs):  # type: ignore[no-untyped-def]
    def run():  # type: ignore[no-untyped-def]
        return getattr(client_for(client, token), method)(*args, **kwargs)

    return await asyncio.to_thread(run)


async def test_history_lists_replaced_versions_then_the_current_one(client):
    _, token = await account_with_token(client, "ada")
    posted = await post_work(client, token, "Red square\nOil on canvas.", spoiler_text="bright")
    [only] = await call(client, None, "status_history", posted["id"])  # anyone may read a public work's history
    assert "Red square" in only["content"] and only["spoiler_text"] == "bright" and only["sensitive"] is True
    assert only["created_at"].isoformat().startswith(posted["created_at"][:19])
    assert only["account"]["acct"] == "ada" and only["media_attachments"][0]["description"] == "Alt text"
    assert only["emojis"] == []

    media_id = posted["media_attachments"][0]["id"]
    await call(client, token, "status_update", posted["id"], status="Crimson square\nRevised.", spoiler_text="",
               media_attributes=[{"id": media_id, "description": "A crimson square"}])
    edited = await call(client, token, "status", posted["id"])
    history = await call(client, token, "status_history", posted["id"])
    assert [("Red square" in h["content"], "Crimson square" in h["content"]) for h in history] == \
        [(True, False), (False, True)]
    first, last = history
    assert first["created_at"] == only["created_at"] and last["created_at"] == edited["edited_at"]
    assert (first["spoiler_text"], last["spoiler_text"]) == ("bright", "")
    assert [m["description"] for m in first["media_attachments"]] == ["Alt text"]  # as it was then
    assert [m["description"] for m in last["media_attachments"]] == ["A crimson square"]
    source = await call(client, token, "status_source", posted["id"])
    assert source["text"] == "Crimson square\nRevised." and source["spoiler_text"] == ""

    await call(client, token, "status_update", posted["id"], status="Crimson square\nRevised twice.")
    history = await call(client, None, "status_history", posted["id"])
    assert len(history) == 3 and "Revised twice" in history[2]["content"] and "Revised." in history[1]["content"]
    assert history[0]["created_at"] < history[1]["created_at"] < history[2]["created_at"]


async def test_a_work_edited_before_history_was_kept_shows_only_what_is_known(client):
    _, token = await account_with_token(client, "ada")
    posted = await post_work(client, token, "Heron\nInk.")
    ctx = app_ctx(client)
    async with ctx.transaction() as tx:  # as a work edited before this server kept versions
        work = await tx.session.get(Artwork, int(posted["id"]))
        work.edited_at = utcnow() + timedelta(minutes=5)
    [current] = await call(client, None, "status_history", posted["id"])
    status = await call(client, None, "status", posted["id"])
    assert current["created_at"] == status["edited_at"] != status["created_at"] and "Heron" in current["content"]


async def test_history_is_hidden_exactly_where_the_status_is(client, config):
    _, token = await account_with_token(client, "ada")
    _, stranger = await account_with_token(client, "bo")
    private = await post_work(client, token, "Sketch", visibility="private")
    config.detection.local_policy = "hold"
    _, media = await upload(client, token, generated_png())
    held = await (await client.post("/api/v1/statuses", headers=auth(token), json={
        "status": "Dusk light", "media_ids": [media["id"]]})).json()
    assert held["cara"]["state"] == "held"
    for status_id in (private["id"], held["id"], "999999"):
        for who in (stranger, None):
            with pytest.raises(MastodonNotFoundError):
                await call(client, who, "status_history", status_id)
            assert (await client.get(f"/api/v1/statuses/{status_id}",
                                     headers=auth(who) if who else {})).status == 404
    mine = await call(client, token, "status_history", held["id"])
    assert len(mine) == 1 and "Dusk light" in mine[0]["content"]
