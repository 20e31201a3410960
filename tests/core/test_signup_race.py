"""Two sign-ups at the same moment for one name or one email, on SQLite and PostgreSQL: both pass the
"already taken" checks before either has written; the database's unique indexes refuse the second insert,
and the loser gets the same answer as if it had come second (a 400 "already taken" for the name, for the
email what any registered address gets), never a 500 and never two accounts with one name."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from cara_fed.errors import ValidationError
from cara_fed.models import Account, Invite
from cara_fed.services import accounts
from tests.conftest import csrf_from

PASSWORD = "correct horse 1"


async def local_accounts(ctx) -> list[Account]:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        rows = await session.scalars(select(Account).where(Account.domain.is_(None)).order_by(Account.id))
        return list(rows.all())


async def test_two_posts_for_one_name_make_one_account_and_a_400(client, ctx):
    token = await csrf_from(client, "/signup")

    async def post(email: str):  # type: ignore[no-untyped-def]
        return await client.post("/signup", data={"csrf_token": token, "username": "ada", "email": email,
                                                   "password": PASSWORD, "kind": "artist"}, allow_redirects=False)

    responses = await asyncio.gather(post("ada@example.org"), post("ada.too@example.org"))
    assert sorted(r.status for r in responses) == [303, 400], [r.status for r in responses]
    [refused] = [r for r in responses if r.status == 400]
    assert "The name “ada” is already taken." in await refused.text()
    assert [a.username for a in await local_accounts(ctx)] == ["ada"]


async def test_two_posts_for_one_email_never_fail(client, ctx):
    token = await csrf_from(client, "/signup")

    async def post(username: str):  # type: ignore[no-untyped-def]
        return await client.post("/signup", data={"csrf_token": token, "username": username,
                                                   "email": "Shared@Example.org", "password": PASSWORD,
                                                   "kind": "artist"}, allow_redirects=False)

    responses = await asyncio.gather(post("ada"), post("bea"))
    # As without the race: a registered email is not reported (that would tell anyone it has an account
    # here); the later account is made without it.
    assert [r.status for r in responses] == [303, 303], [await r.text() for r in responses]
    made = await local_accounts(ctx)
    assert sorted(a.username for a in made) == ["ada", "bea"]
    assert sorted((a.email or "") for a in made) == ["", "shared@example.org"]


async def test_racing_service_calls_for_one_name_and_one_email(ctx):
    names = await asyncio.gather(*(accounts.sign_up(ctx, "ada", f"ada{n}@example.org", PASSWORD) for n in range(3)),
                                 return_exceptions=True)
    made = [r for r in names if isinstance(r, Account)]
    refused = [r for r in names if isinstance(r, ValidationError)]
    assert len(made) == 1 and len(refused) == 2, names
    assert all(e.errors == {"username": "The name “ada” is already taken."} for e in refused)

    # Admin tools (bypass_registration) are told plainly that the email is registered.
    emails = await asyncio.gather(*(accounts.sign_up(ctx, f"cy{n}", "cy@example.org", PASSWORD,
                                                     bypass_registration=True) for n in range(2)),
                                  return_exceptions=True)
    assert sorted(type(r).__name__ for r in emails) == ["Account", "ValidationError"], emails
    [error] = [r for r in emails if isinstance(r, ValidationError)]
    assert error.errors == {"email": "An account with this email already exists."}
    [winner] = [r for r in emails if isinstance(r, Account)]
    assert [a.username for a in await local_accounts(ctx)] == ["ada", winner.username]


@pytest.mark.empty_database  # it migrates to 0018 itself
async def test_the_migration_refuses_while_two_local_accounts_share_a_name(config):
    """Databases from before 0020 may hold such a pair (the race above): the admin decides who keeps the name."""
    from cara_fed.context import Context
    from cara_fed.migrate import upgrade

    ctx = Context.create(config)
    try:
        await upgrade(ctx.engine, "0018")
        async with ctx.engine.begin() as connection:  # raw SQL: later migrations add columns the models name
            for email in ("one@example.org", "two@example.org"):
                await connection.exec_driver_sql(
                    "INSERT INTO accounts (username, email, kind, status, is_admin, display_name, bio, bio_html,"
                    " location, links, skills, open_to_work, noai_default, locked, discoverable, request_note,"
                    " created_at, updated_at) VALUES ('ada', '" + email + "', 'artist', 'active', false, 'Ada', '',"
                    " '', '', '[]', '[]', false, true, false, true, '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")
        with pytest.raises(RuntimeError, match=r"more than one local account is named 'ada' \(2 accounts\)"):
            await upgrade(ctx.engine, "0020")
        async with ctx.engine.begin() as connection:  # renamed by the admin, it goes through
            await connection.exec_driver_sql("UPDATE accounts SET username = 'ada2' WHERE email = 'two@example.org'")
        await upgrade(ctx.engine, "0020")
    finally:
        await ctx.close()


async def test_one_invite_code_used_by_two_sign_ups_at_once_makes_one_account(ctx):
    ctx.config.instance.registration = "invite"
    code = await accounts.create_invite(ctx, None)
    results = await asyncio.gather(*(accounts.sign_up(ctx, f"inv{n}", f"inv{n}@example.org", PASSWORD,
                                                      invite_code=code) for n in range(3)),
                                   return_exceptions=True)
    made = [r for r in results if isinstance(r, Account)]
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert len(made) == 1 and len(refused) == 2, results
    assert all("invite" in e.errors for e in refused), [e.errors for e in refused]
    assert [a.username for a in await local_accounts(ctx)] == [made[0].username]  # the losers left nothing
    async with ctx.sessions() as session:
        invite = await session.get(Invite, code)
        assert invite is not None and invite.used_by_id == made[0].id
