"""The NoAI layer over real HTTP: robots.txt / ai.txt / tdmrep.json, page and media signals, the tdm-policy,
AI crawlers refused on media, the per-client media rate limit — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
import urllib.robotparser

import pytest
from aiohttp.test_utils import TestClient

from cara_fed.config import Config
from protection.crawlers import load_crawlers
from tests import images
from tests.conftest import csrf_from, sign_up
from tests.web.test_artworks import upload
from web.noai import RateLimiter

NOAI = "noai, noimageai"
POLICY = "https://policy.example/tdm.json"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
GPTBOT = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)"
MEDIA_RE = re.compile(r"/media/[0-9a-f]{2}/[0-9a-f]{32}\.(?:jpg|webp)")
META_ROBOTS = '<meta name="robots" content="noai, noimageai">'
META_TDM = '<meta name="tdm-reservation" content="1">'


async def make_client(config: Config, aiohttp_client, **protection) -> TestClient:  # type: ignore[no-untyped-def]
    from cara_fed_run.app import create_app

    for name, value in protection.items():
        setattr(config.protection, name, value)
    return await aiohttp_client(create_app(config, jobs="inline", migrate=True))


def robots_parser(text: str) -> urllib.robotparser.RobotFileParser:
    parser = urllib.robotparser.RobotFileParser()
    parser.parse(text.splitlines())
    return parser


async def test_robots_txt_shuts_out_every_listed_crawler_and_welcomes_browsers(config, aiohttp_client, tmp_path):
    extra_file = tmp_path / "more-crawlers.txt"
    extra_file.write_text("# ours\nPaintSuckerBot   # seen in our logs\n")
    client = await make_client(config, aiohttp_client, extra_ai_crawlers=["ScraperOne"],
                               ai_crawlers_file=str(extra_file))
    response = await client.get("/robots.txt")
    assert response.status == 200 and response.content_type == "text/plain"
    parser = robots_parser(await response.text())
    crawlers = load_crawlers(["ScraperOne"], extra_file)
    assert {"GPTBot", "CCBot", "Google-Extended", "ClaudeBot", "img2dataset", "ScraperOne", "PaintSuckerBot"} \
        <= set(crawlers.names)
    pages = ["/", "/@ada", "/@ada/1", "/tags/ink", "/about", "/media/ab/" + "0" * 32 + ".jpg"]
    for name in crawlers.names:
        for path in pages:
            assert not parser.can_fetch(name, f"http://test.example{path}"), (name, path)
    for agent in ("Googlebot", "Bingbot", BROWSER):
        for path in pages:
            assert parser.can_fetch(agent, f"http://test.example{path}"), (agent, path)
        for private in ("/settings", "/admin", "/upload", "/feed", "/artworks/3/edit", "/api/v1/accounts"):
            assert not parser.can_fetch(agent, f"http://test.example{private}"), (agent, private)


async def test_ai_txt_and_tdmrep_json(config, aiohttp_client):
    client = await make_client(config, aiohttp_client, tdm_policy_url=POLICY)
    ai = await client.get("/ai.txt")
    text = await ai.text()
    assert ai.status == 200 and text.startswith("# Spawning AI")
    assert "User-Agent: *" in text
    for rule in ("Disallow: *.jpg", "Disallow: *.png", "Disallow: *.webp", "Disallow: /media/", "Disallow: /"):
        assert rule in text.splitlines()

    response = await client.get("/.well-known/tdmrep.json")
    assert response.status == 200 and response.content_type == "application/json"
    rules = json.loads(await response.text())
    locations = {rule["location"] for rule in rules}
    assert {"/media/*", "/@*", "/"} <= locations
    assert all(rule["tdm-reservation"] == 1 and rule["tdm-policy"] == POLICY for rule in rules)
    assert all(rule["location"].startswith("/") for rule in rules)


async def test_pages_and_media_carry_every_signal_and_the_policy(config, aiohttp_client):
    client = await make_client(config, aiohttp_client, tdm_policy_url=POLICY)
    await sign_up(client, "ada")
    location = (await upload(client, [("a.jpg", images.jpeg(900, 600), "A ferry")])).headers["Location"]
    for path in ("/", location, "/@ada", "/tags/ink", "/about", "/no-such-page"):
        page = await client.get(path)
        html = await page.text()
        assert page.headers["X-Robots-Tag"] == NOAI, path
        assert page.headers["tdm-reservation"] == "1" and page.headers["tdm-policy"] == POLICY, path
        assert META_ROBOTS in html and META_TDM in html, path
        assert f'<meta name="tdm-policy" content="{POLICY}">' in html, path
    media_urls = set(MEDIA_RE.findall(await (await client.get(location)).text()))
    assert len(media_urls) >= 2
    for url in media_urls:
        media = await client.get(url, headers={"User-Agent": BROWSER})
        assert media.status == 200, url
        assert media.content_type == {"jpg": "image/jpeg", "webp": "image/webp"}[url.rsplit(".", 1)[1]], url
        assert media.headers["X-Robots-Tag"] == NOAI and media.headers["tdm-reservation"] == "1"
        assert media.headers["tdm-policy"] == POLICY
    # Anonymous visitors get the page cache's copy from the second visit on: the headers survive it.
    anonymous = await aiohttp_client(client.server)
    for _ in range(2):
        seen = await anonymous.get(location)
        assert seen.headers["X-Robots-Tag"] == NOAI and seen.headers["tdm-policy"] == POLICY
        assert f'<meta name="tdm-policy" content="{POLICY}">' in await seen.text()


async def test_artist_without_noai_gets_no_signals_until_a_page_shows_a_noai_work(config, aiohttp_client):
    client = await make_client(config, aiohttp_client)
    await sign_up(client, "bea")
    token = await csrf_from(client, "/settings")
    saved = await client.post("/settings", data={"csrf_token": token, "display_name": "Bea", "discoverable": "on"},
                              allow_redirects=False)
    assert saved.status in (200, 303), await saved.text()
    free = (await upload(client, [("f.jpg", images.jpeg(640, 480), "Free to mine")], noai="")).headers["Location"]
    page = await client.get(free)
    html = await page.text()
    assert "X-Robots-Tag" not in page.headers and "tdm-reservation" not in page.headers
    assert META_ROBOTS not in html and META_TDM not in html
    portfolio = await client.get("/@bea")
    assert "X-Robots-Tag" not in portfolio.headers and META_ROBOTS not in await portfolio.text()
    free_media = sorted(set(MEDIA_RE.findall(html)))
    for url in free_media:
        media = await client.get(url)
        assert media.status == 200 and "X-Robots-Tag" not in media.headers and "tdm-reservation" not in media.headers

    # One NoAI work: the portfolio and the free work's page (which lists it under "more") now show it.
    await upload(client, [("n.jpg", images.jpeg(640, 480, (20, 90, 200)), "Reserved")], title="Reserved", noai="on")
    for path in ("/@bea", free):
        page = await client.get(path)
        assert page.headers["X-Robots-Tag"] == NOAI and META_ROBOTS in await page.text(), path

    # The artist turns NoAI on for the free work: its files are re-stamped under new keys (a year of immutable
    # caching never served the unmarked bytes under a marked URL), and those carry the headers at once. The old
    # URLs, which pages rendered a moment ago still name, keep answering through the grace period: with the
    # NoAI headers from now on.
    work_id = free.rsplit("/", 1)[1]
    token = await csrf_from(client, f"/artworks/{work_id}/edit")
    edited = await client.post(f"/artworks/{work_id}/edit", data={
        "csrf_token": token, "title": "Night ferry", "description": "", "tags": "ink", "noai": "on",
        "license": "all-rights-reserved", "visibility": "public"}, allow_redirects=False)
    assert edited.status == 303, await edited.text()
    marked_media = sorted(set(MEDIA_RE.findall(await (await client.get(free)).text())))
    assert marked_media and not set(marked_media) & set(free_media)
    for url in free_media:
        media = await client.get(url)
        assert media.status == 200 and media.headers["X-Robots-Tag"] == NOAI, url
    for url in marked_media:
        media = await client.get(url)
        assert media.headers["X-Robots-Tag"] == NOAI and media.headers["tdm-reservation"] == "1"


@pytest.mark.parametrize("agent", [GPTBOT, "CCBot/2.0 (https://commoncrawl.org/faq/)",
                                   "Mozilla/5.0 (compatible; img2dataset; +https://github.com/rom1504/img2dataset)",
                                   "meta-externalagent/1.1 (+https://developers.facebook.com/docs/sharing/webmasters/crawler)",
                                   "Mozilla/5.0 (compatible; Bytespider; spider-feedback@bytedance.com)"])
async def test_ai_crawlers_get_403_on_media_with_a_reason(config, aiohttp_client, agent):
    if config.database_url.startswith("postgresql"):
        pytest.skip("the refusal happens before any database work; SQLite covers it")
    client = await make_client(config, aiohttp_client)
    await sign_up(client, "ada")
    location = (await upload(client, [("a.jpg", images.jpeg(640, 480), "A ferry")])).headers["Location"]
    url = MEDIA_RE.findall(await (await client.get(location)).text())[0]
    refused = await client.get(url, headers={"User-Agent": agent})
    assert refused.status == 403
    reason = await refused.text()
    assert "AI crawler" in reason and "robots.txt" in reason
    assert refused.headers["X-Robots-Tag"] == NOAI
    assert (await client.get(url, headers={"User-Agent": BROWSER})).status == 200
    # Pages stay reachable (robots.txt asks them to stay away; the 403 is for media only).
    assert (await client.get(location, headers={"User-Agent": agent})).status == 200


async def test_crawler_blocking_can_be_turned_off_and_media_is_rate_limited(config, aiohttp_client):
    client = await make_client(config, aiohttp_client, block_ai_crawlers_on_media=False, media_rate_limit_per_minute=3)
    await sign_up(client, "ada")
    location = (await upload(client, [("a.jpg", images.jpeg(640, 480), "A ferry")])).headers["Location"]
    url = MEDIA_RE.findall(await (await client.get(location)).text())[0]
    statuses = [(await client.get(url, headers={"User-Agent": GPTBOT})).status for _ in range(3)]
    assert statuses == [200, 200, 200]
    limited = await client.get(url)
    assert limited.status == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 20
    assert "slow down" in await limited.text()
    assert (await client.get(location)).status == 200  # pages are not limited by the media budget


def test_rate_limiter_refills_per_client() -> None:
    limiter = RateLimiter(per_minute=60)  # one a second, bursts of 60
    assert all(limiter.take("a", now=100.0) == 0.0 for _ in range(60))
    wait = limiter.take("a", now=100.0)
    assert 0.9 < wait <= 1.0
    assert limiter.take("b", now=100.0) == 0.0  # another client has its own bucket
    assert limiter.take("a", now=101.5) == 0.0  # refilled
    assert RateLimiter(per_minute=0).take("a") == 0.0  # 0 = no limit
    small = RateLimiter(per_minute=5, max_clients=3)
    for n, client in enumerate("wxyz"):
        assert small.take(client, now=float(n * 100)) == 0.0
    assert len(small._buckets) <= 3  # idle buckets are forgotten, memory stays bounded


# --- inbound: a remote work's NoAI markers keep the signals on our cached copy ----------------------


async def _ada_follows(client, peer, actor) -> None:  # type: ignore[no-untyped-def]
    """ada follows the peer's actor, who accepts (signed, through our inbox)."""
    from cara_fed.context import CONTEXT_KEY
    from cara_fed.queries import local_account
    from cara_fed.services import follows
    from federation.discovery import resolver
    from tests.federation.peer import signed_post

    ctx = client.server.app[CONTEXT_KEY]
    async with ctx.sessions() as session:
        ada = await local_account(session, "ada")
    follow = await follows.request_follow(ctx, ada, await resolver.fetch_actor(ctx, actor.id))
    accept = peer.activity(actor, "Accept", follow.uri)
    assert (await signed_post(client, ctx.url("/users/ada/inbox"), accept, key=actor)).status == 202


