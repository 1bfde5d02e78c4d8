"""Modular exponentiation at Paillier's sizes (2048-bit moduli), on gmpy2, on every core.

    table = FixedBase(h, nsquare, bits=512)     # once per key: ~16K multiplications
    obfuscator = table.random_power()           # h^x for a random 512-bit x: 64 multiplications
    product = multi_power(bases, powers, m)     # prod(b_i ^ e_i) mod m, Pippenger's method
    inverses = batch_invert(values, m)          # one inversion for all (Montgomery's trick)
    results = on_every_core(function, items)    # function(chunk) of the items, on threads

The unit of cost is one modular multiplication of two 2048-bit numbers (about 1.2 us of CPU
on the development machine, 0.4 us the product and 0.8 us the reduction); a full
exponentiation with a 1024-bit exponent is about 950 of them done inside GMP. What this
module does is spend fewer multiplications: a fixed base's powers are tabled, a product of
many powers shares its squarings.

Threads: gmpy2 computes `powmod_base_list` and `powmod_exp_list` without the GIL, and, in a
thread whose gmpy2 context allows it (`allow_release_gil`), each product and reduction too.
`on_every_core` runs chunks of work on a pool of such threads, one per core, so that list
operations use every core and Python-level loops of multiplications use most of them (the
Python between two multiplications still takes the GIL).
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar, cast, overload

import gmpy2
import numpy as np

#: An int-like gmpy2 `mpz` at run time (gmpy2 ships no type stubs; mpz has int's arithmetic).
Mpz = int

T = TypeVar("T")
R = TypeVar("R")
#: Numbers as rows of bytes, a row each (big-endian, one width).
Rows = np.ndarray[Any, np.dtype[np.uint8]]

# --- every core -------------------------------------------------------------------------------


def cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


_POOL_NAME = "modexp"
_pool: ThreadPoolExecutor | None = None
_pool_pid = 0
_pool_lock = threading.Lock()


def _release_gil_in_gmpy2() -> None:
    gmpy2.get_context().allow_release_gil = True


def _threads() -> ThreadPoolExecutor:
    global _pool, _pool_pid, _pool_lock
    if _pool_pid != os.getpid():
        # A forked child has its parent's pool object but none of its threads (and maybe a
        # lock held by one of them): it starts its own.
        _pool, _pool_pid, _pool_lock = None, os.getpid(), threading.Lock()
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                cores(), thread_name_prefix=_POOL_NAME, initializer=_release_gil_in_gmpy2
            )
        return _pool


@overload
def on_every_core(
    function: Callable[[Sequence[T]], list[R]], items: Sequence[T], *, smallest: int = 1
) -> list[R]: ...


@overload
def on_every_core(
    function: Callable[[Any], Rows], items: Sequence[Any] | Rows, *, smallest: int = 1
) -> Rows: ...


def on_every_core(function: Callable[[Any], Any], items: Any, *, smallest: int = 1) -> Any:
    """`function` of consecutive chunks of `items`, one chunk per core (none smaller than
    `smallest` items), joined in order (`joined`). One chunk runs in the calling thread."""
    chunks = min(cores(), len(items) // max(smallest, 1))
    # On one of the pool's threads (a chunk of an outer call), the work runs in place: the
    # other threads hold the outer call's chunks, and waiting for them here would deadlock.
    if chunks <= 1 or threading.current_thread().name.startswith(_POOL_NAME):
        return function(items)
    bounds = [len(items) * k // chunks for k in range(chunks + 1)]
    futures = [
        _threads().submit(function, items[bounds[k] : bounds[k + 1]]) for k in range(1, chunks)
    ]
    with gmpy2.context(gmpy2.get_context(), allow_release_gil=True):
        first = function(items[: bounds[1]])
    return joined([first, *(future.result() for future in futures)])


def joined(parts: Sequence[Any]) -> Any:
    """Consecutive slices' results as one: lists end to end, or arrays of rows stacked (a
    large batch's numbers kept as bytes, not as Python objects)."""
    if parts and isinstance(parts[0], np.ndarray):
        return np.concatenate(parts)
    return [value for part in parts for value in part]


# --- a fixed base -----------------------------------------------------------------------------


