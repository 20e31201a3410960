"""Page throughput, cached and uncached, beside two ceilings measured in the same run (issue 15).

Starts two real `cara-fed serve` processes on one demo data dir (embedded SQLite): one with the page cache on,
one with it off ([cache] page_seconds = 0). For the portfolio (/@demo), an artwork page and the home page it
loads, with wrk:
  - cached anonymous      (page cache on: a dictionary lookup)
  - uncached anonymous    (page cache off: every request queries and renders)
  - uncached signed-in    (the demo artist's own session on the instance with the page cache off)
  - signed-in visitor     (another account's session, page cache on: the page's viewer-neutral skeleton is
                           cached and the visitor's header and buttons filled in per request, web/viewer_pages.py)
  - uncached visitor      (the same visitor with the page cache off: every request queries and renders)
  - Jinja2 render ceiling (a bare aiohttp app rendering a Jinja2 template of the same page: every text node is a
                           variable, autoescaped, so the render writes the same bytes with per-value escaping)
  - static ceiling        (a bare aiohttp app answering the same bytes)
Each case runs `--rounds` times, interleaved so machine noise hits all alike; medians are printed, and the
uncached ratios against the Jinja2 ceiling (goal >= 0.3). wrk is required (a Python load generator would be the
bottleneck). Usage:
    .venv/bin/python bench/portfolio_page.py [--seconds 5] [--rounds 3] [--connections 32] [--pages portfolio,...]
"""

from __future__ import annotations

import argparse
import html as htmllib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jinja2 import Environment  # noqa: E402

from bench.wrk_lua import require_wrk  # noqa: E402
from tests.instance import free_port, running_instance  # noqa: E402

CEILING_SERVER = """
import sys
from aiohttp import web
from jinja2 import Environment
from markupsafe import Markup
import json
pages = json.load(open(sys.argv[1]))
env = Environment(autoescape=True)
static, rendered = {}, {}
for path, page in pages.items():
    static[path] = page["html"].encode()
    rendered[path] = (env.from_string(page["template"]), page["texts"])
async def flat(request):
    return web.Response(body=static["/" + request.match_info["path"]], content_type="text/html")
async def jinja(request):
    template, texts = rendered["/" + request.match_info["path"]]
    return web.Response(text=template.render(t=texts), content_type="text/html")
app = web.Application()
app.router.add_get("/static-ceiling/{path:.*}", flat)
app.router.add_get("/jinja-ceiling/{path:.*}", jinja)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[2]), print=None, access_log=None)
"""
TEXT = re.compile(r">([^<]+)<")
VISITOR_PASSWORD = "bench visitor password"


def _literal(markup: str) -> str:
    return "{% raw %}" + markup + "{% endraw %}" if "{" in markup else markup


def as_template(page: str) -> tuple[str, list[str]]:
    """The page as a Jinja2 template whose text nodes are autoescaped variables (same output size, or nearly)."""
    texts: list[str] = []
    parts: list[str] = []
    end = 0
    for match in TEXT.finditer(page):
        parts.append(_literal(page[end:match.start(1)]))
        texts.append(htmllib.unescape(match.group(1)))
        parts.append(f"{{{{ t[{len(texts) - 1}] }}}}")
        end = match.end(1)
    parts.append(_literal(page[end:]))
    source = "".join(parts)
    return source, texts


def wrk(url: str, seconds: int, connections: int, cookie: str = "") -> float:
    headers = ["-H", f"Cookie: {cookie}"] if cookie else []
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", *headers, url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not match or "Non-2xx" in out or re.search(r"Socket errors: connect [1-9]|read [1-9]|write [1-9]", out):
        raise RuntimeError(f"wrk run failed on {url}:\n{out}")
    return float(match.group(1))


def wait_up(url: str) -> None:
    for _ in range(100):
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def fetch(url: str, cookie: str = "") -> bytes:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(request) as response:
        return response.read()


