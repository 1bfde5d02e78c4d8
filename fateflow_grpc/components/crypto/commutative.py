"""Commutative encryption, E_a(E_b(x)) = E_b(E_a(x)), for the protocols that compare doubly
encrypted ids: Intersection's `dh` and `ecdh` methods and SecureInformationRetrieval.

    cipher = new_cipher("dh", 2048)            # or new_cipher("ecdh"), X25519
    mine = cipher.hash_encrypt([b"id1", ...])   # E_a(H(id)), `cipher.width` bytes each
    theirs = cipher.encrypt(received)           # E_a(E_b(H(id))); ValueError for a value
                                                # that is not a group element

Two groups:

* ``PohligHellman`` (FATE's `dh`): x -> x^k mod p in the subgroup of squares of a safe prime p,
  the MODP groups of RFC 2409 (1024 bits) and RFC 3526 (1536 to 8192 bits). An id is hashed
  onto Z_p (SHA-512 in counter mode to p's width) and squared, so that every value lies in the
  subgroup of prime order q = (p - 1) / 2, where the decisional Diffie-Hellman assumption holds.
  The key is uniform in [1, q). A received value is checked to be a square by its Legendre
  symbol, which costs a fraction of an exponentiation.
* ``X25519Cipher`` (FATE's `ecdh` with curve25519): u -> X25519(k, u), the Montgomery ladder
  of RFC 7748 as `cryptography` computes it. It is k*P on x-coordinates for any u, on the
  curve or its twist, so two keys commute; `cryptography` refuses a result of small order,
  which here means a value that was not an honest encryption. An id is hashed to 32 bytes
  (SHA-512, truncated); the key is 32 bytes from `secrets`.

A key leaves its cipher only as `cipher.secret()`, for the party's own cache (Intersection's
`run_cache` keeps it in that party's model store, as FATE does), and comes back with
`restore_cipher(method, key_length, secret)`.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Sequence
from typing import Protocol

import gmpy2
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from fateflow_grpc.components.crypto.exponentiation import on_every_core

DH = "dh"
ECDH = "ecdh"

#: RFC 3526's constant k of each MODP group (RFC 2409's for 1024 bits), in
#: p = 2^n - 2^(n-64) - 1 + 2^64 * (floor(2^(n-130) * pi) + k).
_MODP_K = {
    1024: 129093,
    1536: 741804,
    2048: 124476,
    3072: 1690314,
    4096: 240904,
    6144: 929484,
    8192: 4743158,
}
MODP_KEY_LENGTHS = tuple(_MODP_K)
#: Below this many values a batch is not worth splitting across cores.
_MIN_SLICE = 64


@functools.cache
def modp_prime(bits: int) -> int:
    """The MODP safe prime of `bits` bits, from the RFCs' definition."""
    if bits not in _MODP_K:
        raise ValueError(f"no MODP group of {bits} bits ({', '.join(map(str, _MODP_K))})")
    context = gmpy2.get_context().copy()
    context.precision = bits + 64  # enough bits of pi for floor(2^(n-130) * pi)
    with gmpy2.context(context):
        scaled = int(gmpy2.floor(gmpy2.mul_2exp(gmpy2.const_pi(), bits - 130)))
    return (1 << bits) - (1 << (bits - 64)) - 1 + ((scaled + _MODP_K[bits]) << 64)


