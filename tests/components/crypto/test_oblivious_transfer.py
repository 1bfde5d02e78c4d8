"""Hauck-Loss 1-out-of-N oblivious transfer and Pohlig-Hellman commutative encryption."""

from __future__ import annotations

import pytest

from fateflow_grpc.components.crypto import oblivious_transfer as ot
from fateflow_grpc.components.crypto.pohlig_hellman import PohligHellman


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


def test_pohlig_hellman_commutes_and_refuses_non_squares() -> None:
    a, b = PohligHellman.generate(1024), PohligHellman.generate(1024)
    ids = [b"1", b"22", b"333"]
    assert a.encrypt(b.hash_encrypt(ids)) == b.encrypt(a.hash_encrypt(ids))
    assert len(set(a.hash_encrypt(ids))) == 3
    with pytest.raises(ValueError, match="squares"):
        a.encrypt([(a.p - 1).to_bytes(a.width, "big")])
    with pytest.raises(ValueError, match="1024 or 2048"):
        PohligHellman.generate(3072)
