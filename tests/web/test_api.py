"""The Mastodon-compatible client API over real HTTP, on SQLite and PostgreSQL: instance documents, works as
statuses (posting from media_ids, editing, deleting, the thread), bad input answered as Mastodon does, keyset
pagination with Link headers, held works kept from everyone but their artist, the social graph and
notifications. Entity shapes are checked field by field (tests/api_shapes.py)."""

from __future__ import annotations

import re

from aiohttp import FormData

from tests import api_shapes, images
from tests.web.api_support import account_with_token, auth, post_work, upload
from tests.web.test_review import generated_png


async def test_instance_documents_cors_and_json_errors(client, config):
    for path in ("/api/v1/instance", "/api/v1/instance/"):
        v1 = await client.get(path)
        assert v1.status == 200
        api_shapes.check("InstanceV1", await v1.json())
    for path in ("/api/v2/instance", "/api/v2/instance/"):
        v2 = await (await client.get(path)).json()
        api_shapes.check("InstanceV2", v2)
    assert re.match(r"^4\.3\.0 \(compatible; cara-fed \d+\.\d+", v2["version"])
    assert v2["api_versions"] == {"mastodon": 2}
    limits = v2["configuration"]
    assert limits["statuses"]["max_media_attachments"] == config.media.max_images_per_artwork
    assert limits["media_attachments"]["image_size_limit"] == config.media.max_upload_mb * 1024 * 1024
    assert limits["urls"]["streaming"] == "ws://test.example" and v2["cara"]["streaming"] is True
    assert await (await client.get("/api/v1/instance/peers")).json() == []
    assert await (await client.get("/api/v1/custom_emojis")).json() == []

    preflight = await client.options("/api/v1/timelines/home", headers={
        "Origin": "https://elk.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})
    assert preflight.status == 204 and preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    public = await client.get("/api/v1/timelines/public")
    assert public.headers["Access-Control-Allow-Origin"] == "*"
    assert int(public.headers["X-RateLimit-Limit"]) == config.api.requests_per_5_minutes
    assert int(public.headers["X-RateLimit-Remaining"]) < config.api.requests_per_5_minutes
    missing = await client.get("/api/v1/no_such_thing")
    assert missing.status == 404 and "error" in await missing.json()


async def test_post_edit_thread_and_delete_a_work(client):
    _, token = await account_with_token(client, "ada")
    status, media = await upload(client, token, description="A red square")
    assert status == 200 and media["url"] is not None  # inline jobs: processed before the answer
    api_shapes.check("MediaAttachment", media)
    file_path = media["url"].split("test.example", 1)[1]
    assert (await client.get(file_path)).status == 404  # not posted yet: nobody else may open it
    posted = await client.post("/api/v1/statuses", headers={**auth(token), "Idempotency-Key": "k-1"}, json={
        "status": "Red square #study\nOil on canvas.\n\nSecond paragraph #red", "media_ids": [media["id"]],
        "spoiler_text": "bright colours", "visibility": "unlisted",
        "cara": {"field": "Fine Art", "medium": "Traditional Painting", "noai": True,
                 "license": "https://creativecommons.org/licenses/by/4.0/", "tags": ["oil"]}})
    work = await posted.json()
    assert posted.status == 200, work
    api_shapes.check("Status", work)
    assert work["cara"]["title"] == "Red square" and work["cara"]["field"] == "Fine Art"
    assert work["cara"]["state"] == "published" and work["visibility"] == "unlisted"
    assert work["sensitive"] is True and work["spoiler_text"] == "bright colours"
    assert sorted(t["name"] for t in work["tags"]) == ["oil", "red", "study"]
    assert work["media_attachments"][0]["description"] == "A red square"
    # Published: the file is as public as the work. Posting re-stamped it with the work's licence, so it has a new
    # (content-addressed) key: the status carries the new URL; the upload's old one (which the app may still
    # show) answers as the work's file until the replaced-media grace period ends.
    posted_path = work["media_attachments"][0]["url"].split("test.example", 1)[1]
    assert posted_path != file_path and (await client.get(file_path)).status == 200
    assert (await client.get(posted_path)).status == 200
    again = await client.post("/api/v1/statuses", headers={**auth(token), "Idempotency-Key": "k-1"},
                              json={"status": "Red square", "media_ids": [media["id"]]})
    assert (await again.json())["id"] == work["id"]  # the retry answers the first post

    edited = await client.put(f"/api/v1/statuses/{work['id']}", headers=auth(token), json={
        "status": "Crimson square\nRevised.", "media_attributes": [{"id": media["id"], "description": "Crimson"}]})
    body = await edited.json()
    assert edited.status == 200, body
    assert body["cara"]["title"] == "Crimson square" and body["media_attachments"][0]["description"] == "Crimson"
    assert body["cara"]["license"] == "https://creativecommons.org/licenses/by/4.0/"  # unchanged fields stay
    source = await (await client.get(f"/api/v1/statuses/{work['id']}/source", headers=auth(token))).json()
    assert source["text"].startswith("Crimson square\nRevised.")

    # A reply to a work is a comment; a reply to that comment threads under it.
    _, bo_token = await account_with_token(client, "bo")
    comment = await (await client.post("/api/v1/statuses", headers=auth(bo_token), json={
        "status": "Lovely, @ada!", "in_reply_to_id": work["id"]})).json()
    api_shapes.check("Status", comment)
    assert comment["in_reply_to_id"] == work["id"] and int(comment["id"]) > 10**15
    answer = await (await client.post("/api/v1/statuses", headers=auth(token), json={
        "status": "Thank you", "in_reply_to_id": comment["id"]})).json()
    context = await (await client.get(f"/api/v1/statuses/{work['id']}/context")).json()
    api_shapes.check("Context", context)
    assert [s["id"] for s in context["descendants"]] == [comment["id"], answer["id"]]
    inner = await (await client.get(f"/api/v1/statuses/{answer['id']}/context")).json()
    assert [s["id"] for s in inner["ancestors"]] == [work["id"], comment["id"]]

    liked = await (await client.post(f"/api/v1/statuses/{work['id']}/favourite", headers=auth(bo_token))).json()
    assert liked["favourited"] is True and liked["favourites_count"] == 1
    boosted = await (await client.post(f"/api/v1/statuses/{work['id']}/reblog", headers=auth(bo_token))).json()
    assert boosted["reblog"]["id"] == work["id"] and boosted["reblog"]["reblogged"] is True
    saved = await (await client.post(f"/api/v1/statuses/{work['id']}/bookmark", headers=auth(bo_token))).json()
    assert saved["bookmarked"] is True
    assert [s["id"] for s in await (await client.get("/api/v1/bookmarks", headers=auth(bo_token))).json()] == \
        [work["id"]]
    pinned = await (await client.post(f"/api/v1/statuses/{work['id']}/pin", headers=auth(token))).json()
    assert pinned["pinned"] is True

    deleted = await client.delete(f"/api/v1/statuses/{work['id']}", headers=auth(bo_token))
    assert deleted.status == 403  # not hers
    deleted = await client.delete(f"/api/v1/statuses/{work['id']}", headers=auth(token))
    assert deleted.status == 200 and (await deleted.json())["text"].startswith("Crimson square")
    assert (await client.get(f"/api/v1/statuses/{work['id']}")).status == 404


async def test_bad_input_is_answered_like_mastodon(client, config):
    config.media.max_images_per_artwork = 2
    _, token = await account_with_token(client, "ada")
    _, other_token = await account_with_token(client, "bo")
    _, mine = await upload(client, token)
    _, theirs = await upload(client, other_token)

    async def post(**body):  # type: ignore[no-untyped-def]
        response = await client.post("/api/v1/statuses", headers=auth(token), json=body)
        return response.status, (await response.json())["error"]

    status, error = await post(status="x" * 10_001, media_ids=[mine["id"]])
    assert status == 422 and "character limit of 10000" in error
    status, error = await post(status="Stolen", media_ids=[theirs["id"]])
    assert status == 422 and "not one of your uploads" in error
    extra = [(await upload(client, token))[1]["id"] for _ in range(2)]
    status, error = await post(status="Too many", media_ids=[mine["id"], *extra])
    assert status == 422 and "at most 2 images" in error
    status, error = await post(status="Just words")
    assert status == 422 and "at least one image" in error
    status, error = await post(status="Secret", media_ids=[mine["id"]], visibility="direct")
    assert status == 422 and "Direct messages" in error
    assert (await post(status="Bad id", media_ids=["12abc"]))[0] == 422
    status, error = await post(status="Cloaked", media_ids=[mine["id"]], cara={"cloak": True})
    assert status == 422 and "Cloaking" in error

    for path in ("/api/v1/statuses/999999", f"/api/v1/statuses/{10**15 + 5}", "/api/v1/statuses/99999999999999999",
                 "/api/v1/accounts/999999", "/api/v1/accounts/99999999999999", "/api/v1/media/999999"):
        answer = await client.get(path, headers=auth(token))
        assert answer.status == 404 and await answer.json() == {"error": "Record not found"}, path
    # Someone else's upload does not exist for her.
    assert (await client.get(f"/api/v1/media/{theirs['id']}", headers=auth(token))).status == 404
    broken = FormData()
    broken.add_field("file", b"not an image at all", filename="x.jpg", content_type="image/jpeg")
    refused = await client.post("/api/v2/media", data=broken, headers=auth(token))
    assert refused.status == 422 and "error" in await refused.json()
    bad_json = await client.post("/api/v1/statuses", data="{nope", headers={**auth(token),
                                                                             "Content-Type": "application/json"})
    assert bad_json.status == 400 and "JSON" in (await bad_json.json())["error"]
    assert (await client.get("/api/v1/timelines/home?max_id=abc", headers=auth(token))).status == 400


async def test_home_timeline_pages_with_link_headers(client):
    ada, token = await account_with_token(client, "ada")
    ids = [(await post_work(client, token, f"Study {n}"))["id"] for n in range(4)]
    newest_first = list(reversed(ids))
    first = await client.get("/api/v1/timelines/home?limit=2", headers=auth(token))
    assert [s["id"] for s in await first.json()] == newest_first[:2]
    links = dict(re.findall(r'<([^>]+)>; rel="(\w+)"', first.headers["Link"]))
    links = {rel: url for url, rel in links.items()}
    assert f"max_id={newest_first[1]}" in links["next"] and f"min_id={newest_first[0]}" in links["prev"]
    following = links["next"].split("/api/", 1)[1]
    second = await (await client.get(f"/api/{following}", headers=auth(token))).json()
    assert [s["id"] for s in second] == newest_first[2:]
    after = await (await client.get(f"/api/v1/timelines/home?min_id={ids[0]}&limit=2", headers=auth(token))).json()
    assert [s["id"] for s in after] == [ids[2], ids[1]]  # the two right after it, newest first
    since = await (await client.get(f"/api/v1/timelines/home?since_id={ids[0]}&limit=2", headers=auth(token))).json()
    assert [s["id"] for s in since] == [ids[3], ids[2]]  # the newest ones
    statuses = await (await client.get(f"/api/v1/accounts/{ada.id}/statuses?limit=10")).json()
    assert [s["id"] for s in statuses] == newest_first
    local = await (await client.get("/api/v1/timelines/public?local=true")).json()
    assert [s["id"] for s in local] == newest_first
    assert await (await client.get("/api/v1/timelines/public?remote=true")).json() == []


async def test_home_timeline_brings_followed_tags_and_leaves_out_muted_accounts(client):
    """The API home feed follows the /feed page's rules with each shape of its built-once select: followed tags
    add listed works by strangers, a muted account's works leave, and paging holds with both."""
    _, viewer_token = await account_with_token(client, "viv")
    ada, ada_token = await account_with_token(client, "ada")
    cy, cy_token = await account_with_token(client, "cy")
    _, dee_token = await account_with_token(client, "dee")
    for person in (ada, cy):
        assert (await client.post(f"/api/v1/accounts/{person.id}/follow", headers=auth(viewer_token))).status == 200
    sea = await post_work(client, ada_token, "Sea")
    cys = await post_work(client, cy_token, "Cy's study")
    inky = await post_work(client, dee_token, "Inky harbour #ink")
    await post_work(client, dee_token, "Not followed")

    async def home(query: str = "") -> list[str]:
        response = await client.get(f"/api/v1/timelines/home{query}", headers=auth(viewer_token))
        assert response.status == 200
        return [status["id"] for status in await response.json()]

    assert await home() == [cys["id"], sea["id"]]
    assert (await client.post("/api/v1/tags/ink/follow", headers=auth(viewer_token))).status == 200
    assert await home() == [inky["id"], cys["id"], sea["id"]]
    assert (await client.post(f"/api/v1/accounts/{cy.id}/mute", headers=auth(viewer_token))).status == 200
    assert await home() == [inky["id"], sea["id"]]  # tags and hidden accounts together
    assert await home(f"?max_id={inky['id']}") == [sea["id"]]
    assert await home(f"?min_id={sea['id']}&limit=1") == [inky["id"]]
    assert await home(f"?since_id={sea['id']}&max_id={inky['id']}") == []
    assert (await client.post("/api/v1/tags/ink/unfollow", headers=auth(viewer_token))).status == 200
    assert await home() == [sea["id"]]  # hidden accounts alone


async def test_held_work_is_seen_by_its_artist_only(client, config):
    config.detection.local_policy = "hold"
    _, token = await account_with_token(client, "ada")
    _, other = await account_with_token(client, "bo")
    _, media = await upload(client, token, generated_png())
    work = await (await client.post("/api/v1/statuses", headers=auth(token), json={
        "status": "Dusk light", "media_ids": [media["id"]]})).json()
    assert work["cara"]["state"] == "held"
    mine = await (await client.get(f"/api/v1/statuses/{work['id']}", headers=auth(token))).json()
    assert mine["cara"]["state"] == "held"
    for headers in (auth(other), {}):
        assert (await client.get(f"/api/v1/statuses/{work['id']}", headers=headers)).status == 404
        assert await (await client.get("/api/v1/timelines/public", headers=headers)).json() == []
    assert (await client.post(f"/api/v1/statuses/{work['id']}/favourite", headers=auth(other))).status == 404
    theirs = await (await client.get(f"/api/v1/accounts/{work['account']['id']}/statuses", headers=auth(other))).json()
    assert theirs == []


async def test_accounts_follows_relationships_and_notifications(client):
    ada, ada_token = await account_with_token(client, "ada", locked=True)
    bo, bo_token = await account_with_token(client, "bo")
    me = await (await client.get("/api/v1/accounts/verify_credentials", headers=auth(ada_token))).json()
    api_shapes.check("Account", me)
    assert me["locked"] is True and me["source"]["note"] == ""
    form = FormData()
    for key, value in {"display_name": "Ada L.", "note": "I paint *harbours*.", "discoverable": "true",
                       "fields_attributes[0][name]": "Site", "fields_attributes[0][value]": "https://ada.example"
                       }.items():
        form.add_field(key, value)
    form.add_field("avatar", images.png(200, 200), filename="me.png", content_type="image/png")
    updated = await (await client.patch("/api/v1/accounts/update_credentials", data=form,
                                        headers=auth(ada_token))).json()
    assert updated["display_name"] == "Ada L." and "<em>harbours</em>" in updated["note"]
    assert updated["fields"][0]["name"] == "Site" and "ada.example" in updated["fields"][0]["value"]
    assert "/media/" in updated["avatar"]

    looked_up = await (await client.get("/api/v1/accounts/lookup?acct=ada", headers=auth(bo_token))).json()
    assert looked_up["id"] == str(ada.id)
    relation = await (await client.post(f"/api/v1/accounts/{ada.id}/follow", headers=auth(bo_token))).json()
    api_shapes.check("Relationship", relation)
    assert relation["requested"] is True and relation["following"] is False  # Ada approves followers
    requests = await (await client.get("/api/v1/follow_requests", headers=auth(ada_token))).json()
    assert [a["id"] for a in requests] == [str(bo.id)]
    decided = await (await client.post(f"/api/v1/follow_requests/{bo.id}/authorize",
                                       headers=auth(ada_token))).json()
    assert decided["followed_by"] is True
    both = await (await client.get(f"/api/v1/accounts/relationships?id[]={ada.id}&id[]={bo.id}",
                                   headers=auth(bo_token))).json()
    assert both[0]["following"] is True and both[1]["following"] is False
    followers = await (await client.get(f"/api/v1/accounts/{ada.id}/followers")).json()
    assert [a["acct"] for a in followers] == ["bo"]

    work = await post_work(client, ada_token, "Harbour")
    await client.post(f"/api/v1/statuses/{work['id']}/favourite", headers=auth(bo_token))
    await client.post("/api/v1/statuses", headers=auth(bo_token), json={"status": "Wow", "in_reply_to_id": work["id"]})
    home = await (await client.get("/api/v1/timelines/home", headers=auth(bo_token))).json()
    assert [s["id"] for s in home] == [work["id"]]
    notes = await (await client.get("/api/v1/notifications", headers=auth(ada_token))).json()
    for note in notes:
        api_shapes.check("Notification", note)
    assert [n["type"] for n in notes] == ["mention", "favourite", "follow_request"]
    assert notes[0]["status"]["in_reply_to_id"] == work["id"]
    grouped = await (await client.get("/api/v2/notifications", headers=auth(ada_token))).json()
    assert [g["type"] for g in grouped["notification_groups"]] == ["mention", "favourite", "follow_request"]
    assert {a["acct"] for a in grouped["accounts"]} == {"bo"} and grouped["statuses"]
    policy = await (await client.get("/api/v2/notifications/policy", headers=auth(ada_token))).json()
    assert policy["for_not_following"] == "accept" and policy["summary"]["pending_requests_count"] == 0
    only = await (await client.get("/api/v1/notifications?types[]=favourite", headers=auth(ada_token))).json()
    assert [n["type"] for n in only] == ["favourite"]
    without = await (await client.get("/api/v1/notifications?exclude_types[]=mention&exclude_types[]=favourite",
                                      headers=auth(ada_token))).json()
    assert [n["type"] for n in without] == ["follow_request"]
    marker = await (await client.post("/api/v1/markers", headers=auth(ada_token),
                                      json={"notifications": {"last_read_id": notes[0]["id"]}})).json()
    assert marker["notifications"]["last_read_id"] == notes[0]["id"]
    read = await (await client.get("/api/v1/markers?timeline[]=notifications", headers=auth(ada_token))).json()
    assert read["notifications"]["version"] == 1
    assert (await (await client.get("/api/v1/notifications/unread_count", headers=auth(ada_token))).json()) == \
        {"count": 0}  # the marker read them, as the web badge shows

    blocked = await (await client.post(f"/api/v1/accounts/{bo.id}/block", headers=auth(ada_token))).json()
    assert blocked["blocking"] is True and blocked["followed_by"] is False  # a block ends the follow
    assert [a["id"] for a in await (await client.get("/api/v1/blocks", headers=auth(ada_token))).json()] == \
        [str(bo.id)]
    found = await (await client.get("/api/v2/search?q=harbour", headers=auth(ada_token))).json()
    assert [s["id"] for s in found["statuses"]] == [work["id"]]


async def test_cara_extensions_jobs_projects_and_protection_report(client):
    studio, studio_token = await account_with_token(client, "inkworks", kind="studio")
    _, ada_token = await account_with_token(client, "ada")
    posted = await client.post("/api/cara/v1/jobs", headers=auth(studio_token), json={
        "title": "Background painter", "description": "Paint *harbours* for our film.", "field": "Animation",
        "employment_type": "contract", "workplace": "remote", "pay_min": "3000", "pay_max": "4000",
        "currency": "EUR", "pay_period": "month", "skills": ["painting", "colour"], "apply_method": "inapp"})
    job = await posted.json()
    assert posted.status == 200, job
    assert job["title"] == "Background painter" and job["pay"] == {"min": 3000, "max": 4000, "currency": "EUR",
                                                                   "period": "month"}
    api_shapes.check("Account", job["account"])
    board = await (await client.get("/api/cara/v1/jobs?q=painter&workplace=remote")).json()
    assert [j["id"] for j in board["jobs"]] == [job["id"]] and board["total"] == 1
    assert (await client.get("/api/cara/v1/jobs?workplace=moon")).status == 422
    invalid = await client.post("/api/cara/v1/jobs", headers=auth(studio_token), json={"title": ""})
    assert invalid.status == 422

    work = await post_work(client, ada_token, "Harbour study")
    applied = await client.post(f"/api/cara/v1/jobs/{job['id']}/apply", headers=auth(ada_token),
                                json={"message": "I paint harbours.", "work_ids": [work["id"]]})
    body = await applied.json()
    assert applied.status == 200 and body["works"][0]["title"] == "Harbour study"
    twice = await client.post(f"/api/cara/v1/jobs/{job['id']}/apply", headers=auth(ada_token),
                              json={"message": "Again", "work_ids": []})
    assert twice.status == 422

    project = await (await client.post("/api/cara/v1/projects", headers=auth(ada_token), json={
        "title": "Harbours", "description": "A series.", "status_ids": [work["id"]]})).json()
    assert project["status_ids"] == [work["id"]] and project["cover_id"] == work["id"]
    listed = await (await client.get(f"/api/cara/v1/accounts/{work['account']['id']}/projects")).json()
    assert [p["title"] for p in listed] == ["Harbours"]

    report = await client.get(f"/api/cara/v1/statuses/{work['id']}/protection", headers=auth(ada_token))
    data = await report.json()
    assert report.status == 200 and data["state"] == "published" and data["noai"] is True
    assert data["detection_ran"] is True and data["verdict"]["label"] and data["media"][0]["state"] == "ready"
    assert (await client.get(f"/api/cara/v1/statuses/{work['id']}/protection",
                             headers=auth(studio_token))).status == 404
