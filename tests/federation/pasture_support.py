"""fediverse-pasture (https://codeberg.org/funfedidev/python_fediverse_pasture, PyPI `fediverse-pasture`) run in
this process, against our real inbox.

Nothing of pasture is re-implemented here: its own Quart apps (`one_actor`'s `app_for_data_provider` with the
image provider and assets blueprints, and `verify_actor`'s `build_app`) are served on a loopback port by
Hypercorn (what Quart's `app.run` uses), its actors and RSA keys come from its `DataProvider`, and activities
are built and signed by its `ActivitySender` / bovine's `BovineActor` (draft-cavage, what pasture sends).

Pasture's inputs (`fediverse-pasture-inputs`) name the pasture server `http://pasture-one-actor` (the docker
hostname); `localize()` points those URLs at the loopback server, which is the only change made to them.
"""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from PIL import Image

from tests.instance import free_port

PASTURE_HOST = "http://pasture-one-actor"  # how fediverse-pasture-inputs spell the pasture server
AP = "application/activity+json"
LOOPBACK = ("127.0.0.1", "::1")


def block_network(monkeypatch: Any) -> None:
    """Pasture's inputs name real hosts (funfedi.dev, mastodon.social, remote.example...). Nothing here may
    reach them: every name lookup by aiohttp (ours, pasture's, bovine's) and every TCP connection to an address
    other than loopback raises instead."""
    from aiohttp import resolver

    real_connect = socket.socket.connect

    def connect(sock: socket.socket, address: Any) -> None:
        if isinstance(address, tuple) and address[0] not in LOOPBACK:
            raise OSError(f"tests may not reach the network ({address[0]})")
        return real_connect(sock, address)

    async def refuse(self: Any, host: str, port: int = 0, family: int = socket.AF_INET) -> list:
        raise OSError(f"tests may not resolve {host} (only loopback addresses are used)")

    monkeypatch.setattr(socket.socket, "connect", connect)
    for cls in (resolver.AsyncResolver, resolver.ThreadedResolver):
        monkeypatch.setattr(cls, "resolve", refuse)


def localize(value: Any, base: str) -> Any:
    """Deep copy of an input with `http://pasture-one-actor` replaced by the loopback pasture server."""
    if isinstance(value, str):
        return value.replace(PASTURE_HOST, base)
    if isinstance(value, list):
        return [localize(item, base) for item in value]
    if isinstance(value, dict):
        return {key: localize(item, base) for key, item in value.items()}
    return value


def write_assets(directory: Path) -> Path:
    """Files the inputs expect under /assets/. Pasture downloads its real ones from inputs.funfedi.dev (a zip);
    tests must not reach the network, so the images are drawn here and the logo is pasture's own SVG. The
    others (cow_moo.mp3, cow_eating.mp4, note1.jsonap...) answer 404; nothing here needs them."""
    import fediverse_pasture

    directory.mkdir(parents=True, exist_ok=True)
    for name, size, kind in (("cow.jpg", (100, 162), "JPEG"), ("FediverseLogo.png", (64, 64), "PNG"),
                             ("nlnet.png", (80, 40), "PNG")):
        out = io.BytesIO()
        Image.new("RGB", size, (120, 90, 40)).save(out, kind)
        (directory / name).write_bytes(out.getvalue())
    (directory / "sample.txt").write_text("a text document, not an image\n")
    shutil.copy(Path(fediverse_pasture.__file__).parent / "templates" / "FediverseLogo.svg", directory)
    return directory


@dataclass
class PastureServer:
    """A pasture Quart app listening on 127.0.0.1:port."""

    app: Any
    port: int
    task: asyncio.Task | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@asynccontextmanager
async def serving(app: Any, port: int, ready_path: str = "/actor") -> AsyncIterator[PastureServer]:
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.graceful_timeout = 1
    server = PastureServer(app, port)
    server.task = asyncio.create_task(serve(app, config, shutdown_trigger=server.stop.wait))
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(200):  # poll until it answers (at most ~10 s)
                if server.task.done():
                    server.task.result()  # raises what stopped it
                try:
                    async with session.get(server.base + ready_path, headers={"Accept": AP}) as response:
                        if response.status < 500:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.05)
            else:
                raise RuntimeError(f"the pasture app did not answer on {server.base}")
        yield server
    finally:
        server.stop.set()
        await asyncio.wait_for(server.task, 10)


