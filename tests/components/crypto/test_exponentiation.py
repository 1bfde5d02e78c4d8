"""The exponentiation engines against gmpy2's plain powmod, product by product."""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence

import gmpy2
import pytest

from fateflow_grpc.components.crypto import exponentiation
from fateflow_grpc.components.crypto.exponentiation import (
    FixedBase,
    batch_invert,
    multi_power,
    on_every_core,
)

RNG = random.Random(17)
#: A 2048-bit modulus, as n^2 is for a 1024-bit key; prime, so that every value is a unit.
MODULUS = gmpy2.next_prime(gmpy2.mpz(RNG.getrandbits(2048) | (1 << 2047)))


def naive(bases: Sequence[int], powers: Sequence[int]) -> int:
    product = 1
    for base, power in zip(bases, powers, strict=True):
        product = product * pow(int(base), power, int(MODULUS)) % int(MODULUS)
    return product


def test_fixed_base_powers_are_powmod() -> None:
    base = RNG.getrandbits(2040)
    table = FixedBase(base, MODULUS, 100)
    assert table.exponent_bytes == 13
    for exponent in [0, 1, 255, 256, 2**100 - 1, RNG.getrandbits(100), RNG.getrandbits(64) << 36]:
        assert table.power(exponent) == pow(base, exponent, int(MODULUS))


def test_random_powers_differ() -> None:
    table = FixedBase(RNG.getrandbits(2040), MODULUS, 256)
    assert len({table.random_power() for _ in range(20)}) == 20


@pytest.mark.parametrize(
    ("count", "bits"),
    [(1, 10), (3, 1), (40, 27), (300, 27), (150, 60), (50, 200), (8, 1024)],
)
def test_multi_power_is_the_product_of_powers(count: int, bits: int) -> None:
    bases = [gmpy2.mpz(RNG.getrandbits(2040)) for _ in range(count)]
    powers = [RNG.getrandbits(bits) for _ in range(count)]
    powers[0] = 0  # a zero power contributes nothing
    assert multi_power(bases, powers, MODULUS) == naive(bases, powers)


def test_multi_power_of_nothing_is_one() -> None:
    assert multi_power([], [], MODULUS) == 1
    assert multi_power([gmpy2.mpz(5), gmpy2.mpz(7)], [0, 0], MODULUS) == 1


def test_batch_invert() -> None:
    values = [gmpy2.mpz(RNG.getrandbits(2040)) for _ in range(25)]
    for value, inverse in zip(values, batch_invert(values, MODULUS), strict=True):
        assert value * inverse % MODULUS == 1
    assert batch_invert([], MODULUS) == []


def test_every_core_keeps_the_order_and_uses_threads() -> None:
    seen: set[int] = set()

    def double(chunk: Sequence[int]) -> list[int]:
        seen.add(threading.get_ident())
        return [2 * x for x in chunk]

    assert on_every_core(double, list(range(1000))) == [2 * x for x in range(1000)]
    assert len(seen) == min(exponentiation.cores(), 1000)
    # Too few items for a chunk per core: the calling thread does it all.
    seen.clear()
    assert on_every_core(double, [1, 2, 3], smallest=2) == [2, 4, 6]
    assert seen == {threading.get_ident()}
    assert on_every_core(double, []) == []
