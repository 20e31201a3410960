import pytest

from cara_fed.models import MediaAsset
from cara_fed.states import MACHINES, IllegalTransition, transition


def test_declared_transitions_are_the_only_ones():
    asset = MediaAsset(state="uploaded")
    transition(asset, "processing")
    transition(asset, "ready")
    with pytest.raises(IllegalTransition, match="ready -> uploaded is not allowed"):
        transition(asset, "uploaded")
    assert asset.state == "ready"


def test_terminal_states_have_no_exits():
    for kind, machine in MACHINES.items():
        for state, targets in machine.items():
            assert all(t in machine for t in targets), f"{kind}.{state} leads to an undeclared state"
    assert MACHINES["MediaAsset"]["rejected"] == frozenset()
