"""A Bloom filter (FATE's `SaltedBloomFilter`): a bit array of m bits and k salted hashes, sized
for n items and a target false-positive rate p as FATE sizes it,
m = ceil(-n ln p / (ln 2)^2), k = round(m / n ln 2) (kept within 1..32).

    bloom = BloomFilter.sized(len(values), 1e-3, "sha256", random_state=None)
    bloom.add(values)
    bloom.contains(candidates)      # [bool]: never False for a value added
    meta, bits = bloom.to_wire()    # JSON values and a uint8 array, for the transport
    same = BloomFilter.from_wire(meta, bits, allowed_hash_methods)

The k salts come from `random_state` when given (FATE's seed for them), from `secrets`
otherwise; they travel with the filter, since the receiver must hash the same way. A filter
tells whoever holds it, for any value it cares to try, whether the value was probably added:
that is what it is for, and why a protocol that sends one says so.
"""

from __future__ import annotations

import hashlib
import math
import random
import secrets
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

MIN_HASHES = 1
MAX_HASHES = 32
SALT_BYTES = 16
#: A sender cannot make a receiver allocate more than this (2^32 bits is 512 MiB).
MAX_BITS = 1 << 32


class BloomFilter:
    def __init__(
        self, bits: int, salts: Sequence[bytes], hash_method: str, array: npt.NDArray[np.bool_]
    ) -> None:
        self.bits = bits
        self.salts = list(salts)
        self.hash_method = hash_method
        self._array = array

    @classmethod
    def sized(
        cls, count: int, false_positive_rate: float, hash_method: str, random_state: int | None
    ) -> BloomFilter:
        count = max(count, 1)
        bits = math.ceil(-count * math.log(false_positive_rate) / math.log(2) ** 2)
        hashes = min(max(round(bits / count * math.log(2)), MIN_HASHES), MAX_HASHES)
        if random_state is None:
            salts = [secrets.token_bytes(SALT_BYTES) for _ in range(hashes)]
        else:
            seeded = random.Random(random_state)
            salts = [seeded.randbytes(SALT_BYTES) for _ in range(hashes)]
        return cls(bits, salts, hash_method, np.zeros(bits, dtype=np.bool_))

    def _positions(self, values: Sequence[bytes]) -> npt.NDArray[np.int64]:
        """(len(values), k) bit positions: the first 8 bytes of hash(salt + value) mod m."""
        digest = self.hash_method
        rows = [
            [
                int.from_bytes(hashlib.new(digest, salt + value).digest()[:8], "big") % self.bits
                for salt in self.salts
            ]
            for value in values
        ]
        return np.array(rows, dtype=np.int64).reshape(len(values), len(self.salts))

    def add(self, values: Sequence[bytes]) -> None:
        self._array[self._positions(values).ravel()] = True

    def contains(self, values: Sequence[bytes]) -> list[bool]:
        if not values:
            return []
        hits = np.all(self._array[self._positions(values)], axis=1)
        return [bool(hit) for hit in np.atleast_1d(hits)]

    def to_wire(self) -> tuple[dict[str, Any], npt.NDArray[np.uint8]]:
        meta = {
            "bits": self.bits,
            "salts": [salt.hex() for salt in self.salts],
            "hash_method": self.hash_method,
        }
        return meta, np.packbits(self._array)

    @classmethod
    def from_wire(cls, meta: object, array: object, hash_methods: Sequence[str]) -> BloomFilter:
        """The filter another party sent; ValueError saying what is wrong with it."""
        if not isinstance(meta, dict) or set(meta) != {"bits", "salts", "hash_method"}:
            raise ValueError("is not a Bloom filter")
        bits, salts, method = meta["bits"], meta["salts"], meta["hash_method"]
        if not isinstance(bits, int) or not 1 <= bits <= MAX_BITS:
            raise ValueError(f"has {bits!r} bits, not 1 to {MAX_BITS}")
        if method not in hash_methods:
            raise ValueError(f"hashes with {method!r}, not one of {', '.join(hash_methods)}")
        if (
            not isinstance(salts, list)
            or not MIN_HASHES <= len(salts) <= MAX_HASHES
            or not all(isinstance(s, str) and len(s) == 2 * SALT_BYTES for s in salts)
        ):
            raise ValueError(f"does not have {MIN_HASHES} to {MAX_HASHES} salts")
        if (
            not isinstance(array, np.ndarray)
            or array.dtype != np.uint8
            or array.shape != (math.ceil(bits / 8),)
        ):
            raise ValueError(f"has no array of {bits} bits")
        try:
            decoded = [bytes.fromhex(s) for s in salts]
        except ValueError:
            raise ValueError("has salts that are not hexadecimal") from None
        return cls(bits, decoded, method, np.unpackbits(array, count=bits).astype(np.bool_))
