"""Verifiable secret sharing of integers: Shamir shares modulo a prime q, each polynomial
committed so that a receiver can check its share, and a sum of shares checked against the
product of the commitments (FATE's `FeldmanVerifiableSecretSharing`, with hiding commitments).

    shares, commitments = share(secret, 3)      # shares[i] for x = i + 1, to party i
    assert verify(2, shares[1], commitments)
    secret = reconstruct([(1, s1), (2, s2), (3, s3)])   # the f parts of three shares

The group is FATE's: RFC 5114's 1024-bit MODP group with its 160-bit prime-order subgroup
(p, q, g). A polynomial of degree n - 1 over Z_q hides the secret in its constant term; n
shares reconstruct it (Lagrange at 0), fewer say nothing of it.

Commitments are Pedersen's, C_j = g^a_j h^b_j mod p for the coefficients a_j of the secret's
polynomial and b_j of a random companion one, and a share is the pair (f(x), r(x)). FATE's
Feldman commitments g^a_j alone would do for verifying, but g^a_0 = g^secret gives the secret
away to whoever receives it when the secret is a small integer (a fixed-point feature value,
found by a discrete logarithm over a short range); Pedersen's hide it. h is a generator of
the subgroup derived by hashing ("nothing up my sleeve"), so nobody knows log_g h, which is
what binding rests on. Randomness comes from `secrets`.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from typing import Any

import gmpy2

Mpz = Any  # gmpy2 ships no type information

# RFC 5114, section 2.1: the 1024-bit MODP group with a 160-bit prime order subgroup.
P = int(
    "B10B8F96A080E01DDE92DE5EAE5D54EC52C99FBCFB06A3C69A6A9DCA52D23B616073E28675A23D189838EF1E"
    "2EE652C013ECB4AEA906112324975C3CD49B83BFACCBDD7D90C4BD7098488E9C219A73724EFFD6FAE5644738"
    "FAA31A4FF55BCCC0A151AF5F0DC8B4BD45BF37DF365C1A65E68CFDA76D4DA708DF1FB2BC2E4A4371",
    16,
)
G = int(
    "A4D1CBD5C3FD34126765A442EFB99905F8104DD258AC507FD6406CFF14266D31266FEA1E5C41564B777E690F"
    "5504F213160217B4B01B886A5E91547F9E2749F4D7FBD7D3B9A92EE1909D0D2263F80A76A6A24C087A091F53"
    "1DBF0A0169B6A28AD662A4D18E73AFA32D779D5918D08BC8858F4DCEF97C2A24855E6EEB22B3B2E5",
    16,
)
Q = int("F518AA8781A8DF278ABA4E7D64B7CB9D49462353", 16)


def _derived_generator() -> int:
    """A generator of the order-q subgroup whose logarithm to g nobody knows."""
    counter = 0
    while True:
        seed = hashlib.sha512(b"fateflow verifiable sharing h" + counter.to_bytes(4, "big"))
        candidate = int.from_bytes(seed.digest() * 2, "big") % P
        h = int(gmpy2.powmod(candidate, (P - 1) // Q, P))
        if h > 1:
            return h
        counter += 1


H = _derived_generator()
_P, _G, _H = gmpy2.mpz(P), gmpy2.mpz(G), gmpy2.mpz(H)

#: A share: (f(x), r(x)), the secret's polynomial and its companion at x.
Share = tuple[int, int]


def share(secret: int, count: int) -> tuple[list[Share], list[int]]:
    """`count` shares of `secret` (for x = 1..count; all of them reconstruct it) and the
    polynomials' commitments."""
    if count < 1:
        raise ValueError("at least one share")
    a = [secret % Q] + [secrets.randbelow(Q) for _ in range(count - 1)]
    b = [secrets.randbelow(Q) for _ in range(count)]
    shares = [(_evaluate(a, x), _evaluate(b, x)) for x in range(1, count + 1)]
    commitments = [
        int(gmpy2.powmod(_G, aj, _P) * gmpy2.powmod(_H, bj, _P) % _P)
        for aj, bj in zip(a, b, strict=True)
    ]
    return shares, commitments


def _evaluate(coefficients: Sequence[int], x: int) -> int:
    value = 0
    for c in reversed(coefficients):
        value = (value * x + c) % Q
    return value


def verify(x: int, value: Share, commitments: Sequence[int]) -> bool:
    """Whether `value` is the share at x of the polynomials `commitments` commit to (or of
    their sum, for a sum of shares and the product of commitments)."""
    f, r = value
    if not (0 <= f < Q and 0 <= r < Q) or not all(0 < c < P for c in commitments):
        return False
    left = gmpy2.powmod(_G, f, _P) * gmpy2.powmod(_H, r, _P) % _P
    right = gmpy2.mpz(1)
    power = 1
    for c in commitments:
        right = right * gmpy2.powmod(c, power, _P) % _P
        power = power * x % Q
    return bool(left == right)


def combine(commitment_lists: Sequence[Sequence[int]]) -> list[int]:
    """The commitments of the sum of the polynomials: their coefficient-wise products."""
    combined = [gmpy2.mpz(1)] * len(commitment_lists[0])
    for commitments in commitment_lists:
        combined = [c * d % _P for c, d in zip(combined, commitments, strict=True)]
    return [int(c) for c in combined]


def add(shares: Sequence[Share]) -> Share:
    """The share of the sum of the secrets, from shares at the same x."""
    return sum(s[0] for s in shares) % Q, sum(s[1] for s in shares) % Q


def reconstruct(points: Sequence[tuple[int, int]]) -> int:
    """The polynomial's value at 0 from (x, f(x)) for as many distinct x as its degree + 1."""
    xs = [x for x, _ in points]
    if len(set(xs)) != len(xs):
        raise ValueError("reconstruction needs distinct points")
    secret = 0
    for i, (xi, yi) in enumerate(points):
        numerator, denominator = 1, 1
        for j, xj in enumerate(xs):
            if j != i:
                numerator = numerator * -xj % Q
                denominator = denominator * (xi - xj) % Q
        secret = (secret + yi * numerator * pow(denominator, -1, Q)) % Q
    return secret


def encode(value: float, digits: int) -> int:
    """FATE's encoding: int(value * 10^digits) (truncated), modulo q."""
    return int(value * 10**digits) % Q


def decode(value: int, digits: int) -> float:
    """FATE's decoding: values above q / 2 are negative, then divided by 10^digits."""
    signed = value - Q if value > Q // 2 else value
    integer, fraction = divmod(signed, 10**digits)
    return float(integer) if fraction == 0 else integer + fraction / 10**digits