@pytest.mark.parametrize("marker", [{"xRobotsTag": "noai, noimageai"}, {"cara:noAI": True}, {}],
                         ids=["fep-5e53", "cara-ns", "none"])
async def test_inbound_noai_markers_survive_on_our_cached_copy(config, aiohttp_client, marker):
    from protection import read_xmp
    from tests.federation.peer import running_peer, signed_post

    if config.database_url.startswith("postgresql") and marker:
        pytest.skip("one marker on PostgreSQL (the unmarked case) is enough for the join in web/media.py")
    config.federation.allow_private_addresses = True  # the peer runs on loopback
    client = await make_client(config, aiohttp_client)
    await sign_up(client, "ada")
    async with running_peer() as peer:
        carol = peer.add_actor("carol")
        await _ada_follows(client, peer, carol)  # works from strangers are not stored (issue 12)
        context = ["https://www.w3.org/ns/activitystreams",
                   {"cara": "https://w3id.org/cara-fed/ns#", "xRobotsTag": "https://w3id.org/fep/5e53#xRobotsTag"}]
        note = {"id": f"{carol.id}/notes/1", "type": "Note", "attributedTo": carol.id,
                "to": ["https://www.w3.org/ns/activitystreams#Public"], "cc": [f"{config.base_url}/users/ada"],
                "name": "Lighthouse", "content": "<p>Lighthouse</p>",
                "attachment": [{"type": "Document", "mediaType": "image/jpeg", "name": "A lighthouse at night",
                                "url": peer.serve("/media/1.jpg", images.jpeg(900, 600), "image/jpeg")}], **marker}
        create = {**peer.activity(carol, "Create", note), "@context": context}
        response = await signed_post(client, f"{config.base_url}/inbox", create, key=carol)
        assert response.status == 202, await response.text()
        page = await client.get(f"/@carol@{peer.host}")
        assert page.status == 200
        links = re.findall(rf'href="(/@carol@{re.escape(peer.host)}/\d+)"', await page.text())
        assert links, "the remote work is listed on the remote profile"
        work = await client.get(links[0])
        html = await work.text()
        media_urls = set(MEDIA_RE.findall(html))
        assert media_urls and peer.host + "/media/" not in html  # our cached copies, not hotlinks
        for url in media_urls:
            media = await client.get(url)
            assert media.status == 200
            xmp = read_xmp(await media.read())
            assert xmp, "our cached copy carries our XMP packet"
            if marker:
                assert media.headers["X-Robots-Tag"] == NOAI and media.headers["tdm-reservation"] == "1"
                assert "DMI-PROHIBITED" in xmp
            else:
                assert "X-Robots-Tag" not in media.headers and "DMI-PROHIBITED" not in xmp
        if marker:
            assert work.headers["X-Robots-Tag"] == NOAI and META_ROBOTS in html
        else:
            assert "X-Robots-Tag" not in work.headers and META_ROBOTS not in html


