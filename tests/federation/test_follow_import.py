"""A Mastodon following CSV imported over HTTP against a real signing peer, on SQLite and PostgreSQL: each
address resolved through WebFinger, a signed Follow delivered for each, the unknown one listed (not fatal); the
exported CSV imported into a second account follows the same people (round trip)."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from cara_fed.models import Account, Follow
from tests.conftest import sign_up
from tests.federation.peer import running_peer
from tests.web.test_portability import post_file


async def follows_of(ctx, username: str) -> set[str]:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        me = await session.scalar(select(Account).where(Account.username == username, Account.domain.is_(None)))
        rows = (await session.scalars(select(Follow).where(Follow.follower_id == me.id))).unique().all()
        return {f"{row.followee.username}@{row.followee.domain}" for row in rows}


async def test_following_csv_round_trip_against_a_peer(client, ctx, config):
    config.federation.allow_private_addresses = True
    async with running_peer() as peer:
        peer.add_actor("alice")
        peer.add_actor("bob")
        host = peer.host
        await sign_up(client, "ada")
        csv = (f"Account address,Show boosts,Notify on new posts,Languages\nalice@{host},true,false,\n"
               f"@bob@{host},true,false,en\nghost@{host},true,false,\n").encode()
        response = await post_file(client, "/settings/data/import/following", "csv", csv, "following_accounts.csv")
        assert response.status == 303, await response.text()
        import_id = re.search(r"#import-(\d+)", response.headers["Location"]).group(1)
        status = await (await client.get(f"/settings/data/imports/{import_id}")).json()
        assert (status["state"], status["done"], status["total"]) == ("done", 3, 3)
        assert [f["item"] for f in status["failures"]] == [f"ghost@{host}"] and status["failures"][0]["reason"]
        follows = [json.loads(body) for path, headers, body in peer.received]
        assert sorted(a["object"] for a in follows if a["type"] == "Follow") == [
            f"{peer.base}/users/alice", f"{peer.base}/users/bob"]
        assert all("Signature" in headers for _, headers, _ in peer.received)
        assert await follows_of(ctx, "ada") == {f"alice@{host}", f"bob@{host}"}

        exported = await (await client.get("/settings/data/following_accounts.csv")).read()
        assert exported.decode().splitlines() == ["Account address,Show boosts,Notify on new posts,Languages",
                                                  f"alice@{host},true,false,", f"bob@{host},true,false,"]
        await sign_up(client, "bea")
        response = await post_file(client, "/settings/data/import/following", "csv", exported, "following.csv")
        assert response.status == 303
        assert await follows_of(ctx, "bea") == {f"alice@{host}", f"bob@{host}"}
        page = await (await client.get("/settings/data")).text()
        assert "2 of 2 done" in page
