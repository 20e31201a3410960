"""Instance rules (issue 18): admins write them over CSRF forms; sign-up lists them and asks to agree; /about and
the Mastodon API (v1 and v2 instance, /api/v1/instance/rules, read by Mastodon.py) show them in order."""

import asyncio
import re

from sqlalchemy import func, select

from cara_fed.models import Account, InstanceRule
from tests.conftest import csrf_from, sign_up
from tests.web.test_admin import make_admin


async def _add(client, text: str, hint: str = ""):  # type: ignore[no-untyped-def]
    token = await csrf_from(client, "/admin/rules")
    return await client.post("/admin/rules", data={"csrf_token": token, "text": text, "hint": hint},
                             allow_redirects=False)


async def _rule_ids(client) -> list[str]:  # type: ignore[no-untyped-def]
    return re.findall(r'action="/admin/rules/(\d+)/edit"', await (await client.get("/admin/rules")).text())


async def _api_rules(client, path: str) -> list[dict]:  # type: ignore[no-untyped-def]
    response = await client.get(path)
    assert response.status == 200
    body = await response.json()
    return body if isinstance(body, list) else body["rules"]


async def test_admin_writes_reorders_and_removes_rules_shown_everywhere(client, ctx):
    await make_admin(ctx, client)
    for path in ("/api/v1/instance", "/api/v2/instance", "/api/v1/instance/rules"):
        assert await _api_rules(client, path) == []  # a fresh instance has no rules
    assert (await _add(client, "Credit   your collaborators.", "Name them in the description.")).status == 303
    assert (await _add(client, "Label AI-assisted work.")).status == 303
    assert (await _add(client, "No harassment.")).status == 303
    first, second, third = await _rule_ids(client)
    token = await csrf_from(client, "/admin/rules")
    edited = await client.post(f"/admin/rules/{second}/edit", data={"csrf_token": token, "text": "Label AI work.",
                                                                     "hint": "Say which tool."},
                               allow_redirects=False)
    assert edited.status == 303
    assert (await client.post(f"/admin/rules/{third}/up", data={"csrf_token": token},
                              allow_redirects=False)).status == 303
    assert (await client.post(f"/admin/rules/{first}/up", data={"csrf_token": token},
                              allow_redirects=False)).status == 303  # already first: stays
    expected = [{"id": first, "text": "Credit your collaborators.", "hint": "Name them in the description."},
                {"id": third, "text": "No harassment.", "hint": ""},
                {"id": second, "text": "Label AI work.", "hint": "Say which tool."}]
    for path in ("/api/v1/instance", "/api/v2/instance", "/api/v1/instance/rules"):
        assert await _api_rules(client, path) == expected, path
    client.session.cookie_jar.clear()  # a visitor: /about is cached for visitors, and a rule change clears it
    about = await (await client.get("/about")).text()
    assert about.index("Credit your collaborators.") < about.index("No harassment.") < about.index("Label AI work.")
    assert "Say which tool." in about

    await client.post("/login", data={"csrf_token": await csrf_from(client, "/login"), "login": "boss",
                                      "password": "admin password"})
    token = await csrf_from(client, "/admin/rules")
    assert (await client.post(f"/admin/rules/{third}/delete", data={"csrf_token": token},
                              allow_redirects=False)).status == 303
    assert [rule["id"] for rule in await _api_rules(client, "/api/v1/instance/rules")] == [first, second]
    client.session.cookie_jar.clear()
    assert "No harassment." not in await (await client.get("/about")).text()


async def test_bad_rule_input_is_refused_and_changes_nothing(client, ctx):
    await make_admin(ctx, client)
    assert (await _add(client, "Be kind.")).status == 303
    [rule_id] = await _rule_ids(client)
    empty = await _add(client, "   ")
    assert empty.status == 400 and "Write the rule." in await empty.text()
    long = await _add(client, "x" * 301)
    assert long.status == 400 and "under 300 characters" in await long.text()
    token = await csrf_from(client, "/admin/rules")
    long_hint = await client.post(f"/admin/rules/{rule_id}/edit", data={"csrf_token": token, "text": "Be nice.",
                                                                        "hint": "h" * 1001})
    assert long_hint.status == 400 and "under 1000 characters" in await long_hint.text()
    missing = await client.post("/admin/rules/999999/delete", data={"csrf_token": token}, allow_redirects=False)
    assert missing.status == 404
    forged = await client.post("/admin/rules", data={"text": "No CSRF token"}, allow_redirects=False)
    assert forged.status == 403
    async with ctx.sessions() as session:
        assert [(r.text, r.hint) for r in (await session.scalars(select(InstanceRule))).all()] == [("Be kind.", "")]
    client.session.cookie_jar.clear()
    await sign_up(client, "ada", agree_rules="on")
    refused = await client.post("/admin/rules", data={"csrf_token": await csrf_from(client, "/settings"),
                                                      "text": "Artists cannot write rules"}, allow_redirects=False)
    assert refused.status == 403
    assert (await client.get("/admin/rules")).status == 403


async def test_signup_lists_the_rules_and_asks_to_agree(client, ctx):
    # Without rules there is nothing to agree to.
    assert (await sign_up(client, "early")).status == 303
    client.session.cookie_jar.clear()
    await make_admin(ctx, client)
    await _add(client, "Post only your own work.", "Or work you have the right to share.")
    client.session.cookie_jar.clear()
    form = await (await client.get("/signup")).text()
    assert "Post only your own work." in form and "Or work you have the right to share." in form
    assert 'name="agree_rules"' in form
    refused = await sign_up(client, "late")
    assert refused.status == 400 and "tick the box to agree" in await refused.text()
    async with ctx.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Account)
                                    .where(Account.username == "late")) == 0
    assert (await sign_up(client, "late", agree_rules="on")).status == 303


async def test_mastodon_py_reads_the_rules(client, ctx):
    """The real client library (PyPI Mastodon.py), run in a thread against this test server."""
    from mastodon import Mastodon

    await make_admin(ctx, client)
    await _add(client, "Credit collaborators.", "Always.")
    api = Mastodon(api_base_url=str(client.make_url("")).rstrip("/"), version_check_mode="none")
    instance = await asyncio.to_thread(api.instance)
    assert [(rule["text"], rule["hint"]) for rule in instance["rules"]] == [("Credit collaborators.", "Always.")]
    rules = await asyncio.to_thread(api.instance_rules)
    assert [rule["text"] for rule in rules] == ["Credit collaborators."]
