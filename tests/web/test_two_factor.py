"""Two-factor authentication over real HTTP: enrolment from the page's secret (codes computed with pyotp), the
code step after the password, replay and recovery codes, the wrong-code limit, turning it off, the admin
requirement, and the OAuth flows (the password grant refuses, the code flow's login asks for the code)."""

from __future__ import annotations

import re
import time
from html import unescape
from http.cookies import SimpleCookie

import pyotp
import pytest

from cara_fed.context import CONTEXT_KEY
from cara_fed.services import accounts
from tests.conftest import csrf_from, sign_up

SECRET_RE = re.compile(r'id="totp-secret">([A-Z2-7]+)<')
CODE_LI_RE = re.compile(r"<li><code>([0-9a-f-]{23})</code></li>")
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
NEXT_RE = re.compile(r'name="next" value="([^"]*)"')


async def enrol(client) -> tuple[pyotp.TOTP, list[str]]:  # type: ignore[no-untyped-def]
    page = await client.get("/settings/two-factor")
    html = await page.text()
    assert page.status == 200 and "<svg" in html and "QR code for your authenticator app" in html
    secret = SECRET_RE.search(html).group(1)  # type: ignore[union-attr]
    totp = pyotp.TOTP(secret)
    uri = unescape(html)
    assert page.headers["Cache-Control"] == "no-store" and secret in uri
    token = CSRF_RE.search(html).group(1)  # type: ignore[union-attr]
    wrong = await client.post("/settings/two-factor/confirm", data={"csrf_token": token, "code": "000000"
                                                                    if totp.now() != "000000" else "111111"})
    assert wrong.status == 400 and "not right" in await wrong.text()
    done = await client.post("/settings/two-factor/confirm", data={"csrf_token": token, "code": totp.now()})
    html = await done.text()
    assert done.status == 200 and "Two-factor authentication is on" in html
    codes = CODE_LI_RE.findall(html)
    assert len(codes) == 10 and len(set(codes)) == 10
    return totp, codes


def next_code(totp: pyotp.TOTP) -> str:
    """The code of the next time step: the one just used at enrolment cannot be replayed."""
    return totp.at(time.time() + totp.interval)


async def password_step(client, login: str, password: str, next_path: str = ""):  # type: ignore[no-untyped-def]
    token = await csrf_from(client, "/login" + (f"?next={next_path}" if next_path else ""))
    return await client.post("/login", data={"csrf_token": token, "login": login, "password": password,
                                             "next": next_path}, allow_redirects=False)


async def code_step(client, page_html: str, code: str):  # type: ignore[no-untyped-def]
    token = CSRF_RE.search(page_html).group(1)  # type: ignore[union-attr]
    target = unescape(NEXT_RE.search(page_html).group(1))  # type: ignore[union-attr]
    return await client.post("/login/code", data={"csrf_token": token, "code": code, "next": target},
                             allow_redirects=False)


async def test_enrol_then_log_in_with_a_code_or_a_recovery_code_once(client):
    await sign_up(client, "ada", password="pass word 1")
    totp, codes = await enrol(client)
    assert "1 unused" not in await (await client.get("/settings/two-factor")).text()
    client.session.cookie_jar.clear()

    half = await password_step(client, "ada", "pass word 1")
    html = await half.text()
    assert half.status == 200 and "Enter your code" in html and 'autocomplete="one-time-code"' in html
    assert (await client.get("/settings", allow_redirects=False)).status == 303  # not signed in yet
    replayed = await code_step(client, html, totp.now())  # the code used at enrolment
    assert replayed.status == 401 and "already used" in await replayed.text()
    done = await code_step(client, html, next_code(totp))
    assert done.status == 303 and done.headers["Location"] == "/feed"
    assert (await client.get("/settings")).status == 200

    client.session.cookie_jar.clear()
    html = await (await password_step(client, "ada", "pass word 1")).text()
    assert (await code_step(client, html, codes[0].upper())).status == 303  # recovery code, any case
    client.session.cookie_jar.clear()
    html = await (await password_step(client, "ada", "pass word 1")).text()
    assert (await code_step(client, html, codes[0])).status == 401  # spent
    status = await (await client.get("/login")).text()
    assert "Log in" in status

    wrong_password = await password_step(client, "ada", "not it")
    assert wrong_password.status == 401 and "Enter your code" not in await wrong_password.text()


