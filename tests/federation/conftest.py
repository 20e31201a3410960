"""Fixtures shared by the federation tests. Tests of what comes in sign activities from a loopback `peer` to
`inbox_client` (our inbox alone) and mark their module `pytestmark = pytest.mark.usefixtures("inbound")`;
tests of what goes out record it on the loopback `sink`; `peer` and `sink` live in tests/conftest.py (shared
with tests/core and tests/web)."""

from __future__ import annotations

import pytest
from aiohttp import web

from federation.inbound.inbox import setup_inbox
from tests.federation.peer import enable_federation
from tests.federation.sink import local_artist
from tests.federation.test_delivery import publish


@pytest.fixture
def inbound(fed):  # type: ignore[no-untyped-def]
    """`fed` for tests of what comes in: the inbox and remote-media jobs run inline, outbound jobs are no-ops,
    so these tests talk to no one but the peer."""
    return enable_federation(fed)


@pytest.fixture
async def inbox_client(inbound, aiohttp_client):  # type: ignore[no-untyped-def]
    """An HTTP client of an app that serves only the inbox routes (the whole app is the root `client`)."""
    app = web.Application()
    setup_inbox(app, inbound)
    return await aiohttp_client(app)


@pytest.fixture
async def ada(inbound):  # type: ignore[no-untyped-def]
    """A local artist with no works."""
    return await local_artist(inbound)


@pytest.fixture
async def work(inbound):  # type: ignore[no-untyped-def]
    """ada's published work (through the real upload pipeline)."""
    return await publish(inbound, await local_artist(inbound))