@asynccontextmanager
async def one_actor_server(assets: Path) -> AsyncIterator[tuple[PastureServer, Any]]:
    """What `python -m fediverse_pasture.one_actor --assets DIR` serves (without writing data.toml): the actor
    at /actor, images at /images/<name>, assets at /assets/<name>. Yields (server, DataProvider)."""
    from fediverse_pasture.data_provider import DataProvider
    from fediverse_pasture.server import assets_blueprint_for_directory
    from fediverse_pasture.server.image_provider_blueprint import image_provider_blueprint
    from fediverse_pasture.server.one_actor_app import app_for_data_provider

    data = DataProvider.generate(with_possible_actors=False)
    app = app_for_data_provider(data)
    app.register_blueprint(image_provider_blueprint, url_prefix="/images")
    app.register_blueprint(assets_blueprint_for_directory(str(assets)))
    async with serving(app, free_port()) as server:
        yield server, data


@asynccontextmanager
async def personas_server(extra: list[Any] = ()) -> AsyncIterator[tuple[PastureServer, Any]]:  # type: ignore[assignment]
    """verify_actor's personas (alice ... frank) and `actor`, served by pasture's BlueprintForActors exactly as
    `verify_actor.build_app` serves them, from freshly generated data (no data.toml), plus one_actor's image
    provider at /images/<name>. `extra` ActorData are served alongside. Yields (server, DataProvider)."""
    from fediverse_pasture.data_provider import DataProvider
    from fediverse_pasture.server import BlueprintForActors
    from fediverse_pasture.server.image_provider_blueprint import image_provider_blueprint
    from quart import Quart

    data = DataProvider.generate()
    app = Quart("pasture_personas")
    app.register_blueprint(BlueprintForActors(data.possible_actors + [data.one_actor, *extra]).blueprint)
    app.register_blueprint(image_provider_blueprint, url_prefix="/images")
    async with serving(app, free_port()) as server:
        yield server, data


@asynccontextmanager
async def verify_actor_server() -> AsyncIterator[tuple[PastureServer, Any]]:
    """`verify_actor`'s app (its six personas plus `actor`). build_app keeps its keys in ./data.toml: call it
    from a temporary working directory. Yields (server, DataProvider)."""
    from fediverse_pasture.data_provider import DataProvider
    from fediverse_pasture.verify_actor import build_app

    port = free_port()
    app = build_app(False, f"127.0.0.1:{port}", False, 20)
    async with serving(app, port, ready_path="/static/styles.css") as server:
        yield server, DataProvider.load()


@dataclass
class Sender:
    """One pasture actor as a sender: its bovine actor (keys from pasture's data) and pasture's ActivitySender."""

    actor_id: str
    bovine_actor: Any
    activity_sender: Any

    async def post(self, url: str, activity: dict) -> tuple[int, str]:
        """POST signed by bovine like pasture's verify_actor does, keeping our answer (status, body)."""
        response = await self.bovine_actor.client.post(url, json.dumps(activity))
        async with response:
            return response.status, await response.text()

    def activity(self, type_: str, object_: Any, **extra: Any) -> dict:
        factory = self.activity_sender.activity_factory
        builder = getattr(factory, type_.lower())(object_, id=self.activity_sender.make_id(activity=True), **extra)
        return builder.build()


async def sender_for(base: str, data: Any, session: aiohttp.ClientSession,
                     digest_method: Callable | None = None) -> Sender:
    """The pasture actor `data` (an ActorData) served at {base}/{actor_name}, ready to send."""
    from fediverse_pasture.data_provider import bovine_actor_for_actor_data
    from fediverse_pasture.runner import ActivitySender

    actor_id = f"{base}/{data.actor_name}"
    bovine_actor, actor_object = bovine_actor_for_actor_data(actor_id, data)
    if digest_method is not None:
        bovine_actor.digest_method = digest_method
    await bovine_actor.init(session=session)
    sender = ActivitySender.for_actor(bovine_actor, actor_object)
    sender.sleep_after_getting_inbox = False
    return Sender(actor_id, bovine_actor, sender)


# --- our side: what we answered ------------------------------------------------------------------


@dataclass
class Answer:
    method: str
    path: str
    status: int
    body: str


def recording_middleware(answers: list[Answer]) -> Callable:
    """Keeps every answer our app gives (status and JSON body), so refusals can be asserted and 5xx caught."""

    @web.middleware
    async def record(request: web.Request, handler: Callable) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            answers.append(Answer(request.method, request.path, exc.status, exc.text or ""))
            raise
        except Exception:
            answers.append(Answer(request.method, request.path, 500, "unhandled exception"))
            raise
        body = response.body if isinstance(response, web.Response) else b""
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else ""
        answers.append(Answer(request.method, request.path, response.status, text))
        return response

    return record
