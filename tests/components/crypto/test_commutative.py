"""Commutative encryption: both orders of two keys agree, distinct ids stay distinct, and a
value outside the group is refused."""

from __future__ import annotations

import hashlib

import gmpy2
import pytest

from fateflow_grpc.components.crypto.commutative import (
    DH,
    ECDH,
    PohligHellman,
    X25519Cipher,
    modp_prime,
    new_cipher,
    restore_cipher,
    salted_digests,
)

IDS = [b"1", b"22", b"333", b"id-4"]

# The last words of the primes as RFC 2409 and RFC 3526 print them.
RFC_1024_TAIL = "49286651ECE65381FFFFFFFFFFFFFFFF"
RFC_2048_TAIL = "15728E5A8AACAA68FFFFFFFFFFFFFFFF"


@pytest.mark.parametrize("method", [DH, ECDH])
def test_two_keys_commute(method: str) -> None:
    a, b = new_cipher(method, 1024), new_cipher(method, 1024)
    twice_ab = b.encrypt(a.hash_encrypt(IDS))
    twice_ba = a.encrypt(b.hash_encrypt(IDS))
    assert twice_ab == twice_ba
    assert len(set(twice_ab)) == len(IDS)
    assert all(len(v) == a.width for v in twice_ab)
    # A fresh key gives other ciphertexts: nothing about an id is fixed by the method alone.
    assert set(new_cipher(method, 1024).hash_encrypt(IDS)).isdisjoint(a.hash_encrypt(IDS))


def test_the_modp_primes_are_the_rfcs_safe_primes() -> None:
    assert format(modp_prime(1024), "X").endswith(RFC_1024_TAIL)
    assert format(modp_prime(2048), "X").endswith(RFC_2048_TAIL)
    for bits in (1024, 1536, 2048, 3072):
        p = modp_prime(bits)
        hexa = format(p, "X")
        assert p.bit_length() == bits and hexa.startswith("F" * 16 + "C90FDAA22168C234")
        assert gmpy2.is_prime(p, 20) and gmpy2.is_prime((p - 1) // 2, 20)
    with pytest.raises(ValueError, match="no MODP group"):
        modp_prime(1025)


def test_dh_refuses_values_outside_the_squares() -> None:
    cipher = PohligHellman.generate(1024)
    minus_one = (cipher.p - 1).to_bytes(cipher.width, "big")  # not a square modulo a safe prime
    with pytest.raises(ValueError, match="squares"):
        cipher.encrypt([minus_one])
    with pytest.raises(ValueError, match="squares"):
        cipher.encrypt([b"\x00" * cipher.width])
    with pytest.raises(ValueError, match="squares"):
        cipher.encrypt([b"\x04"])


def test_x25519_refuses_small_order_points_and_bad_widths() -> None:
    cipher = X25519Cipher.generate()
    with pytest.raises(ValueError, match="small order"):
        cipher.encrypt([b"\x00" * 32])  # u = 0: every multiple is the point at infinity
    with pytest.raises(ValueError, match="32 bytes"):
        cipher.encrypt([b"\x01" * 31])


def test_salted_digests_are_fates_id_preprocessing() -> None:
    assert salted_digests(["a"], "sha256", "s") == [hashlib.sha256(b"as").digest()]
    assert salted_digests(["a"], "none", "s") == [b"as"]
    assert salted_digests(["a"], "sm3", "")[0] == hashlib.new("sm3", b"a").digest()


@pytest.mark.parametrize("method", [DH, ECDH])
def test_a_restored_key_encrypts_as_the_original(method: str) -> None:
    cipher = new_cipher(method, 1024)
    again = restore_cipher(method, 1024, cipher.secret())
    assert again.hash_encrypt(IDS) == cipher.hash_encrypt(IDS)
    with pytest.raises(ValueError):
        restore_cipher(method, 1024, "00" * cipher.width if method == DH else "00")