async def test_the_code_step_needs_the_signed_password_step(client):
    await sign_up(client, "ada", password="pass word 1")
    totp, _ = await enrol(client)
    client.session.cookie_jar.clear()
    token = await csrf_from(client, "/login")
    alone = await client.post("/login/code", data={"csrf_token": token, "code": next_code(totp)},
                              allow_redirects=False)
    assert alone.status == 401 and "log in again" in await alone.text()
    html = await (await password_step(client, "ada", "pass word 1")).text()
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/login/code"))["cara_2fa"].value
    account_id, expires, signature = cookie.split(".")
    forged = f"{account_id}.{int(expires) + 3600}.{signature}"  # a longer life is not signed
    replaced = SimpleCookie()
    replaced["cara_2fa"] = forged
    replaced["cara_2fa"]["path"] = "/login"  # the same cookie, not a second one beside it
    client.session.cookie_jar.update_cookies(replaced, client.make_url("/login"))
    assert client.session.cookie_jar.filter_cookies(client.make_url("/login/code"))["cara_2fa"].value == forged
    refused = await code_step(client, html, next_code(totp))
    assert refused.status == 401 and "log in again" in await refused.text()


async def test_wrong_codes_are_limited(client):
    await sign_up(client, "ada", password="pass word 1")
    totp, _ = await enrol(client)
    client.session.cookie_jar.clear()
    html = await (await password_step(client, "ada", "pass word 1")).text()
    wrong = "123456" if next_code(totp) != "123456" else "654321"
    statuses = [(await code_step(client, html, wrong)).status for _ in range(5)]
    assert statuses == [401] * 4 + [429]  # five wrong codes per 15 minutes: enrol() tried one already
    assert (await code_step(client, html, next_code(totp))).status == 429  # even the right one, for now


async def test_turning_two_factor_off_needs_password_and_code(client):
    await sign_up(client, "ada", password="pass word 1")
    totp, _ = await enrol(client)
    token = await csrf_from(client, "/settings/two-factor")
    no_code = await client.post("/settings/two-factor/disable", data={"csrf_token": token, "password": "pass word 1",
                                                                      "code": ""})
    assert no_code.status == 400
    bad_password = await client.post("/settings/two-factor/disable", data={
        "csrf_token": token, "password": "nope", "code": next_code(totp)})
    assert bad_password.status == 400 and "password is not right" in await bad_password.text()
    off = await client.post("/settings/two-factor/disable", data={
        "csrf_token": token, "password": "pass word 1", "code": next_code(totp)})
    assert off.status == 200 and "Turn on two-factor authentication" in await off.text()
    client.session.cookie_jar.clear()
    assert (await password_step(client, "ada", "pass word 1")).status == 303  # password alone again


async def test_admins_must_enrol_when_the_instance_requires_it(config, aiohttp_client):
    from cara_fed_run.app import create_app

    config.security.require_admin_2fa = True
    client = await aiohttp_client(create_app(config, jobs="inline", migrate=True))
    ctx = client.app[CONTEXT_KEY]
    async with ctx.transaction() as tx:
        await accounts.create_account(ctx, tx, "mira", "mira@example.org", "admin pass 1", is_admin=True,
                                      bypass_registration=True)
    assert (await password_step(client, "mira", "admin pass 1")).status == 303
    sent = await client.get("/admin", allow_redirects=False)
    assert sent.status == 303 and sent.headers["Location"] == "/settings/two-factor?required=1"
    page = await (await client.get("/settings/two-factor?required=1")).text()
    assert "requires two-factor authentication for admins" in page
    await enrol(client)
    assert (await client.get("/admin")).status == 200
    await sign_up(client, "ada")  # other accounts are not asked
    assert (await client.get("/feed", allow_redirects=False)).status == 200


