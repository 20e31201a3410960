"""Admin pages: approvals, invites, instance policy; only for admins."""

import re

from sqlalchemy import select

from cara_fed.models import Account, Instance
from cara_fed.services import accounts
from tests.conftest import csrf_from, sign_up


async def make_admin(ctx, client, name: str = "boss"):  # type: ignore[no-untyped-def]
    await sign_up(client, name, password="admin password")
    async with ctx.transaction() as tx:
        account = await tx.session.scalar(select(Account).where(Account.username == name))
        account.is_admin = True


async def test_admin_pages_are_for_admins_only(client, ctx):
    assert (await client.get("/admin", allow_redirects=False)).status == 303  # to login
    await sign_up(client, "ada")
    refused = await client.get("/admin")
    assert refused.status == 403
    assert "Only administrators" in await refused.text()


async def test_approval_mode_end_to_end(client, ctx):
    ctx.config.instance.registration = "approval"
    async with ctx.transaction() as tx:
        await accounts.create_account(ctx, tx, "boss", "boss@example.org", "admin password", is_admin=True,
                                      bypass_registration=True)
    response = await sign_up(client, "newbie", note="I draw birds")
    assert response.status == 200
    assert "A moderator will review your request" in await response.text()
    token = await csrf_from(client, "/login")
    await client.post("/login", data={"csrf_token": token, "login": "boss", "password": "admin password"})
    page = await (await client.get("/admin")).text()
    assert "@newbie" in page and "I draw birds" in page
    newbie_id = re.search(r'/admin/accounts/(\d+)/approve', page).group(1)
    token = await csrf_from(client, "/admin")
    approved = await client.post(f"/admin/accounts/{newbie_id}/approve", data={"csrf_token": token},
                                 allow_redirects=False)
    assert approved.status == 303
    assert (await accounts.authenticate(ctx, "newbie", "correct horse 1", "127.0.0.1")).username == "newbie"


async def test_invites_and_domain_policies(client, ctx):
    await make_admin(ctx, client)
    token = await csrf_from(client, "/admin")
    page = await (await client.post("/admin/invites", data={"csrf_token": token})).text()
    link = re.search(r"http://test\.example/signup\?invite=([\w-]+)", page)
    assert link
    ok = await client.post("/admin/instances", data={"csrf_token": token, "domain": "https://Spam.Example/",
                                                    "policy": "suspend", "reason": "spam"}, allow_redirects=False)
    assert ok.status == 303
    bad = await client.post("/admin/instances", data={"csrf_token": token, "domain": "not a domain!",
                                                     "policy": "suspend"})
    assert bad.status == 400 and "is not a domain name" in await bad.text()
    async with ctx.sessions() as session:
        instance = await session.get(Instance, "spam.example")
    assert instance.policy == "suspend" and instance.reason == "spam"
    assert "spam.example" in await (await client.get("/admin")).text()
