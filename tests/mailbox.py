"""A real SMTP server (aiosmtpd) on loopback that keeps what it receives, for the account-email tests."""

from __future__ import annotations

import asyncio
import email
import re
import socket
import time
from dataclasses import dataclass, field
from email.message import Message

from aiosmtpd.controller import Controller

LINK_RE = re.compile(r"https?://[^/\s]+(/\S+)")


@dataclass
class Received:
    to: list[str]
    message: Message

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        payload = self.message.get_payload(decode=True)
        assert isinstance(payload, bytes)
        return payload.decode()

    def link_path(self) -> str:
        """The path of the one link in the mail (to open it on the test server)."""
        found = LINK_RE.findall(self.body)
        assert found, f"no link in {self.body!r}"
        return found[0]


@dataclass
class Mailbox:
    received: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]  # noqa: N802
        self.received.append(Received(list(envelope.rcpt_tos), email.message_from_bytes(envelope.original_content)))
        return "250 Message accepted"

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.to]

    async def wait_for(self, address: str, count: int = 1, within: float = 10.0) -> list[Received]:
        """Poll (the worker may send later) until `address` has `count` mails."""
        deadline = time.monotonic() + within
        while len(self.to(address)) < count:
            assert time.monotonic() < deadline, f"no mail to {address} within {within}s: {self.received}"
            await asyncio.sleep(0.05)
        return self.to(address)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpServer:
    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.mailbox = Mailbox()
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