def test_protection_settings_are_checked_with_clear_messages(tmp_path) -> None:
    from cara_fed.config import ConfigError, load_config

    good = load_config(environ={"CARA_FED__PROTECTION__EXTRA_AI_CRAWLERS": "FooBot, Bar-Bot",
                                "CARA_FED__PROTECTION__MEDIA_RATE_LIMIT_PER_MINUTE": "0"})
    assert good.protection.extra_ai_crawlers == ["FooBot", "Bar-Bot"]
    assert good.protection.block_ai_crawlers_on_media is True and good.protection.tdm_policy_url == ""
    bad_file = tmp_path / "bad.txt"
    bad_file.write_text("Two Words  # not a token\n")
    for environ, message in [
        ({"CARA_FED__PROTECTION__TDM_POLICY_URL": "ftp://x"}, "tdm_policy_url: 'ftp://x' is not an http(s) URL"),
        ({"CARA_FED__PROTECTION__AI_CRAWLERS_FILE": str(tmp_path / "nope")}, "is not a readable file"),
        ({"CARA_FED__PROTECTION__AI_CRAWLERS_FILE": str(bad_file)}, "line 1: 'Two Words' is not a user-agent token"),
        ({"CARA_FED__PROTECTION__MEDIA_RATE_LIMIT_PER_MINUTE": "-1"}, "the minimum is 0"),
    ]:
        with pytest.raises(ConfigError, match=re.escape(message)):
            load_config(environ=environ)
