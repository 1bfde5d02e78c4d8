"""Pohlig-Hellman commutative encryption, E_a(E_b(x)) = E_b(E_a(x)) = x^(ab) mod p, in the
subgroup of squares of a safe prime p (RFC 2409's 1024-bit and RFC 3526's 2048-bit MODP
primes, FATE's DH groups), for SecureInformationRetrieval's doubly encrypted ids.

    cipher = PohligHellman.generate(1024)
    mine = cipher.hash_encrypt([b"id1", ...])   # E_a(H(id)), fixed-width bytes
    theirs = cipher.encrypt(received)           # E_a(E_b(H(id)))

An id is hashed onto Z_p (SHA-512 in counter mode to p's width) and squared, so that every
value lies in the subgroup of prime order q = (p - 1) / 2, where the decisional Diffie-Hellman
assumption holds. The key is a uniform exponent in [1, q), from `secrets`.

(Written for issue 20 while the intersection's commutative ciphers were not on main; the same
interface as theirs, so the two can become one.)
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence

import gmpy2

#: RFC 2409's Oakley group 2 (1024 bits) and RFC 3526's group 14 (2048 bits).
MODP_PRIMES = {
    1024: int(
        "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A0879"
        "8E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B"
        "0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF",
        16,
    ),
    2048: int(
        "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A0879"
        "8E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B"
        "0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA4836"
        "1C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804"
        "F1746C08CA18217C32905E462E36CE3BE39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6"
        "955817183995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF",
        16,
    ),
}


def hash_to_group(value: bytes, p: int) -> int:
    """`value` onto the squares modulo p: SHA-512 of (value, counter) to p's width, squared."""
    size = (p.bit_length() + 7) // 8
    blocks = -(-size // 64)
    data = b"".join(hashlib.sha512(value + k.to_bytes(4, "big")).digest() for k in range(blocks))
    square = pow(int.from_bytes(data[:size], "big") % p, 2, p)
    return square or 1


class PohligHellman:
    def __init__(self, p: int, exponent: int) -> None:
        self.p = p
        self._q = (p - 1) // 2
        self._exponent = gmpy2.mpz(exponent)
        self._modulus = gmpy2.mpz(p)
        self.width = (p.bit_length() + 7) // 8

    @classmethod
    def generate(cls, key_length: int) -> PohligHellman:
        if key_length not in MODP_PRIMES:
            raise ValueError(f"no MODP group of {key_length} bits (1024 or 2048)")
        p = MODP_PRIMES[key_length]
        # Uniform in [1, q): invertible modulo q, the order of the squares.
        return cls(p, secrets.randbelow((p - 1) // 2 - 1) + 1)

    def hash_encrypt(self, values: Sequence[bytes]) -> list[bytes]:
        """E(H(value)) for each value."""
        return self._power([hash_to_group(v, self.p) for v in values])

    def encrypt(self, values: Sequence[bytes]) -> list[bytes]:
        """E(value) of values in the group (the other party's ciphertexts); ValueError for one
        that is not a square modulo p."""
        numbers = [int.from_bytes(v, "big") for v in values]
        if any(
            len(v) != self.width
            or not 1 <= x < self.p
            or gmpy2.powmod(x, self._q, self._modulus) != 1
            for v, x in zip(values, numbers, strict=True)
        ):
            raise ValueError("a value is not in the group of squares modulo p")
        return self._power(numbers)

    def _power(self, numbers: Sequence[int]) -> list[bytes]:
        powers = gmpy2.powmod_base_list(
            [gmpy2.mpz(x) for x in numbers], self._exponent, self._modulus
        )
        return [int(x).to_bytes(self.width, "big") for x in powers]
