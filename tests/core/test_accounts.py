"""Accounts through the real HTTP edge, on SQLite and PostgreSQL."""

from sqlalchemy import select

from cara_fed.models import Account
from cara_fed.services import accounts
from tests.conftest import csrf_from, sign_up


async def test_sign_up_logs_in_and_lands_on_the_portfolio(client):
    response = await sign_up(client, "ada")
    assert response.status == 303
    assert response.headers["Location"] == "/@ada"
    cookie = response.cookies["cara_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    page = await client.get("/@ada")
    assert page.status == 200
    assert 'href="/upload"' in await page.text()  # the owner is invited to upload


async def test_password_is_hashed_with_argon2(client, ctx):
    await sign_up(client, "grace", password="a long passphrase")
    async with ctx.sessions() as session:
        account = await session.scalar(select(Account).where(Account.username == "grace"))
    assert account.password_hash.startswith("$argon2id$")
    assert "a long passphrase" not in account.password_hash


async def test_duplicate_username_and_bad_fields_are_refused_clearly(client):
    assert (await sign_up(client, "ada")).status == 303
    client.session.cookie_jar.clear()
    again = await sign_up(client, "ada")
    assert again.status == 400
    assert "The name “ada” is already taken." in await again.text()
    bad = await sign_up(client, "Bad Name!", password="short")
    body = await bad.text()
    assert bad.status == 400
    assert "Use 1–30 lowercase letters, digits or underscores." in body
    assert "Use at least 8 characters." in body


async def test_form_post_without_csrf_token_is_refused(client):
    response = await client.post("/signup", data={"username": "eve", "email": "eve@example.org",
                                                  "password": "whatever123"})
    assert response.status == 403
    assert "CSRF" in await response.text()
    await sign_up(client, "ada")
    forged = await client.post("/settings", data={"display_name": "pwned", "csrf_token": "guess"})
    assert forged.status == 403
    page = await client.get("/@ada")
    assert "pwned" not in await page.text()


async def test_wrong_password_and_login_rate_limit(client, ctx):
    await sign_up(client, "ada", password="right password")
    client.session.cookie_jar.clear()
    token = await csrf_from(client, "/login")
    wrong = await client.post("/login", data={"csrf_token": token, "login": "ada", "password": "nope"})
    assert wrong.status == 401
    assert "That name or password is not right." in await wrong.text()
    for _ in range(ctx.config.security.login_attempts):
        await client.post("/login", data={"csrf_token": token, "login": "ada", "password": "nope"})
    limited = await client.post("/login", data={"csrf_token": token, "login": "ada", "password": "right password"})
    assert limited.status == 429
    assert "Too many failed logins" in await limited.text()
    assert 890 <= int(limited.headers["Retry-After"]) <= 901  # until the oldest failure leaves the 15-minute window


async def test_login_and_logout(client):
    await sign_up(client, "ada", password="right password")
    client.session.cookie_jar.clear()
    token = await csrf_from(client, "/login")
    ok = await client.post("/login", data={"csrf_token": token, "login": "ADA", "password": "right password",
                                           "next": "/settings"}, allow_redirects=False)
    assert ok.status == 303 and ok.headers["Location"] == "/settings"
    settings_token = await csrf_from(client, "/settings")
    out = await client.post("/logout", data={"csrf_token": settings_token}, allow_redirects=False)
    assert out.status == 303
    assert (await client.get("/settings", allow_redirects=False)).status == 303  # back to login


async def test_open_redirect_after_login_is_refused(client):
    await sign_up(client, "ada", password="right password")
    client.session.cookie_jar.clear()
    token = await csrf_from(client, "/login")
    response = await client.post("/login", data={"csrf_token": token, "login": "ada", "password": "right password",
                                                 "next": "//evil.example/"}, allow_redirects=False)
    assert response.headers["Location"] == "/"


async def test_registration_modes(ctx):
    from cara_fed.errors import ValidationError

    ctx.config.instance.registration = "closed"
    async with ctx.transaction() as tx:
        try:
            await accounts.create_account(ctx, tx, "x", "x@example.org", "password123")
            raise AssertionError("closed registration accepted a sign-up")
        except ValidationError as exc:
            assert exc.errors == {"form": "Sign-ups are closed on this instance."}
    ctx.config.instance.registration = "invite"
    code = await accounts.create_invite(ctx, None)
    async with ctx.transaction() as tx:
        invited = await accounts.create_account(ctx, tx, "inv", "inv@example.org", "password123", invite_code=code)
    assert invited.status == "active"
    try:
        async with ctx.transaction() as tx:
            await accounts.create_account(ctx, tx, "inv2", "inv2@example.org", "password123", invite_code=code)
        raise AssertionError("a used invite was accepted")
    except ValidationError as exc:
        assert "invite code is missing, used or expired" in exc.errors["invite"]
    ctx.config.instance.registration = "approval"
    async with ctx.transaction() as tx:
        pending = await accounts.create_account(ctx, tx, "wait", "wait@example.org", "password123")
    assert pending.status == "pending"
    try:
        await accounts.authenticate(ctx, "wait", "password123", "127.0.0.1")
        raise AssertionError("a pending account logged in")
    except ValidationError as exc:
        assert "waiting for a moderator" in exc.errors["form"]


async def test_profile_bio_is_sanitized(client):
    await sign_up(client, "ada")
    token = await csrf_from(client, "/settings")
    response = await client.post("/settings", data={
        "csrf_token": token, "display_name": "Ada <b>L</b>", "location": "London",
        "bio": "Hello **world** <script>alert(1)</script> [x](javascript:alert(2)) <img src=x onerror=alert(3)>",
        "skills": "ink, colour", "link_name_0": "Site", "link_url_0": "https://ada.example",
        "open_to_work": "on", "noai_default": "on", "discoverable": "on"})
    assert response.status == 200
    page = await (await client.get("/@ada")).text()
    assert "<strong>world</strong>" in page
    # Nothing executable survives; escaped text (in the meta description) is harmless.
    assert "<script>" not in page and 'href="javascript:' not in page and "<img src=x" not in page
    assert "Ada &lt;b&gt;L&lt;/b&gt;" in page
    assert 'href="https://ada.example"' in page and "Open to work" in page
