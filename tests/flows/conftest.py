"""Fixtures shared by the flow tests."""

from __future__ import annotations

import pytest

from tests.instance import running_instance
from tests.peers.fedify_peer import require_fedify, running_fedify


@pytest.fixture
def cara_and_peer(tmp_path):  # type: ignore[no-untyped-def]
    """A running cara-fed instance with the artist ada, beside a running Fedify peer."""
    require_fedify()
    with running_instance(tmp_path / "cara") as cara, running_fedify(tmp_path / "peer") as peer:
        cara.cli("createuser", "ada", "--email", "ada@cara.example", "--password", "ada password")
        yield cara, peer
