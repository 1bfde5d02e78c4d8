"""Secure aggregation by pairwise masks (Bonawitz et al., without dropouts): an aggregator adds
the clients' masked vectors and learns their sum alone.

    private, public = new_key_pair()                    # each client; public goes to the others
    masks = PairwiseMasks(private, public, all_public_keys, b"<protocol> pairwise mask")
    sent = masks.mask(to_fixed(update), round_)         # uniformly random on its own
    total = sum of every client's `sent` (uint64, wrapping)  ->  from_fixed(total) == sum(update)

Clients i < j derive a shared key k_ij from their X25519 secret (HKDF-SHA256, with a context
that keeps one protocol's masks apart from another's); in round r, client i adds the ChaCha20
keystream of (k_ij, r) to its vector and client j subtracts it. Vectors are fixed-point integers
(`FIXED_POINT_BITS` fractional bits) in Z_2^64, where the keystream is uniform, so the sum is
exact and each masked vector alone says nothing. A client finds its own position by its public
key in the list every client got. The aggregator must relay keys faithfully
(honest-but-curious); a client that drops out stops the protocol.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

FloatArray = npt.NDArray[np.float64]
UInt64Array = npt.NDArray[np.uint64]

#: Fractional bits of the fixed-point vectors: resolution 6e-8, and room for a sum of
#: magnitudes up to 2^38 (about 2.7e11) before the 64-bit sum would wrap.
FIXED_POINT_BITS = 24


def new_key_pair() -> tuple[X25519PrivateKey, bytes]:
    """A client's key pair: the private key, and the 32 bytes of its public key to share."""
    private = X25519PrivateKey.generate()
    return private, private.public_key().public_bytes_raw()


def to_fixed(values: FloatArray) -> UInt64Array:
    encoded: UInt64Array = np.round(values * 2.0**FIXED_POINT_BITS).astype(np.int64).view(np.uint64)
    return encoded


def from_fixed(values: UInt64Array) -> FloatArray:
    decoded: FloatArray = values.view(np.int64).astype(np.float64) / 2.0**FIXED_POINT_BITS
    return decoded


class PairwiseMasks:
    """One client's pairwise masks: a ChaCha20 keystream per other client and round."""

    def __init__(
        self, private: X25519PrivateKey, public: bytes, keys: Sequence[bytes], context: bytes
    ) -> None:
        self.position = list(keys).index(public)
        self._pairs: list[tuple[bool, bytes]] = []
        for other, key in enumerate(keys):
            if other == self.position:
                continue
            secret = private.exchange(X25519PublicKey.from_public_bytes(key))
            shared = HKDF(hashes.SHA256(), 32, salt=None, info=context).derive(secret)
            # The lower position adds the stream, the higher one subtracts it.
            self._pairs.append((other > self.position, shared))

    def mask(self, values: UInt64Array, round_: int) -> UInt64Array:
        masked = values.copy()
        for add, key in self._pairs:
            # A nonce per round (ChaCha20's 16 bytes: 4 of block counter, 12 of nonce).
            nonce = bytes(4) + round_.to_bytes(12, "little")
            stream = Cipher(algorithms.ChaCha20(key, nonce), mode=None).encryptor()
            noise = np.frombuffer(stream.update(bytes(8 * len(values))), "<u8").astype(np.uint64)
            if add:
                masked += noise
            else:
                masked -= noise
        return masked


def to_fixed_wide(values: FloatArray) -> UInt64Array:
    """Fixed-point values too large for `to_fixed` (up to 2^71 in magnitude), as two words per
    value (shape (..., 2)): the integer's low 32 bits, and the rest as a signed word. A sum of
    masked words is exact for up to 2^32 clients: low words cannot carry out of 64 bits."""
    scaled = np.rint(np.ldexp(np.asarray(values, dtype=np.float64), FIXED_POINT_BITS))
    if not np.isfinite(scaled).all() or np.abs(scaled).max(initial=0.0) >= 2.0**94:
        raise ValueError("values must be finite and below 2^70 in magnitude")
    high = np.floor(np.ldexp(scaled, -32))
    low = scaled - np.ldexp(high, 32)
    words: UInt64Array = np.stack(
        [low.astype(np.uint64), high.astype(np.int64).view(np.uint64)], axis=-1
    )
    return words


def from_fixed_wide(words: UInt64Array) -> FloatArray:
    """The sum `to_fixed_wide` words (summed modulo 2^64, word by word) stand for."""
    low = words[..., 0].astype(np.float64)
    high = words[..., 1].view(np.int64).astype(np.float64)
    values: FloatArray = np.ldexp(np.ldexp(high, 32) + low, -FIXED_POINT_BITS)
    return values
