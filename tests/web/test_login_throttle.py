"""Login throttling without owner lock-out, and sign-up that does not reveal emails (issue 12, defect 9).

Real HTTP from several real client addresses: each browser binds its own loopback address (127.0.0.N), so the
server sees distinct `request.remote` values exactly as it would for distinct machines."""

from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from cara_fed.models import Account
from cara_fed.services import login_throttle
from tests.conftest import CSRF_RE, sign_up


@pytest.fixture
def database_url(tmp_path: Path) -> str:  # the throttle is plain SQL on one table: SQLite keeps this file fast
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


class Browser:
    """A browser on its own address with its own cookies."""

    def __init__(self, client, address: str):  # type: ignore[no-untyped-def]
        self.client = client
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(address, 0)),
                                             cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def log_in(self, login: str, password: str) -> aiohttp.ClientResponse:
        page = await self.session.get(self.client.make_url("/login"))
        token = CSRF_RE.search(await page.text()).group(1)
        return await self.session.post(self.client.make_url("/login"), allow_redirects=False,
                                       data={"csrf_token": token, "login": login, "password": password})


@pytest.fixture
async def browsers(client):  # type: ignore[no-untyped-def]
    made: list[Browser] = []

    def at(address: str) -> Browser:
        made.append(Browser(client, address))
        return made[-1]

    yield at
    for browser in made:
        await browser.session.close()


async def guess_from_four_addresses(ctx, browsers) -> None:  # type: ignore[no-untyped-def]
    """`login_attempts` wrong passwords for ada, spread over four addresses (each far under its own limit)."""
    attackers = [browsers(f"127.0.0.{n}") for n in range(2, 6)]
    for i in range(ctx.config.security.login_attempts):
        assert (await attackers[i % 4].log_in("ada", "guess")).status == 401


async def test_one_guessing_address_is_throttled_and_the_owner_still_logs_in(client, ctx, browsers):
    await sign_up(client, "ada", password="right password")
    attacker = browsers("127.0.0.2")
    for _ in range(ctx.config.security.login_attempts):
        assert (await attacker.log_in("ada", "guess")).status == 401
    refused = await attacker.log_in("ada", "right password")
    assert refused.status == 429
    assert "Too many failed logins" in await refused.text()
    assert 1 <= int(refused.headers["Retry-After"]) <= 901
    owner = browsers("127.0.0.3")  # a fresh browser elsewhere: the account itself is not locked
    assert (await owner.log_in("ada", "right password")).status == 303


async def test_guessing_from_many_addresses_backs_off_the_account_but_not_the_owners_browser(client, ctx, browsers):
    await sign_up(client, "ada", password="right password")
    owners_browser = browsers("127.0.0.1")
    assert (await owners_browser.log_in("ada", "right password")).status == 303
    assert any(c.key == login_throttle.KNOWN_COOKIE for c in owners_browser.session.cookie_jar)
    owners_browser.session.cookie_jar.clear(lambda cookie: cookie.key == "cara_session")  # the session ends
    await guess_from_four_addresses(ctx, browsers)
    stranger = browsers("127.0.0.9")
    slowed = await stranger.log_in("ada", "right password")  # even with the password: no oracle for attackers
    assert slowed.status == 429
    assert 1 <= int(slowed.headers["Retry-After"]) <= 901
    assert "answers slowly" in await slowed.text()
    back = await owners_browser.log_in("ada", "right password")  # the owner's known browser is not slowed
    assert back.status == 303
    other = browsers("127.0.0.10")  # another account is untouched
    await sign_up(client, "bea", password="right password")
    assert (await other.log_in("bea", "right password")).status == 303


async def test_a_forged_known_cookie_does_not_exempt(client, ctx, browsers):
    await sign_up(client, "ada", password="right password")
    async with ctx.sessions() as session:
        ada = await session.scalar(select(Account).where(Account.username == "ada"))
    await guess_from_four_addresses(ctx, browsers)
    forger = browsers("127.0.0.9")
    forger.session.cookie_jar.update_cookies({login_throttle.KNOWN_COOKIE: f"{ada.id}.nonce.{'0' * 32}"},
                                             client.make_url("/"))
    assert (await forger.log_in("ada", "right password")).status == 429


async def test_signup_with_a_registered_email_answers_like_a_new_one(client, ctx, browsers):
    fresh = await sign_up(client, "ada", email="ada@example.org")
    client.session.cookie_jar.clear()
    again = await sign_up(client, "mallory", email="ada@example.org")  # probing whether ada@ has an account
    assert (again.status, again.headers["Location"]) == (fresh.status, "/@mallory")
    async with ctx.sessions() as session:
        emails = dict((await session.execute(select(Account.username, Account.email)
                                             .where(Account.username.in_(["ada", "mallory"])))).all())
    assert emails == {"ada": "ada@example.org", "mallory": None}  # created without the taken email
