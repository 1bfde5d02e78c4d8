"""Hauck-Loss 1-out-of-N oblivious transfer."""

from __future__ import annotations

import pytest

from fateflow_grpc.components.crypto import oblivious_transfer as ot


@pytest.mark.parametrize("choice", [0, 3, 9])
def test_the_receiver_gets_the_chosen_key_and_no_other(choice: int) -> None:
    sender, receiver = ot.Sender(), ot.Receiver(choice)
    keys = sender.keys(receiver.second(sender.first()), 10)
    assert keys[choice] == receiver.key()
    assert len(set(keys)) == 10


def test_elements_outside_the_group_are_refused() -> None:
    outside = (ot.P - 1).to_bytes(ot.WIDTH, "big")  # -1: not a square modulo a safe prime
    with pytest.raises(ValueError, match="group"):
        ot.Receiver(0).second(outside)
    with pytest.raises(ValueError, match="group"):
        ot.Sender().keys(outside, 2)
    with pytest.raises(ValueError, match="width"):
        ot.Sender().keys(b"\x04", 2)
