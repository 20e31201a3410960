"""The streaming API over a real WebSocket and Server-Sent Events, on SQLite and PostgreSQL: new works reach the
home (`user`) and public streams of those who may see them, notifications reach their account, and bad
subscriptions get Mastodon's error messages."""

from __future__ import annotations

import asyncio
import json

from tests.web.api_support import account_with_token, auth, post_work

WITHIN = 15.0  # seconds: the poller looks every second, two seconds behind the clock


async def next_event(ws, event: str) -> dict:  # type: ignore[no-untyped-def]
    while True:
        message = json.loads((await asyncio.wait_for(ws.receive(), WITHIN)).data)
        if message.get("event") == event:
            return message


async def next_sse(response, event: str) -> dict:  # type: ignore[no-untyped-def]
    kind = None
    while True:
        line = (await asyncio.wait_for(response.content.readline(), WITHIN)).decode().strip()
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: ") and kind == event:
            return json.loads(line[6:])


async def test_works_and_notifications_stream_to_who_may_see_them(client):
    ada, ada_token = await account_with_token(client, "ada")
    bo, bo_token = await account_with_token(client, "bo")
    await client.post(f"/api/v1/accounts/{bo.id}/follow", headers=auth(ada_token))
    assert await (await client.get("/api/v1/streaming/health")).text() == "OK"

    ws = await client.ws_connect("/api/v1/streaming?stream=user", protocols=(ada_token,))
    await ws.send_str(json.dumps({"type": "subscribe", "stream": "hashtag", "tag": "Ink"}))
    await ws.send_str(json.dumps({"type": "subscribe", "stream": "nonsense"}))
    error = json.loads((await asyncio.wait_for(ws.receive(), WITHIN)).data)
    assert error == {"error": "Unknown stream type", "status": 400}
    public = await client.get("/api/v1/streaming/public/local")  # anonymous, as browsers may
    assert public.status == 200 and public.headers["Content-Type"] == "text/event-stream"

    work = await post_work(client, bo_token, "Harbour #ink")
    update = await next_event(ws, "update")
    assert update["stream"] in (["user"], ["hashtag", "ink"])
    assert json.loads(update["payload"])["id"] == work["id"]
    assert (await next_sse(public, "update"))["id"] == work["id"]
    public.close()

    bo_ws = await client.ws_connect(f"/api/v1/streaming?stream=user:notification&access_token={bo_token}")
    await client.post(f"/api/v1/statuses/{work['id']}/favourite", headers=auth(ada_token))
    note = await next_event(bo_ws, "notification")
    assert note["stream"] == ["user:notification"]
    assert json.loads(note["payload"])["type"] == "favourite"
    await ws.close()
    await bo_ws.close()


async def test_streams_refuse_what_the_token_cannot_read(client):
    _, media_only = await account_with_token(client, "ada", scopes="write:media")
    anonymous = await client.ws_connect("/api/v1/streaming?stream=user")
    assert json.loads((await asyncio.wait_for(anonymous.receive(), WITHIN)).data)["status"] == 401
    await anonymous.close()
    narrow = await client.ws_connect("/api/v1/streaming?stream=user", protocols=(media_only,))
    assert json.loads((await asyncio.wait_for(narrow.receive(), WITHIN)).data)["status"] == 403
    await narrow.close()
    denied = await client.get("/api/v1/streaming/user")
    assert denied.status == 401 and "error" in await denied.json()
    bad = await client.get("/api/v1/streaming/user", params={"access_token": "nope"})
    assert bad.status == 401
    untagged = await client.get("/api/v1/streaming/hashtag")
    assert untagged.status == 400
    assert (await client.get("/api/v1/streaming", headers=auth(media_only))).status == 400  # not a WebSocket
