"""Paillier operations per second, ours against python-paillier (`phe`, which uses gmpy2), on one core.

    python bench/paillier.py [--key-length 1024] [--rounds 5]

Both libraries get the same key (phe's keys are built from our primes) and the same random
values in [-1, 1]. Operations:

- encrypt: a float, one call per value. Ours twice: with obfuscators precomputed before the
  clock starts (`PublicKey.precompute`, what encryption costs once the pool is filled during
  idle time), and with the pool empty, so its refills are timed too (the total cost).
- decrypt: one call per ciphertext; ours also in a batch (`decrypt_many`), and the textbook
  decryption (exponent lcm(p-1, q-1) modulo n^2) to show what the CRT saves.
- add: two ciphertexts of the same exponent; add a plaintext float.
- scalar multiply: a ciphertext times a float.
- HeteroLR's gradient X^T @ [[d]] for a 569 x 30 X (the breast cancer table's shape): our
  `matvec` against phe's sum of products, in operations (multiply-adds) per second.

Everything runs in one thread, and neither library uses another (gmpy2 computes in the calling
thread): the process's CPU time over the wall time of the rounds is printed, at most 1.0. Rounds
alternate ours and phe, so load from other processes weighs on both; each figure is the best of
its rounds. Prints a table and ends with one JSON
line. Results are checked for correctness; a timing never fails the run.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import operator
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gmpy2
import numpy as np
import phe

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fateflow_grpc.components.crypto import paillier

SAMPLES, FEATURES = 569, 30


def rate(operation: Callable[[Any], object], items: Sequence[Any]) -> float:
    """Calls per second of `operation` over `items`."""
    started = time.perf_counter()
    for item in items:
        operation(item)
    return len(items) / (time.perf_counter() - started)


def textbook_decrypt(private_key: paillier.PrivateKey, lam: int, mu: int, ciphertext: int) -> int:
    n = private_key.public_key.n
    return int((gmpy2.powmod(ciphertext, lam, n * n) - 1) // n * mu % n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--key-length", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    rng = random.Random(2026)
    values = [rng.uniform(-1, 1) for _ in range(4000)]

    public_key, private_key = paillier.generate_keypair(args.key_length)
    phe_public = phe.PaillierPublicKey(public_key.n)
    phe_private = phe.PaillierPrivateKey(phe_public, private_key.p, private_key.q)
    n = public_key.n
    lam = (
        (private_key.p - 1)
        * (private_key.q - 1)
        // int(gmpy2.gcd(private_key.p - 1, private_key.q - 1))
    )
    mu = int(gmpy2.invert((pow(n + 1, lam, n * n) - 1) // n, n))

    ours = public_key.encrypt_many(values[:400])
    theirs = [phe_public.encrypt(v) for v in values[:400]]
    # Each side decrypts its own ciphertexts and the other's: the same numbers either way.
    assert private_key.decrypt_many(ours) == values[:400]
    assert [phe_private.decrypt(t) for t in theirs] == values[:400]
    assert (
        private_key.decrypt(
            paillier.EncryptedNumber(public_key, theirs[0].ciphertext(), theirs[0].exponent)
        )
        == values[0]
    )

    pairs = list(itertools.pairwise(ours)) * 50
    phe_pairs = list(itertools.pairwise(theirs)) * 50
    scaled = list(zip(ours, reversed(values[:400]), strict=True)) * 5
    phe_scaled = list(zip(theirs, reversed(values[:400]), strict=True)) * 5
    with_plain = list(zip(ours, values[400:800], strict=True)) * 10
    phe_with_plain = list(zip(theirs, values[400:800], strict=True)) * 10

    features = np.random.default_rng(2026).normal(size=(SAMPLES, FEATURES))
    residuals = np.random.default_rng(2027).uniform(-0.5, 0.5, size=SAMPLES)
    encrypted_residuals = public_key.encrypt_many(residuals)
    phe_residuals = [phe_public.encrypt(float(r)) for r in residuals]
    columns = features.T.tolist()

    def phe_gradient() -> list[Any]:
        return [
            functools.reduce(
                operator.add, [d * x for d, x in zip(phe_residuals, column, strict=True)]
            )
            for column in columns
        ]

    expected = features.T @ residuals
    np.testing.assert_allclose(
        private_key.decrypt_many(paillier.matvec(features.T, encrypted_residuals)),
        expected,
        rtol=1e-12,
        atol=1e-12,
    )
    np.testing.assert_allclose(
        [phe_private.decrypt(g) for g in phe_gradient()], expected, rtol=1e-9, atol=1e-9
    )

    best: dict[str, float] = {}

    def record(name: str, figure: float) -> None:
        best[name] = max(best.get(name, 0.0), figure)

    started, cpu_started = time.perf_counter(), time.process_time()
    for _ in range(args.rounds):
        batch = values[:200]
        record("encrypt_phe", rate(phe_public.encrypt, batch))
        public_key.precompute(len(batch))
        record("encrypt_precomputed_ours", rate(public_key.encrypt, batch))
        # An empty pool: refills (in batches of obfuscator_batch) are timed with encryption.
        cold = paillier.PublicKey(public_key.n)
        record(
            "encrypt_with_refills_ours",
            rate(cold.encrypt, values[200 : 200 + 4 * cold.obfuscator_batch]),
        )

        batch_ours, batch_theirs = ours[:200], theirs[:200]
        record("decrypt_phe", rate(phe_private.decrypt, batch_theirs))
        record("decrypt_ours", rate(private_key.decrypt, batch_ours))
        clock = time.perf_counter()
        private_key.decrypt_many(batch_ours)
        record("decrypt_many_ours", len(batch_ours) / (time.perf_counter() - clock))
        record(
            "decrypt_textbook",
            rate(
                lambda c: textbook_decrypt(private_key, lam, mu, c),
                [o.ciphertext for o in ours[:40]],
            ),
        )

        record("add_phe", rate(lambda ab: ab[0] + ab[1], phe_pairs))
        record("add_ours", rate(lambda ab: ab[0] + ab[1], pairs))
        record("add_plain_phe", rate(lambda ab: ab[0] + ab[1], phe_with_plain))
        record("add_plain_ours", rate(lambda ab: ab[0] + ab[1], with_plain))

        record("multiply_phe", rate(lambda ab: ab[0] * ab[1], phe_scaled))
        record("multiply_ours", rate(lambda ab: ab[0] * ab[1], scaled))

        clock = time.perf_counter()
        phe_gradient()
        record("gradient_phe", SAMPLES * FEATURES / (time.perf_counter() - clock))
        clock = time.perf_counter()
        paillier.matvec(features.T, encrypted_residuals)
        record("gradient_ours", SAMPLES * FEATURES / (time.perf_counter() - clock))
    elapsed = time.perf_counter() - started
    cores_used = (time.process_time() - cpu_started) / elapsed

    rows = [
        ("encrypt (obfuscators precomputed)", "encrypt_precomputed_ours", "encrypt_phe"),
        ("encrypt (pool refills included)", "encrypt_with_refills_ours", "encrypt_phe"),
        ("decrypt", "decrypt_ours", "decrypt_phe"),
        ("decrypt_many", "decrypt_many_ours", "decrypt_phe"),
        ("add ciphertexts", "add_ours", "add_phe"),
        ("add a plaintext", "add_plain_ours", "add_plain_phe"),
        ("scalar multiply (float)", "multiply_ours", "multiply_phe"),
        (f"X^T @ [[d]], {SAMPLES}x{FEATURES} (mul-adds)", "gradient_ours", "gradient_phe"),
    ]
    figures: dict[str, Any] = {
        "key_length": args.key_length,
        "rounds": args.rounds,
        "cores_used": round(cores_used, 2),
        "phe_version": phe.__version__,
        "gmpy2_version": gmpy2.version(),
    }
    print(
        f"Paillier, {args.key_length}-bit keys, one thread ({cores_used:.2f} cores used), best "
        f"of {args.rounds} rounds ({elapsed:.1f} s); phe {phe.__version__} with gmpy2 "
        f"{gmpy2.version()}\n"
    )
    print(f"{'operation':<40}{'ours ops/s':>12}{'phe ops/s':>12}{'ratio':>8}")
    for label, ours_key, phe_key in rows:
        ratio = best[ours_key] / best[phe_key]
        print(f"{label:<40}{best[ours_key]:>12,.0f}{best[phe_key]:>12,.0f}{ratio:>7.2f}x")
        figures[ours_key] = round(best[ours_key], 1)
        figures[phe_key] = round(best[phe_key], 1)
        figures[f"{ours_key.removesuffix('_ours')}_ratio"] = round(ratio, 2)
    crt_speedup = best["decrypt_ours"] / best["decrypt_textbook"]
    figures["decrypt_textbook"] = round(best["decrypt_textbook"], 1)
    figures["crt_speedup"] = round(crt_speedup, 2)
    print(
        f"\nCRT decryption: {crt_speedup:.1f}x the textbook one "
        f"({best['decrypt_textbook']:,.0f} decryptions/s)"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
