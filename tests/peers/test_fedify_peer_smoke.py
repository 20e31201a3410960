"""The Fedify peer harness works on its own: two real Fedify peers follow each other and deliver a post."""

from __future__ import annotations

import io
import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from tests.peers.fedify_peer import running_fedify

pytestmark = pytest.mark.flow


def drawn_png() -> bytes:
    image = Image.new("RGB", (64, 48), "white")
    ImageDraw.Draw(image).ellipse((8, 8, 56, 40), fill="teal")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def test_two_fedify_peers_follow_and_deliver_a_post_with_an_image(tmp_path: Path) -> None:
    with running_fedify(tmp_path / "a") as a, running_fedify(tmp_path / "b", username="bob") as b:
        assert a.actor_id == f"http://127.0.0.1:{a.port}/users/alice"
        assert b.handle == f"bob@127.0.0.1:{b.port}"

        a.follow(b.actor_id)
        b.wait_for_follower(a.actor_id)  # B accepted automatically...
        a.wait_for_following(b.actor_id, state="accepted")  # ...and A got (and verified) the Accept
        assert any(act["type"] == "Follow" and act["actor"] == a.actor_id for act in b.inbox())

        png = drawn_png()
        image_url = b.add_media("circle.png", png, "image/png")
        note = b.post_note("<p>A teal circle</p>", attachments=[{"url": image_url, "mediaType": "image/png",
                                                                  "name": "a teal circle on white"}])

        create = a.wait_for_inbox(lambda act: act.get("type") == "Create")
        assert create["actor"] == b.actor_id
        obj = create["object"]
        assert obj["id"] == note["id"] and obj["type"] == "Note"
        assert obj["content"] == "<p>A teal circle</p>"
        attachment = obj["attachment"]
        attachment = attachment[0] if isinstance(attachment, list) else attachment
        assert attachment["url"] == image_url and attachment["mediaType"] == "image/png"
        assert attachment["name"] == "a teal circle on white"
        assert a.rejected() == []

        # The Create came signed and Fedify checked it; the image is served by the peer.
        entry = next(e for e in a.inbox_entries() if e["type"] == "Create")
        assert entry["key_id"].startswith(b.actor_id) and entry["signature"] in ("rfc9421", "draft-cavage")
        with urllib.request.urlopen(image_url, timeout=10) as response:
            assert response.read() == png

        # Unfollowing reaches B; nothing left the loopback interface.
        a.unfollow(b.actor_id)
        b.wait_for(lambda: a.actor_id not in b.followers(), what="the Undo to remove A from B's followers")
        assert a.requests()["blocked"] == [] and b.requests()["blocked"] == []


# --- our signature module against Fedify, through a minimal actor served from the test ------------------------

