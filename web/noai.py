"""The NoAI layer's HTTP side: robots.txt, ai.txt, /.well-known/tdmrep.json, the tdm-policy header, and the
media guard (listed AI crawlers get 403, every client address is rate limited).

Which user agents are AI crawlers is decided by protection/crawlers.py (the maintained data file plus the
admin's additions); this module only speaks HTTP. These signals are a legal and preference notice that
well-behaved crawlers and data-set tools respect; the 403 and the rate limit only raise the cost for the rest.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from cara_fed.context import CONTEXT_KEY, Context
from cara_fed.observe import client_address
from cara_fed.ratelimit import SharedLimiter, shared_limiter
from protection.crawlers import CrawlerList, load_crawlers
from web.render import NOAI_ROBOTS

routes = web.RouteTableDef()
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Owner-only and account pages: useless to any crawler. Public pages and /media/ stay open to search engines.
PRIVATE_PATHS = ("/admin", "/settings", "/upload", "/feed", "/follow", "/artworks/", "/projects/", "/accounts/",
                 "/login", "/signup", "/logout", "/oauth/", "/api/", "/inbox", "/actor")
# ai.txt (Spawning's format: robots.txt grammar over file types) — every kind of work an artist might post.
AI_TXT_TYPES = {
    "images": ("jpg", "jpeg", "png", "webp", "avif", "gif", "heic", "heif", "tif", "tiff", "bmp", "svg", "psd"),
    "text": ("txt", "html", "htm", "md", "json", "pdf", "epub"),
    "audio and video": ("mp3", "wav", "flac", "ogg", "m4a", "mp4", "webm", "mov", "mkv"),
    "code": ("py", "js", "css"),
}


class RateLimiter:
    """A token bucket per client: bursts up to `per_minute`, refilled at per_minute/60 a second."""

    def __init__(self, per_minute: int, max_clients: int = 100_000, shared: SharedLimiter | None = None) -> None:
        self.shared = shared  # Redis-backed, counted across processes ([cache] redis_url)
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.max_clients = max_clients
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, monotonic time of last take)

    def take(self, client: str, now: float | None = None) -> float:
        """Spend one token: 0.0 if allowed, else the seconds until one is available."""
        if self.capacity <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.get(client, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        if tokens < 1.0:
            self._buckets[client] = (tokens, now)
            return (1.0 - tokens) / self.rate
        if len(self._buckets) >= self.max_clients and client not in self._buckets:
            self._prune(now)
        self._buckets[client] = (tokens - 1.0, now)
        return 0.0

    async def wait(self, client: str) -> float:
        """What take() says, counted across every process when Redis is configured."""
        if self.shared is not None:
            return await self.shared.take(client)
        return self.take(client)

    def _prune(self, now: float) -> None:
        # A bucket idle for a minute is full again: forgetting it changes nothing.
        self._buckets = {c: v for c, v in self._buckets.items() if now - v[1] < 60.0}
        if len(self._buckets) >= self.max_clients:
            self._buckets.clear()


CRAWLERS = web.AppKey("noai_crawlers", CrawlerList)
LIMITER = web.AppKey("noai_media_limiter", RateLimiter)
FILES = web.AppKey("noai_files", dict)
NOAI_CACHE = web.AppKey("noai_media_cache", dict)  # web/media.py: derivative key -> who may open it, NoAI?


# --- the documents ---------------------------------------------------------------------------------


def robots_txt(crawlers: CrawlerList, domain: str) -> str:
    lines = [f"# robots.txt for {domain} (cara-fed).",
             "# The artists here reserve their work from AI training and text and data mining",
             "# (see /ai.txt, /.well-known/tdmrep.json and the X-Robots-Tag: noai, noimageai headers).",
             "", "# Known AI crawlers: nothing, anywhere."]
    lines += [f"User-agent: {name}" for name in crawlers.names]
    lines += ["Disallow: /", "", "# Everyone else: public pages and images are welcome; account pages are not."]
    lines += ["User-agent: *"] + [f"Disallow: {path}" for path in PRIVATE_PATHS] + ["Allow: /", ""]
    return "\n".join(lines)


def ai_txt(crawlers: CrawlerList, domain: str) -> str:
    lines = ["# Spawning AI", "# Prevent datasets from using the following file types", f"# ({domain}, cara-fed: "
             "the artists here reserve their work from AI training and text and data mining.)", "",
             "User-Agent: *"]
    for kind, extensions in AI_TXT_TYPES.items():
        lines.append(f"# {kind}")
        lines += [f"Disallow: *.{ext}" for ext in extensions]
    lines += ["Disallow: /media/", "Disallow: /", "Disallow: *", ""]
    lines += ["# Known AI crawlers, by name as well."] + [f"User-Agent: {name}" for name in crawlers.names]
    lines += ["Disallow: /", ""]
    return "\n".join(lines)


def tdmrep(policy_url: str) -> list[dict]:
    """W3C TDMRep rules: the reservation covers every page and every image (first matching rule applies)."""
    rule = {"tdm-reservation": 1, **({"tdm-policy": policy_url} if policy_url else {})}
    return [{"location": location, **rule} for location in ("/media/*", "/@*", "/tags/*", "/", "/*")]


# --- wiring ----------------------------------------------------------------------------------------


def setup_noai(app: web.Application, ctx: Context) -> None:
    """Build the crawler list and the documents once at start-up (a bad admin list fails start-up loudly)."""
    protection = ctx.config.protection
    crawlers = load_crawlers(protection.extra_ai_crawlers, protection.ai_crawlers_file or None)
    domain = ctx.config.server.domain
    app[CRAWLERS] = crawlers
    app[LIMITER] = RateLimiter(protection.media_rate_limit_per_minute, shared=shared_limiter(
        ctx.config, "media", protection.media_rate_limit_per_minute, 60))
    app[NOAI_CACHE] = {}
    app[FILES] = {"robots": robots_txt(crawlers, domain), "ai": ai_txt(crawlers, domain),
                  "tdmrep": json.dumps(tdmrep(protection.tdm_policy_url), indent=2)}
    app.middlewares.insert(0, tdm_policy_header)  # outermost: error pages and media get it too
    app.router.add_routes(routes)


async def refuse_media(request: web.Request) -> web.Response | None:
    """403 for a listed AI crawler, 429 past the client's rate; None to go on serving."""
    config = request.app[CONTEXT_KEY].config.protection
    if config.block_ai_crawlers_on_media:
        crawler = request.app[CRAWLERS].match(request.headers.get("User-Agent"))
        if crawler is not None:
            return web.Response(status=403, text=(
                f"{crawler} is a known AI crawler. The artists on this server reserve their work from AI training "
                "and text and data mining, so images are not served to it (see /robots.txt and "
                "/.well-known/tdmrep.json).\n"), headers={"X-Robots-Tag": NOAI_ROBOTS, "tdm-reservation": "1"})
    wait = await request.app[LIMITER].wait(client_address(request))
    if wait > 0:
        return web.Response(status=429, text="Too many image requests from your address. Please slow down.\n",
                            headers={"Retry-After": str(max(1, math.ceil(wait)))})
    return None


@web.middleware
async def tdm_policy_header(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Wherever a response reserves TDM rights, name the admin's policy too (TDMRep `tdm-policy`)."""
    response = await handler(request)
    policy = request.app[CONTEXT_KEY].config.protection.tdm_policy_url
    if policy and response.headers.get("tdm-reservation") == "1" and not response.prepared:
        response.headers.setdefault("tdm-policy", policy)
    return response


def _text(request: web.Request, name: str, content_type: str = "text/plain") -> web.Response:
    return web.Response(text=request.app[FILES][name], content_type=content_type,
                        headers={"Cache-Control": "public, max-age=3600"})


@routes.get("/robots.txt", name="robots_txt")
async def robots(request: web.Request) -> web.Response:
    return _text(request, "robots")


@routes.get("/ai.txt", name="ai_txt")
async def ai(request: web.Request) -> web.Response:
    return _text(request, "ai")


@routes.get("/.well-known/tdmrep.json", name="tdmrep")
async def tdmrep_json(request: web.Request) -> web.Response:
    return _text(request, "tdmrep", "application/json")
