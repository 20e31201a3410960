"""A crawler's view of the demo site: every page and image reachable from the home page carries every NoAI
signal (meta tags, headers, TDMRep policy, XMP read by Pillow and ExifTool), robots.txt shuts out every
listed AI crawler and lets ordinary crawlers in, and AI crawlers get 403 on images.

A real `cara-fed serve` (embedded SQLite and worker) seeded by `cara-fed demo`; plain HTTP, as a crawler sees it.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
import urllib.robotparser
from collections import deque
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest

from protection import read_xmp
from protection.crawlers import load_crawlers
from protection.mark import DMI_PROHIBITED
from tests.instance import Instance, running_instance
from tests.protection.exiftool import exiftool_xmp, require_exiftool
from web.noai import PRIVATE_PATHS

pytestmark = [pytest.mark.flow]

NOAI = "noai, noimageai"
POLICY = "https://policy.example/tdm-policy.json"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
MAX_URLS = 400
DIGITAL_CREATION = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCreation"


@dataclass
class Fetched:
    url: str
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip()


def fetch(url: str, agent: str = BROWSER) -> Fetched:
    request = urllib.request.Request(url, headers={"User-Agent": agent})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Fetched(url, response.status, {k.lower(): v for k, v in response.headers.items()}, response.read())
    except urllib.error.HTTPError as exc:
        return Fetched(url, exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read())


class Links(HTMLParser):
    """Every URL a crawler would follow: links, images, responsive sources."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if not value:
                continue
            if (tag, name) in {("a", "href"), ("img", "src"), ("link", "href"), ("source", "src")}:
                self.found.append(value)
            elif name == "srcset":
                self.found += [part.strip().split(" ")[0] for part in value.split(",") if part.strip()]


def crawl(base: str) -> dict[str, Fetched]:
    """Breadth-first over same-host GET links from the home page, bounded, as an anonymous visitor."""
    host = urllib.parse.urlsplit(base).netloc
    seen, queue, results = {base + "/"}, deque([base + "/"]), {}
    while queue and len(results) < MAX_URLS:
        url = queue.popleft()
        got = fetch(url)
        results[url] = got
        if got.content_type != "text/html":
            continue
        parser = Links()
        parser.feed(got.body.decode("utf-8", "replace"))
        for link in parser.found:
            absolute = urllib.parse.urljoin(url, link).split("#")[0]
            parts = urllib.parse.urlsplit(absolute)
            if parts.scheme in ("http", "https") and parts.netloc == host and absolute not in seen:
                seen.add(absolute)
                queue.append(absolute)
    assert not queue, f"the crawl stopped at {MAX_URLS} URLs; raise MAX_URLS if the demo grew"
    return results


@pytest.fixture
def demo_site(tmp_path: Path) -> Instance:
    with running_instance(tmp_path / "site", settings={"CARA_FED__PROTECTION__TDM_POLICY_URL": POLICY}) as site:
        seeded = site.cli("demo")
        assert "seeded the demo artist" in seeded.stdout, seeded.stdout + seeded.stderr
        yield site


def test_every_page_and_image_of_the_demo_site_carries_the_signals(demo_site: Instance, tmp_path: Path) -> None:
    exiftool = require_exiftool()
    results = crawl(demo_site.url)
    pages = {u: r for u, r in results.items() if r.content_type == "text/html"}
    media = {u: r for u, r in results.items() if urllib.parse.urlsplit(u).path.startswith("/media/")}
    paths = {urllib.parse.urlsplit(u).path for u in results}
    # The crawl reached every kind of public page and the images on them.
    assert {"/", "/@demo", "/about"} <= paths
    assert any(p.startswith("/@demo/projects/") for p in paths) and any(p.startswith("/tags/") for p in paths)
    assert sum(1 for p in paths if p.rsplit("/", 1)[-1].isdigit() and p.startswith("/@demo/")) >= 6
    assert len(media) >= 6 * 6, "every size and format of every demo artwork"

    for url, page in pages.items():
        assert page.status == 200, url
        html = page.body.decode()
        assert page.headers.get("x-robots-tag") == NOAI, url
        assert page.headers.get("tdm-reservation") == "1" and page.headers.get("tdm-policy") == POLICY, url
        assert '<meta name="robots" content="noai, noimageai">' in html, url
        assert '<meta name="tdm-reservation" content="1">' in html, url
        assert f'<meta name="tdm-policy" content="{POLICY}">' in html, url

    files = []
    for index, (url, image) in enumerate(sorted(media.items())):
        assert image.status == 200, url
        assert image.content_type in ("image/jpeg", "image/webp", "image/png"), url
        assert image.headers.get("x-robots-tag") == NOAI, url
        assert image.headers.get("tdm-reservation") == "1" and image.headers.get("tdm-policy") == POLICY, url
        xmp = read_xmp(image.body)
        assert f"<plus:DataMining>{DMI_PROHIBITED}</plus:DataMining>" in xmp, url
        assert DIGITAL_CREATION in xmp and "Mira Okafor (demo)" in xmp, url
        path = tmp_path / f"{index}.{url.rsplit('.', 1)[1]}"
        path.write_bytes(image.body)
        files.append(path)
    for path, tags in zip(files, exiftool_xmp(exiftool, files), strict=True):
        assert tags.get("XMP-plus:DataMining") == "DMI-PROHIBITED", (path.name, tags)
        assert tags.get("XMP-iptcExt:DigitalSourceType") == DIGITAL_CREATION, (path.name, tags)
        assert tags.get("XMP-dc:Creator") == "Mira Okafor (demo)" and "Mira Okafor" in tags.get("XMP-dc:Rights", "")
        assert tags.get("ExifTool:Validate") == "0 0 0", (path.name, tags)

    # robots.txt, parsed as crawlers parse it.
    robots = fetch(demo_site.url + "/robots.txt")
    assert robots.status == 200
    parser = urllib.robotparser.RobotFileParser()
    parser.parse(robots.body.decode().splitlines())
    crawlers = load_crawlers()
    for name in crawlers.names:
        for url in results:
            assert not parser.can_fetch(name, url), (name, url)
    for url in results:
        private = urllib.parse.urlsplit(url).path.startswith(PRIVATE_PATHS)
        for agent in ("Googlebot", BROWSER):
            assert parser.can_fetch(agent, url) is not private, (agent, url)

    # And the ones that ignore it: no images for them.
    sample = sorted(media)[0]
    for name in ("GPTBot", "CCBot", "img2dataset", "ClaudeBot"):
        refused = fetch(sample, agent=f"Mozilla/5.0 (compatible; {name}/1.0)")
        assert refused.status == 403 and b"AI crawler" in refused.body, name
    for document in ("/ai.txt", "/.well-known/tdmrep.json"):
        assert fetch(demo_site.url + document).status == 200, document
