"""The Bloom filter: no false negatives, about the false-positive rate it was sized for, the same
filter after the wire, and a filter that is not one refused."""

from __future__ import annotations

import numpy as np
import pytest

from fateflow_grpc.components.crypto.bloom_filter import BloomFilter

ADDED = [f"in{k}".encode() for k in range(5000)]
OTHERS = [f"out{k}".encode() for k in range(20000)]


@pytest.mark.parametrize("rate", [0.01, 0.1])
def test_members_always_pass_and_others_at_about_the_rate(rate: float) -> None:
    bloom = BloomFilter.sized(len(ADDED), rate, "sha256", random_state=None)
    bloom.add(ADDED)
    assert all(bloom.contains(ADDED))
    observed = sum(bloom.contains(OTHERS)) / len(OTHERS)
    assert rate / 3 < observed < rate * 2


def test_the_wire_keeps_the_filter_and_a_seed_fixes_the_salts() -> None:
    bloom = BloomFilter.sized(100, 0.01, "sm3", random_state=7)
    bloom.add(ADDED[:100])
    meta, bits = bloom.to_wire()
    again = BloomFilter.from_wire(meta, bits, ["sm3"])
    assert again.contains(ADDED[:100] + OTHERS[:500]) == bloom.contains(ADDED[:100] + OTHERS[:500])
    assert BloomFilter.sized(100, 0.01, "sm3", random_state=7).salts == bloom.salts
    assert BloomFilter.sized(100, 0.01, "sm3", random_state=None).salts != bloom.salts


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bits": 0}, "bits"),
        ({"bits": 1 << 40}, "bits"),
        ({"hash_method": "md4"}, "hashes with"),
        ({"salts": []}, "salts"),
        ({"salts": ["zz" * 16]}, "hexadecimal"),
        ({"extra": 1}, "not a Bloom filter"),
    ],
)
def test_a_bad_filter_is_refused(change: dict[str, object], message: str) -> None:
    meta, bits = BloomFilter.sized(10, 0.1, "sha256", random_state=None).to_wire()
    with pytest.raises(ValueError, match=message):
        BloomFilter.from_wire({**meta, **change}, bits, ["sha256"])
    with pytest.raises(ValueError, match="array"):
        BloomFilter.from_wire(meta, np.zeros(3, np.uint8), ["sha256"])