def sign_in(base: str, login: str = "demo", password: str = "demo-password") -> str:
    """The session cookie (`name=value`) of the demo artist, or of another account."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    with opener.open(base + "/login") as response:
        token = re.search(r'name="csrf_token" value="([^"]+)"', response.read().decode()).group(1)  # type: ignore[union-attr]
    data = urllib.parse.urlencode({"csrf_token": token, "login": login, "password": password}).encode()
    opener.open(base + "/login", data=data).read()
    jar = next(h for h in opener.handlers if isinstance(h, urllib.request.HTTPCookieProcessor)).cookiejar
    session = next((c for c in jar if c.name == "cara_session"), None)
    if session is None:
        raise RuntimeError("login failed: no session cookie")
    return f"{session.name}={session.value}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--pages", default="portfolio,artwork,home")
    args = parser.parse_args()
    require_wrk("bench/portfolio_page.py")
    wanted = args.pages.split(",")
    results: dict[tuple[str, str], list[float]] = {}
    sizes: dict[str, tuple[int, int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = str(root / "data")
        env = {**os.environ, "CARA_FED__SERVER__DATA_DIR": data}
        subprocess.run([sys.executable, "-m", "cara_fed_run.cli", "demo"], env=env, cwd=root, check=True,
                       capture_output=True)
        subprocess.run([sys.executable, "-m", "cara_fed_run.cli", "createuser", "visitor", "--email",
                        "visitor@bench.example", "--password", VISITOR_PASSWORD], env=env, cwd=root, check=True,
                       capture_output=True)
        with running_instance(root / "cached", settings={"CARA_FED__SERVER__DATA_DIR": data}) as cached, \
                running_instance(root / "uncached", settings={"CARA_FED__SERVER__DATA_DIR": data,
                                                              "CARA_FED__CACHE__PAGE_SECONDS": "0",
                                                              "CARA_FED__JOBS__EMBEDDED_WORKER": "false"}) as bare:
            for _ in range(300):  # the demo images are processed by the cached instance's embedded worker
                if b"Processing" not in fetch(cached.url + "/@demo"):
                    break
                time.sleep(0.2)
            work = re.search(rb'href="/@demo/(\d+)"', fetch(cached.url + "/@demo")).group(1).decode()  # type: ignore[union-attr]
            paths = {"portfolio": "/@demo", "artwork": f"/@demo/{work}", "home": "/"}
            paths = {name: path for name, path in paths.items() if name in wanted}
            cookie = sign_in(bare.url)
            visitor = sign_in(cached.url, "visitor", VISITOR_PASSWORD)
            bare_visitor = sign_in(bare.url, "visitor", VISITOR_PASSWORD)
            pages = {}
            for path in paths.values():
                page = fetch(bare.url + path).decode()
                template, texts = as_template(page)
                pages[path] = {"html": page, "template": template, "texts": texts}
            (root / "pages.json").write_text(json.dumps(pages))
            port = free_port()
            ceiling = subprocess.Popen([sys.executable, "-c", CEILING_SERVER, str(root / "pages.json"), str(port)])
            try:
                ceiling_url = f"http://127.0.0.1:{port}"
                wait_up(ceiling_url + "/static-ceiling" + next(iter(paths.values())))  # any page it serves
                for name, path in paths.items():
                    rendered = Environment(autoescape=True).from_string(pages[path]["template"]).render(
                        t=pages[path]["texts"])
                    sizes[name] = (len(pages[path]["html"].encode()), len(rendered.encode()))
                cases = {
                    "cached anonymous": lambda path: (cached.url + path, ""),
                    "uncached anonymous": lambda path: (bare.url + path, ""),
                    "uncached signed-in": lambda path: (bare.url + path, cookie),
                    "signed-in visitor": lambda path: (cached.url + path, visitor),
                    "uncached visitor": lambda path: (bare.url + path, bare_visitor),
                    "jinja2 ceiling": lambda path: (ceiling_url + "/jinja-ceiling" + path, ""),
                    "static ceiling": lambda path: (ceiling_url + "/static-ceiling" + path, ""),
                }
                for path in paths.values():  # warm-up: fill the cache, compile templates
                    for case in cases.values():
                        wrk(*case(path)[:1], 1, args.connections, case(path)[1])
                for _ in range(args.rounds):
                    for name, path in paths.items():
                        for case, target in cases.items():
                            url, sent_cookie = target(path)
                            results.setdefault((name, case), []).append(
                                wrk(url, args.seconds, args.connections, sent_cookie))
            finally:
                ceiling.terminate()
                ceiling.wait()
    print(f"wrk -t1 -c{args.connections}, {args.rounds} rounds x {args.seconds}s, medians; "
          f"load average after: {os.getloadavg()[0]:.2f}")
    for name in paths:
        page_bytes, template_bytes = sizes[name]
        jinja = statistics.median(results[(name, "jinja2 ceiling")])
        print(f"\n{name} {paths[name]} ({page_bytes:,} bytes; ceiling template renders {template_bytes:,})")
        for case in ("cached anonymous", "uncached anonymous", "uncached signed-in", "uncached visitor",
                     "signed-in visitor", "jinja2 ceiling", "static ceiling"):
            rounds = results[(name, case)]
            median = statistics.median(rounds)
            ratio = f"  ratio to jinja2 ceiling {median / jinja:.2f}" if "ceiling" not in case else ""
            print(f"  {case:20} {median:8,.0f} req/s (rounds: {', '.join(f'{r:,.0f}' for r in rounds)}){ratio}")
    print("\ngoal: uncached (anonymous and signed-in) >= 0.30 of the jinja2 ceiling")
    print("(signed-in visitor: the page cache on, as deployed; only the artist's own view is always rendered)")


if __name__ == "__main__":
    main()
