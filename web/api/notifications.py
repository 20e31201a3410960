"""Notifications (types[] / exclude_types[] / account_id filters, keyset pages), dismissing, and the
per-account markers, preferences and the other small lists apps read on start-up."""

from __future__ import annotations

from aiohttp import web

from cara_fed import queries_api
from cara_fed.context import CONTEXT_KEY
from cara_fed.models import Account, Notification
from cara_fed.services import client_state
from cara_fed.services import notifications as notification_service
from web.api import entities_notifications, entities_statuses
from web.api.base import endpoint, int_id, link_header, me, not_found, params, reply, unprocessable, window
from web.api.views import facts_view

routes = web.RouteTableDef()


def _types(request: web.Request, name: str) -> list[str]:
    return [t for t in request.query.getall(f"{name}[]", []) + request.query.getall(name, []) if t]


async def render_many(request: web.Request, session, rows: list[Notification]) -> list[dict]:  # type: ignore[no-untyped-def]
    return await render_rows(session, request.app[CONTEXT_KEY].config.base_url, await me(request), rows)


async def render_rows(session, base: str, me_: Account, rows: list[Notification]) -> list[dict]:  # type: ignore[no-untyped-def]
    """Notifications as Mastodon entities, for `me_` (their statuses with the facts of one page)."""
    comment_ids = [n.object_id for n in rows if n.object_type == "comment" and n.object_id is not None]
    found = await queries_api.comments_by_ids(session, comment_ids)
    parents = await queries_api.comments_by_ids(session, [c.parent_id for c in found.values() if c.parent_id])
    artwork_ids = {n.object_id for n in rows if n.object_type == "artwork" and n.object_id is not None}
    works = await queries_api.artworks_by_ids(session, artwork_ids | {c.artwork_id for c in found.values()})
    shown_works = [w for w in works.values() if w.state == "published" or w.account_id == me_.id]
    view = await facts_view(session, base, me_, artworks=shown_works,
                          accounts=[n.actor for n in rows if n.actor is not None] + [c.account for c in found.values()])
    out = []
    for row in rows:
        status = None
        if row.object_type == "artwork" and row.object_id in works:
            status = entities_statuses.status(view, works[row.object_id])
        elif row.object_type == "comment" and row.object_id in found:
            comment = found[row.object_id]
            if comment.artwork_id in works:
                status = entities_statuses.comment_status(view, comment, works[comment.artwork_id],
                                                          parents.get(comment.parent_id or 0))
        rendered = entities_notifications.notification(view, row, status)
        if rendered is not None:
            out.append(rendered)
    return out


@routes.get("/api/v1/notifications")
@endpoint("read:notifications")
async def index(request: web.Request) -> web.Response:
    account = await me(request)
    w = window(request, default=15, most=30)
    kinds = queries_api.kinds_for(_types(request, "types"), _types(request, "exclude_types"))
    raw_from = request.query.get("account_id", "")
    async with request.app[CONTEXT_KEY].sessions() as session:
        rows = await queries_api.notifications(session, account, w, kinds,
                                               int_id(raw_from) if raw_from else None) if kinds else []
        data = await render_many(request, session, rows)
    return reply(data, headers=link_header(request, [row.id for row in rows], more=len(rows) == w.limit))


@routes.get("/api/v1/notifications/unread_count")
@endpoint("read:notifications")
async def unread_count(request: web.Request) -> web.Response:
    from cara_fed import queries_social

    async with request.app[CONTEXT_KEY].sessions() as session:
        return reply({"count": await queries_social.unread_count(session, (await me(request)).id)})


@routes.get(r"/api/v1/notifications/{notification_id:\d+}")
@endpoint("read:notifications")
async def show(request: web.Request) -> web.Response:
    account = await me(request)
    async with request.app[CONTEXT_KEY].sessions() as session:
        row = await session.get(Notification, int_id(request.match_info["notification_id"]))
        if row is None or row.account_id != account.id:
            raise not_found()
        data = await render_many(request, session, [row])
    if not data:
        raise not_found()
    return reply(data[0])


@routes.post(r"/api/v1/notifications/{notification_id:\d+}/dismiss")
@endpoint("write:notifications")
async def dismiss(request: web.Request) -> web.Response:
    removed = await notification_service.dismiss(request.app[CONTEXT_KEY], await me(request),
                                                 int_id(request.match_info["notification_id"]))
    if not removed:
        raise not_found()
    return reply({})


