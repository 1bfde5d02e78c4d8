"""1-out-of-N oblivious transfer of keys (Hauck and Loss, "Efficient and universally composable
protocols for oblivious transfer from the CDH assumption", 2017: FATE's `OT_Hauck`): the
sender derives N keys, the receiver gets the one it chose, the sender does not learn which,
and the receiver learns nothing of the others.

    sender = Sender()                        receiver = Receiver(choice)
    s = sender.first()            ->         r = receiver.second(s)
    keys = sender.keys(r, n)      <-         key = receiver.key()       # == keys[choice]

In the subgroup of squares of RFC 3526's 2048-bit safe prime p (prime order q, generator 4),
written multiplicatively where the paper (and FATE, on an Edwards curve) writes additively:
S = g^y, T = H(S) (hashed into the group), R = T^c g^x; key_i = KDF(S, R, i, (R / T^i)^y),
which for i = c is S^x, the receiver's. KDF is SHA-256. Exponents come from `secrets`. A
party refuses a group element from the other that is not in the subgroup.
"""

from __future__ import annotations

import hashlib
import secrets

import gmpy2

from fateflow_grpc.components.crypto.commutative import hash_to_group, modp_prime

P = modp_prime(2048)
Q = (P - 1) // 2
G = 4
WIDTH = (P.bit_length() + 7) // 8
_P = gmpy2.mpz(P)


def _element(data: bytes) -> int:
    if len(data) != WIDTH:
        raise ValueError("a group element has the width of p")
    value = int.from_bytes(data, "big")
    if not 1 < value < P or gmpy2.powmod(value, Q, _P) != 1:
        raise ValueError("a value is not in the group of squares modulo p")
    return value


def _bytes(value: int) -> bytes:
    return int(value).to_bytes(WIDTH, "big")


def _kdf(s: bytes, r: bytes, index: int, element: int) -> bytes:
    return hashlib.sha256(s + r + index.to_bytes(8, "big") + _bytes(element)).digest()


class Sender:
    def __init__(self) -> None:
        self._y = secrets.randbelow(Q - 1) + 1
        self._s = _bytes(gmpy2.powmod(G, self._y, _P))

    def first(self) -> bytes:
        """S, for the receiver."""
        return self._s

    def keys(self, r: bytes, count: int) -> list[bytes]:
        """The `count` keys, from the receiver's R (ValueError if it is not in the group)."""
        element = _element(r)
        t = hash_to_group(self._s, P)
        a = gmpy2.powmod(element, self._y, _P)  # R^y
        b = gmpy2.invert(gmpy2.powmod(t, self._y, _P), _P)  # T^-y
        keys = []
        for index in range(count):
            keys.append(_kdf(self._s, r, index, int(a)))
            a = a * b % _P
        return keys


class Receiver:
    def __init__(self, choice: int) -> None:
        if choice < 0:
            raise ValueError("the choice is an index from 0")
        self._choice = choice
        self._x = secrets.randbelow(Q - 1) + 1
        self._key: bytes | None = None

    def second(self, s: bytes) -> bytes:
        """R, for the sender, from its S (ValueError if it is not in the group)."""
        element = _element(s)
        t = hash_to_group(s, P)
        r = _bytes(gmpy2.powmod(t, self._choice, _P) * gmpy2.powmod(G, self._x, _P) % _P)
        self._key = _kdf(s, r, self._choice, int(gmpy2.powmod(element, self._x, _P)))
        return r

    def key(self) -> bytes:
        if self._key is None:
            raise ValueError("the key comes after second()")
        return self._key
