"""docs/deploy.md, run: Debian's nginx with the documented proxy block in front of `cara-fed serve`
(trusted_proxies = nginx's address). Visitors on their own loopback addresses get their own rate-limit
budgets whatever X-Forwarded-For they forge, nginx's request id reaches our access log and response, health
answers through the proxy, /metrics stays inside, and signed deliveries verify through the proxy (also on a
public address with a port: signatures cover Host)."""

from __future__ import annotations

import http.client
import json
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import pytest

from federation.signatures import sign_request
from tests.federation.peer import AP, rfc9421_headers, running_peer
from tests.instance import free_port, running_instance

pytestmark = pytest.mark.flow
DOC = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
MEDIA = "/media/ab/" + "0" * 32 + ".jpg"


def proxy_block() -> str:
    """The tested part of docs/deploy.md, verbatim."""
    text = DOC.read_text()
    section = text.split("<!-- cara-fed-proxy:start -->", 1)[1].split("<!-- cara-fed-proxy:end -->", 1)[0]
    match = re.search(r"```nginx\n(.*?)```", section, re.S)
    assert match, "docs/deploy.md lost its proxy block"
    return match.group(1)


def nginx_conf(root: Path, listen: int, upstream: int) -> str:
    block = proxy_block()
    assert "proxy_pass http://127.0.0.1:8080;" in block
    block = block.replace("127.0.0.1:8080", f"127.0.0.1:{upstream}")
    temp = "\n".join(f"{kind}_temp_path {root / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                      "scgi"))
    return f"""daemon off;
worker_processes 1;
pid {root / 'nginx.pid'};
error_log {root / 'error.log'} info;
events {{ worker_connections 256; }}
http {{
    access_log {root / 'access.log'};
    {temp}
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      close;
    }}
    server {{
        listen 127.0.0.1:{listen};
        server_name _;
{block}
    }}
}}
"""


def get(port: int, path: str, source: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    """A request from a chosen loopback address (each one a different visitor)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def wait_for_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


@contextmanager
def nginx_in_front(root: Path, port: int, upstream: int) -> Iterator[None]:
    with running_nginx(root, nginx_conf(root, port, upstream), port):
        yield


@contextmanager
def running_nginx(root: Path, conf: str, port: int) -> Iterator[None]:
    """Debian's nginx with `conf` in `root` (its prefix), until it listens on `port`; stopped gracefully."""
    root.mkdir()
    (root / "nginx.conf").write_text(conf)
    nginx = subprocess.Popen([NGINX, "-p", str(root), "-c", str(root / "nginx.conf"), "-e",
                              str(root / "error.log")], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port)
        yield
    finally:
        nginx.send_signal(signal.SIGQUIT)
        try:
            nginx.wait(timeout=10)
        except subprocess.TimeoutExpired:
            nginx.kill()
            nginx.wait()


needs_nginx = pytest.mark.skipif(not Path(NGINX).exists(), reason="needs Debian's nginx (apt-get install nginx)")


@needs_nginx
async def test_signed_deliveries_verify_through_the_proxy_on_a_public_port(tmp_path: Path) -> None:
    """The public address is nginx's, with a port (as for an instance on :8443). Both signature schemes cover
    the Host (cavage's `host`, RFC 9421's `@authority`), so the proxy must pass it on with its port."""
    port = free_port()
    settings = {"CARA_FED__SERVER__TRUSTED_PROXIES": "127.0.0.1", "CARA_FED__SERVER__DOMAIN": f"127.0.0.1:{port}"}
    async with running_peer() as peer:
        with running_instance(tmp_path / "cara", settings=settings) as instance, \
                nginx_in_front(tmp_path / "nginx", port, instance.port):
            instance.cli("createuser", "ada", "--email", "ada@example.org", "--password", "artist password 1")
            inbox = f"http://127.0.0.1:{port}/users/ada/inbox"
            alice = peer.add_actor("alice")
            async with aiohttp.ClientSession() as session:
                for scheme in ("cavage", "rfc9421"):
                    follow = peer.activity(alice, "Follow", f"http://127.0.0.1:{port}/users/ada")
                    body = json.dumps(follow).encode()
                    headers = {"Content-Type": AP}
                    if scheme == "rfc9421":
                        headers.update(rfc9421_headers("POST", inbox, body, alice.key_id, alice.private_pem))
                    else:
                        headers.update(sign_request("POST", inbox, {}, body, alice.key_id, alice.private_pem))
                    async with session.post(inbox, data=body, headers=headers) as response:
                        assert response.status == 202, (scheme, response.status, await response.text())


@needs_nginx
def test_the_documented_nginx_site_in_front(tmp_path: Path) -> None:
    settings = {"CARA_FED__SERVER__TRUSTED_PROXIES": "127.0.0.1",
                "CARA_FED__PROTECTION__MEDIA_RATE_LIMIT_PER_MINUTE": "3"}
    port = free_port()
    with running_instance(tmp_path / "cara", settings=settings) as instance, \
            nginx_in_front(tmp_path / "nginx", port, instance.port):
        live = get(port, "/livez", "127.0.0.2")
        assert live.status == 200
        # nginx's $request_id (32 hex digits) is ours too: in the response and in our access log.
        request_id = live.getheader("X-Request-Id")
        assert request_id and re.fullmatch(r"[0-9a-f]{32}", request_id), request_id
        ready = get(port, "/readyz", "127.0.0.2")
        assert ready.status == 200

        # Each visitor has its own media budget; a forged X-Forwarded-For does not buy a new one.
        forged = [{"X-Forwarded-For": f"198.51.100.{n}"} for n in range(5)]
        statuses = [get(port, MEDIA, "127.0.0.2", forged[n]).status for n in range(4)]
        assert statuses == [404, 404, 404, 429], statuses
        assert get(port, MEDIA, "127.0.0.3").status == 404
        assert get(port, MEDIA, "127.0.0.2", forged[4]).status == 429

        # Metrics: not through the proxy; directly on loopback, yes.
        assert get(port, "/metrics", "127.0.0.2").status == 404
        direct = http.client.HTTPConnection("127.0.0.1", instance.port, timeout=10)
        direct.request("GET", "/metrics")
        metrics = direct.getresponse()
        text = metrics.read().decode()
        assert metrics.status == 200
        assert re.search(r'cara_fed_http_request_duration_seconds_count\{method="GET",route="/livez",'
                         r'status="200"\} 1\.0', text)

        log = instance.log()
        assert f"cara_fed.access [{request_id}]: 127.0.0.2 GET /livez 200 " in log, log[-2000:]
        assert "127.0.0.3 GET " + MEDIA + " 404" in log
        assert "198.51.100." not in log  # forged addresses never stand for the client
        assert re.search(r"127\.0\.0\.2 GET " + re.escape(MEDIA) + " 429", log)
