"""Secret sharing over Z_2^128 and the Paillier-assisted steps: each against plain integer
arithmetic, including the edges (negative values, divisors that are not powers of two, shares
that make the integer sum wrap)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from fateflow_grpc.components.crypto import paillier
from fateflow_grpc.components.crypto import secret_sharing as ss
from fateflow_grpc.errors import InvalidArgument


@pytest.fixture(scope="module")
def keys() -> tuple[paillier.PublicKey, paillier.PrivateKey]:
    return paillier.generate_keypair(1024)


def test_encode_decode_round_trip_at_the_fixed_point_resolution() -> None:
    values = np.array([0.0, 1.5, -2.25, 1e-9, -123456.789, 3.0e10])
    assert np.allclose(ss.decode(ss.encode(values)), values, rtol=0, atol=2.0**-24)
    assert ss.encode(-1.0)[()] == ss.RING - (1 << ss.FRACTION_BITS)
    with pytest.raises(InvalidArgument, match="nan"):
        ss.encode([np.nan])
    with pytest.raises(InvalidArgument, match="too large"):
        ss.encode([2.0**110])


def test_split_shares_reconstruct_and_the_sent_share_is_uniform() -> None:
    values = ss.encode(np.linspace(-5, 5, 4000))
    kept, sent = ss.split(values)
    assert (ss.reconstruct(kept, sent) == values).all()
    # Every bit of the sent shares is a fair coin: no bit tells anything of the values.
    bits = np.array([[(int(v) >> b) & 1 for b in range(ss.RING_BITS)] for v in sent])
    assert np.all(np.abs(bits.mean(axis=0) - 0.5) < 0.05)
    assert len(set(sent.tolist())) == len(sent)


@pytest.mark.parametrize("divisor", [1, 2**24, 3, 569 * 2**24])
def test_local_division_reconstructs_the_floor_or_one_more(divisor: int) -> None:
    rng = random.Random(7)
    values = [rng.randrange(-(2**70), 2**70) for _ in range(300)] + [0, -1, 1]
    x = np.array([v % ss.RING for v in values], dtype=object)
    for _ in range(3):
        a, b = ss.split(x)
        result = ss.signed(ss.reconstruct(ss.divide(a, divisor, 0), ss.divide(b, divisor, 1)))
        floors = np.array([v // divisor for v in values], dtype=object)
        assert set((result - floors).tolist()) <= {0, 1}


def test_mask_and_unmask_divide_exactly_over_the_integers(
    keys: tuple[paillier.PublicKey, paillier.PrivateKey],
) -> None:
    public, private = keys
    values = [0, 1, -1, 2**100, -(2**120) + 12345, 987654321]
    for divisor in (1, 4, 7, 1000 * 2**24):
        numbers = public.encrypt_many(values)
        wire, mine = ss.mask(numbers, divisor)
        theirs = ss.unmask(private, ss.encrypted_from_wire(public, wire, len(values)), divisor)
        result = ss.signed(ss.reconstruct(mine, theirs))
        floors = [v // divisor for v in values]
        assert set((result - np.array(floors, dtype=object)).tolist()) <= {0, 1}


def test_masked_integers_hide_the_value_and_give_integer_shares(
    keys: tuple[paillier.PublicKey, paillier.PrivateKey],
) -> None:
    public, private = keys
    wire, masks = ss.mask_integers(public.encrypt_many([5, -7]))
    received = ss.masked_values(private, ss.encrypted_from_wire(public, wire, 2))
    assert [u - r for u, r in zip(received, masks, strict=True)] == [5, -7]
    # The masked values are as wide as the masks, whatever the value.
    assert all(u.bit_length() > ss.DEFAULT_MASK_BITS - 16 for u in received)
    with pytest.raises(InvalidArgument, match="longer Paillier key"):
        ss.mask_integers(public.encrypt_many([1]), mask_bits=1023)


def test_matvec_multiplies_by_integers_of_any_size_and_sign(
    keys: tuple[paillier.PublicKey, paillier.PrivateKey],
) -> None:
    public, private = keys
    rng = random.Random(3)
    vector = [rng.randrange(-(2**40), 2**40) for _ in range(5)]
    numbers = public.encrypt_many(vector)
    for width in (20, 62, 128, 300):
        matrix = [[rng.randrange(-(2**width), 2**width) for _ in range(5)] for _ in range(3)]
        expected = [sum(a * v for a, v in zip(row, vector, strict=True)) for row in matrix]
        result = ss.matvec(np.array(matrix, dtype=object), numbers)
        assert private.decrypt_many(result) == expected
    small = np.array([[1, -2, 3, 0, 5]], dtype=np.int64)
    assert private.decrypt_many(ss.matvec(small, numbers)) == [int(small[0] @ vector)]


def test_integer_sum_gives_the_integer_of_ring_shares(
    keys: tuple[paillier.PublicKey, paillier.PrivateKey],
) -> None:
    public, private = keys
    values = [3 << 24, -(5 << 24), 0, 1]
    mine, theirs = ss.split(np.array([v % ss.RING for v in values], dtype=object))
    encrypted = ss.integer_sum(mine, public.encrypt_many([int(v) for v in theirs]))
    assert private.decrypt_many(encrypted) == values


def test_wire_round_trip_and_refusals(keys: tuple[paillier.PublicKey, paillier.PrivateKey]) -> None:
    public, _ = keys
    shares = ss.random_ring((3, 2))
    assert (ss.from_wire(ss.to_wire(shares), (3, 2)) == shares).all()
    with pytest.raises(ValueError, match="uint64"):
        ss.from_wire(np.zeros((3, 2), dtype=np.float64), (3,))
    with pytest.raises(ValueError, match="uint64"):
        ss.from_wire(ss.to_wire(shares), (4, 2))
    numbers = public.encrypt_many([1, 2])
    assert len(ss.encrypted_from_wire(public, ss.encrypted_to_wire(numbers), 2)) == 2
    with pytest.raises(ValueError, match="expected 3"):
        ss.encrypted_from_wire(public, ss.encrypted_to_wire(numbers), 3)
    with pytest.raises(ValueError, match="exponent 0"):
        ss.encrypted_from_wire(public, paillier.to_ints([public.encrypt(0.5)]))
    with pytest.raises(ValueError, match="not Paillier"):
        ss.encrypted_from_wire(public, [0, 0])
    with pytest.raises(ValueError, match="list of integers"):
        ss.encrypted_from_wire(public, "no")


def test_fixed_refuses_values_too_large_for_int64() -> None:
    assert ss.fixed([1.5, -2.0]).tolist() == [3 << 23, -(2 << 24)]
    with pytest.raises(InvalidArgument, match="scale the features"):
        ss.fixed([2.0**40])


def test_tall_matrices_take_the_fixed_base_path_with_the_same_result(
    keys: tuple[paillier.PublicKey, paillier.PrivateKey],
) -> None:
    public, private = keys
    rng = np.random.RandomState(2)
    matrix = rng.randint(-(2**40), 2**40, size=(130, 4)).astype(np.int64)
    matrix[0] = 0
    vector = [int(v) for v in ss.random_ring(4)]
    result = private.decrypt_many(ss.matvec(matrix, public.encrypt_many(vector)))
    assert result == (matrix.astype(object) @ np.array(vector, dtype=object)).tolist()