def hash_to_group(value: bytes, p: int) -> int:
    """`value` onto the squares modulo p: SHA-512 of (value, counter) to p's width, squared."""
    size = (p.bit_length() + 7) // 8
    blocks = -(-size // 64)
    data = b"".join(hashlib.sha512(value + k.to_bytes(4, "big")).digest() for k in range(blocks))
    square = pow(int.from_bytes(data[:size], "big") % p, 2, p)
    return square or 1


#: FATE's id hashes before encryption (`dh_params.hash_method` and the like).
ID_HASH_METHODS = ("none", "md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sm3")


def salted_digests(ids: Sequence[str], method: str, salt: str) -> list[bytes]:
    """FATE's id preprocessing: (id + salt) through `method` (`none`: the bytes as they are)."""
    values = [(value + salt).encode() for value in ids]
    if method == "none":
        return values
    return [hashlib.new(method, value).digest() for value in values]


class CommutativeCipher(Protocol):
    #: The bytes of one ciphertext.
    width: int

    def hash_encrypt(self, values: Sequence[bytes]) -> list[bytes]:
        """E(H(value)) for each value."""
        ...

    def encrypt(self, values: Sequence[bytes]) -> list[bytes]:
        """E(value) of the other party's ciphertexts; ValueError for one not in the group."""
        ...

    def secret(self) -> str:
        """The key, in hexadecimal: for this party's own cache only."""
        ...


def new_cipher(method: str, key_length: int = 2048) -> CommutativeCipher:
    """A fresh key: `dh` in the MODP group of `key_length` bits, or `ecdh` on curve25519."""
    if method == DH:
        return PohligHellman.generate(key_length)
    if method == ECDH:
        return X25519Cipher.generate()
    raise ValueError(f"no commutative cipher {method!r} ({DH} or {ECDH})")


def restore_cipher(method: str, key_length: int, secret: str) -> CommutativeCipher:
    """The cipher whose `secret()` this is; ValueError for one that is not a key."""
    key = bytes.fromhex(secret)
    if method == DH:
        p = modp_prime(key_length)
        exponent = int.from_bytes(key, "big")
        if not 1 <= exponent < (p - 1) // 2:
            raise ValueError("the exponent is not in [1, q)")
        return PohligHellman(p, exponent)
    if method == ECDH:
        return X25519Cipher(X25519PrivateKey.from_private_bytes(key))
    raise ValueError(f"no commutative cipher {method!r} ({DH} or {ECDH})")


class PohligHellman:
    def __init__(self, p: int, exponent: int) -> None:
        self.p = p
        self._exponent = gmpy2.mpz(exponent)
        self._modulus = gmpy2.mpz(p)
        self.width = (p.bit_length() + 7) // 8

    @classmethod
    def generate(cls, key_length: int) -> PohligHellman:
        p = modp_prime(key_length)
        # Uniform in [1, q): invertible modulo q, the order of the squares.
        return cls(p, secrets.randbelow((p - 1) // 2 - 1) + 1)

    def hash_encrypt(self, values: Sequence[bytes]) -> list[bytes]:
        return self._power([hash_to_group(v, self.p) for v in values])

    def encrypt(self, values: Sequence[bytes]) -> list[bytes]:
        numbers = [int.from_bytes(v, "big") for v in values]
        if any(
            len(v) != self.width or not 1 <= x < self.p or gmpy2.legendre(x, self._modulus) != 1
            for v, x in zip(values, numbers, strict=True)
        ):
            raise ValueError("a value is not in the group of squares modulo p")
        return self._power(numbers)

    def secret(self) -> str:
        return int(self._exponent).to_bytes(self.width, "big").hex()

    def _power(self, numbers: Sequence[int]) -> list[bytes]:
        exponent, modulus, width = self._exponent, self._modulus, self.width

        def power(part: Sequence[int]) -> list[bytes]:
            bases = [gmpy2.mpz(x) for x in part]
            return [
                int(x).to_bytes(width, "big")
                for x in gmpy2.powmod_base_list(bases, exponent, modulus)
            ]

        return on_every_core(power, numbers, smallest=_MIN_SLICE)


class X25519Cipher:
    width = 32

    def __init__(self, key: X25519PrivateKey) -> None:
        self._key = key

    @classmethod
    def generate(cls) -> X25519Cipher:
        return cls(X25519PrivateKey.from_private_bytes(secrets.token_bytes(32)))

    def hash_encrypt(self, values: Sequence[bytes]) -> list[bytes]:
        return self.encrypt([hashlib.sha512(v).digest()[:32] for v in values])

    def secret(self) -> str:
        return self._key.private_bytes_raw().hex()

    def encrypt(self, values: Sequence[bytes]) -> list[bytes]:
        if any(len(v) != self.width for v in values):
            raise ValueError("a curve25519 value has 32 bytes")
        try:
            return [self._key.exchange(X25519PublicKey.from_public_bytes(v)) for v in values]
        except ValueError:
            raise ValueError("a value is a point of small order on curve25519") from None