@routes.post("/api/v1/notifications/clear")
@endpoint("write:notifications")
async def clear(request: web.Request) -> web.Response:
    await notification_service.dismiss(request.app[CONTEXT_KEY], await me(request))
    return reply({})


# --- markers and preferences ---------------------------------------------------------------------


@routes.get("/api/v1/markers")
@endpoint("read:statuses")
async def markers(request: web.Request) -> web.Response:
    wanted = _types(request, "timeline")
    rows = await client_state.markers(request.app[CONTEXT_KEY], await me(request), wanted)
    return reply({row.timeline: entities_notifications.marker(row) for row in rows})


@routes.post("/api/v1/markers")
@endpoint("write:statuses")
async def save_markers(request: web.Request) -> web.Response:
    account = await me(request)
    p = await params(request)
    saved = {}
    for timeline in client_state.MARKER_TIMELINES:
        last = p.nested(timeline).text("last_read_id")
        if last:
            marker = await client_state.save_marker(request.app[CONTEXT_KEY], account, timeline, last)
            saved[timeline] = entities_notifications.marker(marker)
    return reply(saved)


@routes.get("/api/v1/preferences")
@endpoint("read:accounts")
async def preferences(request: web.Request) -> web.Response:
    return reply(entities_notifications.preferences(await me(request)))


@routes.get("/api/v2/notifications")
@endpoint("read:notifications")
async def grouped(request: web.Request) -> web.Response:
    """Mastodon 4.3's grouped notifications, each notification its own group (we do not merge likes yet): apps
    that prefer v2 (Phanpy, Elk) read the same notifications as v1 gives."""
    account = await me(request)
    w = window(request, default=40, most=80)
    kinds = queries_api.kinds_for(_types(request, "types"), _types(request, "exclude_types"))
    async with request.app[CONTEXT_KEY].sessions() as session:
        rows = await queries_api.notifications(session, account, w, kinds) if kinds else []
        rendered = await render_many(request, session, rows)
    accounts: dict[str, dict] = {}
    statuses: dict[str, dict] = {}
    groups = []
    for item in rendered:
        accounts[item["account"]["id"]] = item["account"]
        group = {"group_key": item["group_key"], "notifications_count": 1, "type": item["type"],
                 "most_recent_notification_id": int(item["id"]), "page_min_id": item["id"],
                 "page_max_id": item["id"], "latest_page_notification_at": item["created_at"],
                 "sample_account_ids": [item["account"]["id"]]}
        if "status" in item:
            statuses[item["status"]["id"]] = item["status"]
            group["status_id"] = item["status"]["id"]
        groups.append(group)
    return reply({"accounts": list(accounts.values()), "statuses": list(statuses.values()),
                  "notification_groups": groups},
                 headers=link_header(request, [row.id for row in rows], more=len(rows) == w.limit))


@routes.get("/api/v2/notifications/unread_count")
@endpoint("read:notifications")
async def grouped_unread_count(request: web.Request) -> web.Response:
    return await unread_count(request)


# Mastodon 4.3's notification filtering: nothing is filtered here, so the policy accepts everything and there are
# never pending requests. Changing it is refused until we filter.
SUMMARY = {"pending_requests_count": 0, "pending_notifications_count": 0}


@routes.get("/api/v1/notifications/policy")
@endpoint("read:notifications")
async def policy_v1(request: web.Request) -> web.Response:
    return reply({"filter_not_following": False, "filter_not_followers": False, "filter_new_accounts": False,
                  "filter_private_mentions": False, "summary": SUMMARY})


@routes.get("/api/v2/notifications/policy")
@endpoint("read:notifications")
async def policy_v2(request: web.Request) -> web.Response:
    return reply({"for_not_following": "accept", "for_not_followers": "accept", "for_new_accounts": "accept",
                  "for_private_mentions": "accept", "for_limited_accounts": "accept", "summary": SUMMARY})


@routes.get("/api/v1/notifications/requests")
@endpoint("read:notifications")
async def requests(request: web.Request) -> web.Response:
    return reply([])


@routes.patch("/api/v1/notifications/policy")
@routes.patch("/api/v2/notifications/policy")
@endpoint("write:notifications")
async def change_policy(request: web.Request) -> web.Response:
    raise unprocessable("Notification filtering is not offered here yet: every notification is shown")