class FixedBase:
    """Powers of one base modulo m for exponents of up to `bits` bits, from a table.

    The table holds base^(d * 256^j) for every byte value d and byte position j, so a power is
    the product of one entry per non-zero byte of its exponent: bits / 8 multiplications
    instead of a squaring per bit and a multiplication per window. The table costs 255
    multiplications per byte of exponent once (16K for 512 bits, 4.7 MB at a 2048-bit m).
    """

    __slots__ = ("_modulus", "_rows")

    def __init__(self, base: int, modulus: int, bits: int) -> None:
        self._modulus: Mpz = gmpy2.mpz(modulus)
        power: Mpz = gmpy2.mpz(base) % self._modulus
        rows = []
        for _ in range(-(-bits // 8)):
            row = [gmpy2.mpz(1), power]
            for _ in range(254):
                row.append(row[-1] * power % self._modulus)
            rows.append(row)
            power = row[-1] * power % self._modulus  # base^(256^(j + 1))
        self._rows: list[list[Mpz]] = rows

    @property
    def exponent_bytes(self) -> int:
        return len(self._rows)

    def power(self, exponent: int) -> Mpz:
        """base^exponent mod m, 0 <= exponent < 2^(8 * exponent_bytes)."""
        return self._power_of_bytes(exponent.to_bytes(len(self._rows), "little"))

    def random_power(self) -> Mpz:
        """base^x mod m for x uniform in [0, 2^(8 * exponent_bytes))."""
        return self._power_of_bytes(secrets.token_bytes(len(self._rows)))

    def _power_of_bytes(self, digits: bytes) -> Mpz:
        modulus = self._modulus
        result: Mpz | None = None
        for row, digit in zip(self._rows, digits, strict=True):
            if digit:
                result = row[digit] if result is None else result * row[digit] % modulus
        return result if result is not None else cast(Mpz, gmpy2.mpz(1))


# --- products of many powers ------------------------------------------------------------------

#: A modular exponentiation inside GMP costs about this many Python-level modular
#: multiplications per exponent bit (a squaring each, plus a window's multiplications).
_POWMOD_COST_PER_BIT = 0.8


def multi_power(bases: Sequence[Mpz], powers: Sequence[int], modulus: Mpz) -> Mpz:
    """prod(bases[i] ^ powers[i]) mod modulus, every power >= 0.

    Pippenger's bucket method: for each window of w bits of the powers, from the top, each
    base goes into the bucket of its digit (one multiplication), the buckets are summed as
    prod_d bucket_d ^ d with two running products (2^(w+1) multiplications), and the result so
    far is raised to 2^w. About bits / w * (count + 2^(w+1)) multiplications in all, against
    count * bits for the powers one by one. Digits are computed and sorted with numpy, so the
    Python loop does little besides the multiplications.
    """
    count = len(bases)
    bits = max((power.bit_length() for power in powers), default=0)
    if not count or not bits:
        return cast(Mpz, gmpy2.mpz(1))
    window, bucket_cost = min(
        (
            (w, -(-bits // w) * (count + 2 ** (w + 1)) + _POWMOD_COST_PER_BIT * bits)
            for w in range(1, 17)
        ),
        key=lambda choice: choice[1],
    )
    if count * (_POWMOD_COST_PER_BIT * bits + 1) <= bucket_cost:
        product = gmpy2.mpz(1)
        for base, power in zip(bases, powers, strict=True):
            if power:
                product = product * gmpy2.powmod(base, power, modulus) % modulus
        return cast(Mpz, product)
    mask = (1 << window) - 1
    small = np.array(powers, dtype=np.int64) if bits < 63 else None

    def digits_at(shift: int) -> np.ndarray[Any, np.dtype[np.int64]]:
        if small is not None:
            return (small >> shift) & mask
        return np.fromiter(((p >> shift) & mask for p in powers), np.int64, count)

    accumulator: Mpz | None = None
    for shift in range(-(-bits // window) * window - window, -1, -window):
        digits = digits_at(shift)
        sizes = np.bincount(digits, minlength=mask + 1).tolist()
        # The bases sorted by digit, those of digit 0 left out: each bucket is a run.
        order = np.argsort(digits, kind="stable")[sizes[0] :].tolist()
        ordered = [bases[i] for i in order]
        end = len(ordered)
        running: Mpz | None = None
        window_sum: Mpz | None = None
        # From the highest digit present: the top window's digits are small.
        highest = int(digits.max())
        for digit in range(highest, 0, -1):
            size = sizes[digit]
            if size:
                start = end - size
                bucket = ordered[start]
                for k in range(start + 1, end):
                    bucket = bucket * ordered[k] % modulus
                end = start
                running = bucket if running is None else running * bucket % modulus
            if running is not None:
                window_sum = running if window_sum is None else window_sum * running % modulus
        if accumulator is not None:
            accumulator = gmpy2.powmod(accumulator, 1 << window, modulus)
            if window_sum is not None:
                accumulator = accumulator * window_sum % modulus
        else:
            accumulator = window_sum
    return accumulator if accumulator is not None else cast(Mpz, gmpy2.mpz(1))


def batch_invert(values: Sequence[Mpz], modulus: Mpz) -> list[Mpz]:
    """Modular inverses of many values with one inversion (Montgomery's trick): 3
    multiplications per value."""
    if not values:
        return []
    prefix = [values[0]]
    for value in values[1:]:
        prefix.append(prefix[-1] * value % modulus)
    inverse = gmpy2.invert(prefix[-1], modulus)
    inverses = [values[0]] * len(values)
    for i in range(len(values) - 1, 0, -1):
        inverses[i] = inverse * prefix[i - 1] % modulus
        inverse = inverse * values[i] % modulus
    inverses[0] = inverse
    return inverses