class MiniActor:
    """A bare ActivityPub actor on a loopback port: signs with `federation.signatures`, verifies what Fedify sends."""

    def __init__(self, *, refuse_rfc9421: bool = False) -> None:
        from federation.signatures import generate_key_pair

        self.private_pem, self.public_pem = generate_key_pair()
        self.refuse_rfc9421 = refuse_rfc9421
        self.received: list[tuple[str, str, dict]] = []  # (method, signature scheme, body or {})
        self.refused: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.id = f"{self.base}/users/mini"
        self.key_id = f"{self.id}#main-key"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def document(self) -> dict:
        return {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": self.id, "type": "Person", "preferredUsername": "mini",
            "inbox": f"{self.id}/inbox", "outbox": f"{self.id}/outbox", "followers": f"{self.id}/followers",
            "publicKey": {"id": self.key_id, "owner": self.id, "publicKeyPem": self.public_pem},
        }

    def post(self, inbox: str, activity: dict, *, sign: bool = True) -> int:
        from federation.signatures import sign_request

        body = json.dumps(activity).encode()
        headers = {"Content-Type": "application/activity+json"}
        if sign:
            headers |= sign_request("POST", inbox, headers, body, self.key_id, self.private_pem)
        request = urllib.request.Request(inbox, data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def _verify(self, method: str, path: str, headers: dict[str, str], body: bytes | None) -> str:
        from federation.signatures import parse_signature, verify_request

        url = self.base + path
        info = parse_signature(method, url, headers)
        key_request = urllib.request.Request(info.key_id, headers={"Accept": "application/activity+json"})
        with urllib.request.urlopen(key_request, timeout=30) as response:
            pem = json.loads(response.read())["publicKey"]["publicKeyPem"]
        return verify_request(method, url, headers, body, pem).scheme

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        actor = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self, status: int, payload: dict | None = None) -> None:
                data = json.dumps(payload).encode() if payload is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/activity+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _checked(self, body: bytes | None) -> str | None:
                try:
                    scheme = actor._verify(self.command, self.path, dict(self.headers.items()), body)
                except Exception as exc:  # noqa: BLE001 - any failure is a 401 to the peer
                    actor.refused.append(f"{self.command} {self.path}: {exc}")
                    return None
                if scheme == "rfc9421" and actor.refuse_rfc9421:
                    actor.refused.append(f"{self.command} {self.path}: rfc9421 refused on purpose")
                    return None
                return scheme

            def do_GET(self) -> None:  # noqa: N802
                if self.path != "/users/mini":
                    return self._answer(404)
                # Like most servers, serve the actor to anyone; just note whether its signature verified.
                try:
                    scheme = actor._verify("GET", self.path, dict(self.headers.items()), None)
                except Exception as exc:  # noqa: BLE001
                    scheme = f"unverified: {exc}"
                actor.received.append(("GET", scheme, {}))
                self._answer(200, actor.document())

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                scheme = self._checked(body)
                if scheme is None:
                    return self._answer(401, {"error": "signature"})
                actor.received.append(("POST", scheme, json.loads(body)))
                self._answer(202)

        return Handler

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("refuse_rfc9421", [False, True], ids=["rfc9421", "double-knock-to-cavage"])
def test_fedify_and_our_signatures_verify_each_other(tmp_path: Path, refuse_rfc9421: bool) -> None:
    mini = MiniActor(refuse_rfc9421=refuse_rfc9421)
    try:
        with running_fedify(tmp_path) as peer:
            # Fedify verifies our draft-cavage signature on a Follow and answers with a signed Accept.
            follow = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{mini.base}/follows/1",
                      "type": "Follow", "actor": mini.id, "object": peer.actor_id}
            assert mini.post(peer.inbox_url, follow) == 202
            entry = peer.wait_for(lambda: next((e for e in peer.inbox_entries() if e["type"] == "Follow"), None))
            assert entry["signature"] == "draft-cavage" and entry["key_id"] == mini.key_id
            peer.wait_for_follower(mini.id)

            def accepted() -> dict | None:
                return next((body for method, _, body in mini.received if body.get("type") == "Accept"), None)

            accept = peer.wait_for(accepted, what="the Accept at the minimal actor")
            assert accept["actor"] == peer.actor_id
            assert accept["object"] == follow["id"] or accept["object"]["id"] == follow["id"]
            post_schemes = {scheme for method, scheme, _ in mini.received if method == "POST"}
            # Fedify knocks with RFC 9421 first and falls back to draft-cavage after a 4xx.
            assert post_schemes == ({"draft-cavage"} if refuse_rfc9421 else {"rfc9421"})
            assert not refuse_rfc9421 or any("rfc9421 refused" in line for line in mini.refused)
            if not refuse_rfc9421:
                assert mini.refused == []
            # It fetched our actor with signed GETs; ours verifies the one for the actor id (the key fetch for
            # `…#main-key` signs an @target-uri with the fragment, which no server can see: see README).
            assert ("GET", "rfc9421", {}) in mini.received

            # A POST without a signature, or signed by a key that is not the actor's, is refused.
            forged = {**follow, "id": f"{mini.base}/follows/2", "type": "Like", "object": f"{peer.actor_id}/x"}
            assert mini.post(peer.inbox_url, forged, sign=False) == 401
            impostor = {**forged, "id": f"{mini.base}/follows/3", "actor": peer.actor_id}
            assert mini.post(peer.inbox_url, impostor) == 401
            assert [e["type"] for e in peer.inbox_entries()] == ["Follow"]
            assert peer.rejected()[0]["id"] == forged["id"]
    finally:
        mini.close()