@pytest.fixture
def password_grant(config):  # type: ignore[no-untyped-def]
    config.api.password_grant = True
    return config


async def test_the_password_grant_refuses_two_factor_accounts(password_grant, aiohttp_client):
    from cara_fed_run.app import create_app

    client = await aiohttp_client(create_app(password_grant, jobs="inline", migrate=True))
    app = await (await client.post("/api/v1/apps", json={"client_name": "Sketchbook", "scopes": "read",
                                                         "redirect_uris": "cara-test://callback"})).json()
    await sign_up(client, "ada", password="pass word 1")
    await enrol(client)
    await sign_up(client, "bo", password="pass word 2")

    def grant(username: str, password: str) -> dict:
        return {"grant_type": "password", "client_id": app["client_id"], "client_secret": app["client_secret"],
                "username": username, "password": password, "scope": "read"}

    refused = await client.post("/oauth/token", data=grant("ada", "pass word 1"))
    body = await refused.json()
    assert refused.status == 400 and body["error"] == "invalid_grant" and "two-factor" in body["error_description"]
    assert "access_token" not in body
    wrong = await client.post("/oauth/token", data=grant("ada", "wrong password"))
    assert wrong.status == 400 and "two-factor" not in (await wrong.json()).get("error_description", "")
    allowed = await client.post("/oauth/token", data=grant("bo", "pass word 2"))
    assert allowed.status == 200 and (await allowed.json())["access_token"]


async def test_the_code_flow_login_asks_for_the_code(client):
    await sign_up(client, "ada", password="pass word 1")
    totp, _ = await enrol(client)
    client.session.cookie_jar.clear()
    app = await (await client.post("/api/v1/apps", json={"client_name": "Sketchbook", "scopes": "read",
                                                         "redirect_uris": "cara-test://callback"})).json()
    query = {"response_type": "code", "client_id": app["client_id"], "redirect_uri": "cara-test://callback",
             "scope": "read"}
    to_login = await client.get("/oauth/authorize", params=query, allow_redirects=False)
    assert to_login.status == 303 and to_login.headers["Location"].startswith("/login?next=")
    target = to_login.headers["Location"].split("next=", 1)[1]
    from urllib.parse import unquote

    half = await password_step(client, "ada", "pass word 1", unquote(target))
    html = await half.text()
    assert half.status == 200 and "Enter your code" in html
    done = await code_step(client, html, next_code(totp))
    assert done.status == 303 and done.headers["Location"].startswith("/oauth/authorize?")
    consent = await client.get(done.headers["Location"])
    assert consent.status == 200 and "Authorize Sketchbook?" in await consent.text()


async def test_new_recovery_codes_replace_the_old_ones(client):
    await sign_up(client, "ada", password="pass word 1")
    totp, old_codes = await enrol(client)
    token = await csrf_from(client, "/settings/two-factor")
    wrong = await client.post("/settings/two-factor/recovery-codes", data={
        "csrf_token": token, "password": "nope", "code": next_code(totp)})
    assert wrong.status == 400 and "password is not right" in await wrong.text()
    renewed = await client.post("/settings/two-factor/recovery-codes", data={
        "csrf_token": token, "password": "pass word 1", "code": old_codes[0]})
    html = await renewed.text()
    assert renewed.status == 200 and "Your old recovery codes no longer work" in html
    new_codes = CODE_LI_RE.findall(html)
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    client.session.cookie_jar.clear()
    page = await (await password_step(client, "ada", "pass word 1")).text()
    assert (await code_step(client, page, old_codes[1])).status == 401
    assert (await code_step(client, page, new_codes[0])).status == 303
