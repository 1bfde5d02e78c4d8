"""Paillier operations per second, ours against python-paillier (`phe`, which uses gmpy2).

    python bench/paillier.py [--key-length 1024] [--rounds 5]

Both libraries get the same key (phe's keys are built from our primes) and the same random
values in [-1, 1]; each decrypts the other's ciphertexts before the clock starts. Part 1 runs
on one core (the process is pinned to one CPU, so neither library can use another):

- encrypt: a float, one call per value. Ours three ways: with obfuscators precomputed before
  the clock starts (`PublicKey.precompute`: what encryption costs once the pool was filled
  during idle time), and with an empty pool, the obfuscator computed with each encryption,
  classic (r^n, what phe computes) and DJN (hs^a from a table: our keys' default).
- decrypt: one call per ciphertext; ours also in a batch (`decrypt_many`), and the textbook
  decryption (exponent lcm(p-1, q-1) modulo n^2) to show what the CRT saves.
- add: two ciphertexts of the same exponent; add a plaintext float.
- scalar multiply: a ciphertext times a float.
- HeteroLR's gradient X^T @ [[d]] for a 569 x 30 X (the breast cancer table's shape): our
  `matvec` against phe's sum of products, in operations (multiply-adds) per second.

Part 2, every core: ours on one core against ours on all of the process's cores, for the
operations that spread (obfuscators of both kinds, `decrypt_many`, `matvec` 30 x 569 and
50 x 10,000 with HeteroLR's 2^-23 precision), with the CPU time per item on one core (what an
operation costs whatever the load). The speedup is what the machine gives: on a machine whose
other processes keep its cores busy there is nothing to gain.

Rounds alternate ours and phe, so load from other processes weighs on both; each figure is
the best of its rounds. The load average is printed with the figures. Prints tables and ends
with one JSON line. Results are checked for correctness; a timing never fails the run.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import operator
import os
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import gmpy2
import numpy as np
import phe

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fateflow_grpc.components.crypto import exponentiation, paillier

SAMPLES, FEATURES = 569, 30
#: HeteroLR's default `floating_point_precision`: X is encoded at 2^-23.
X_PRECISION = 2.0**-23


def rate(operation: Callable[[Any], object], items: Sequence[Any]) -> float:
    """Calls per second of `operation` over `items`."""
    started = time.perf_counter()
    for item in items:
        operation(item)
    return len(items) / (time.perf_counter() - started)


def seconds(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def cpu_seconds(action: Callable[[], object]) -> float:
    """The CPU time `action` took, every thread of the process: what the load does not change."""
    started = time.process_time()
    action()
    return time.process_time() - started


@contextmanager
def pinned(cpus: set[int]) -> Iterator[None]:
    """This process on `cpus` only (`exponentiation.cores()` follows the affinity)."""
    everything = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, everything)


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

    public_key, private_key = paillier.generate_keypair(args.key_length)  # DJN
    assert public_key.hs is not None
    n = public_key.n
    phe_public = phe.PaillierPublicKey(n)
    phe_private = phe.PaillierPrivateKey(phe_public, private_key.p, private_key.q)
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
    assert [
        phe_private.decrypt(phe.EncryptedNumber(phe_public, o.ciphertext, o.exponent)) for o in ours
    ] == values[:400]
    assert (
        private_key.decrypt_many(
            [paillier.EncryptedNumber(public_key, t.ciphertext(), t.exponent) for t in theirs]
        )
        == values[:400]
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
        best[name] = max(best.get(name, figure), figure)

    load_before = os.getloadavg()[0]
    one_cpu = {min(os.sched_getaffinity(0))}
    started, cpu_started = time.perf_counter(), time.process_time()
    with pinned(one_cpu):
        for _ in range(args.rounds):
            batch = values[:200]
            record("encrypt_phe", rate(phe_public.encrypt, batch))
            public_key.precompute(len(batch))
            record("encrypt_precomputed_ours", rate(public_key.encrypt, batch))
            # An empty pool: each encryption computes its obfuscator.
            classic = paillier.PublicKey(n)
            record("encrypt_classic_ours", rate(classic.encrypt, values[200:400]))
            djn = paillier.PublicKey(n, public_key.hs)
            djn._fixed_base()  # the table is the key's, built once when it arrives
            record("encrypt_djn_ours", rate(djn.encrypt, values[200:400]))

            record("decrypt_phe", rate(phe_private.decrypt, theirs[:200]))
            record("decrypt_ours", rate(private_key.decrypt, ours[:200]))
            record("decrypt_many_ours", 200 / seconds(lambda: private_key.decrypt_many(ours[:200])))
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

            record("gradient_phe", SAMPLES * FEATURES / seconds(phe_gradient))
            record(
                "gradient_ours",
                SAMPLES
                * FEATURES
                / seconds(lambda: paillier.matvec(features.T, encrypted_residuals)),
            )
    elapsed = time.perf_counter() - started
    cores_used = (time.process_time() - cpu_started) / elapsed

    # Part 2: the same operations of ours on one core and on all of them.
    big_features = np.random.default_rng(2028).normal(size=(10_000, 50))
    big_residuals = public_key.encrypt_many(
        np.random.default_rng(2029).uniform(-0.5, 0.5, size=10_000), precision=2.0**-40
    )
    spread: dict[str, tuple[str, float, Callable[[], object]]] = {
        "obfuscators_classic": (
            "classic obfuscators (r^n)",
            200,
            lambda: paillier.PublicKey(n)._new_obfuscators(200),
        ),
        "obfuscators_djn": ("DJN obfuscators (hs^a)", 2000, lambda: djn._new_obfuscators(2000)),
        "decrypt_many": ("decrypt_many", 400, lambda: private_key.decrypt_many(ours)),
        "matvec_breast": (
            f"matvec {FEATURES} x {SAMPLES} (mul-adds)",
            SAMPLES * FEATURES,
            lambda: paillier.matvec(features.T, encrypted_residuals, precision=X_PRECISION),
        ),
        "matvec_synthetic": (
            "matvec 50 x 10,000 (mul-adds)",
            500_000,
            lambda: paillier.matvec(big_features.T, big_residuals, precision=X_PRECISION),
        ),
    }
    every_core = exponentiation.cores()
    for _ in range(max(args.rounds // 2, 1)):
        for name, (_, count, action) in spread.items():
            with pinned(one_cpu):
                record(f"{name}_one_core", count / seconds(action))
                # The lowest CPU per item: recorded negated, as `record` keeps the highest.
                record(f"{name}_cpu_us", -1e6 * cpu_seconds(action) / count)
            record(f"{name}_every_core", count / seconds(action))
    load_after = os.getloadavg()[0]

    rows = [
        ("encrypt (obfuscators precomputed)", "encrypt_precomputed_ours", "encrypt_phe"),
        ("encrypt, classic obfuscator", "encrypt_classic_ours", "encrypt_phe"),
        ("encrypt, DJN obfuscator", "encrypt_djn_ours", "encrypt_phe"),
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
        "cores": every_core,
        "load_average": [round(load_before, 2), round(load_after, 2)],
        "phe_version": phe.__version__,
        "gmpy2_version": gmpy2.version(),
    }
    print(
        f"Paillier, {args.key_length}-bit keys, load average {load_before:.1f} -> "
        f"{load_after:.1f}; phe {phe.__version__} with gmpy2 {gmpy2.version()}\n"
    )
    print(
        f"1. One core ({cores_used:.2f} cores used), best of {args.rounds} rounds "
        f"({elapsed:.1f} s)\n"
    )
    print(f"{'operation':<40}{'ours ops/s':>12}{'phe ops/s':>12}{'ratio':>10}")
    for label, ours_key, phe_key in rows:
        ratio = best[ours_key] / best[phe_key]
        print(f"{label:<40}{best[ours_key]:>12,.0f}{best[phe_key]:>12,.0f}{ratio:>9.2f}x")
        figures[ours_key] = round(best[ours_key], 1)
        figures[phe_key] = round(best[phe_key], 1)
        figures[f"{ours_key.removesuffix('_ours')}_ratio"] = round(ratio, 2)
    crt_speedup = best["decrypt_ours"] / best["decrypt_textbook"]
    figures["decrypt_textbook"] = round(best["decrypt_textbook"], 1)
    figures["crt_speedup"] = round(crt_speedup, 2)
    djn_speedup = best["encrypt_djn_ours"] / best["encrypt_classic_ours"]
    figures["djn_speedup"] = round(djn_speedup, 2)
    print(
        f"\nCRT decryption: {crt_speedup:.1f}x the textbook one "
        f"({best['decrypt_textbook']:,.0f} decryptions/s); DJN obfuscators: {djn_speedup:.1f}x "
        "classic ones"
    )
    print(f"\n2. Every core ({every_core}) against one\n")
    print(
        f"{'operation':<40}{'CPU us/item':>12}{'one core/s':>12}{'every core/s':>14}{'speedup':>9}"
    )
    for name, (label, _, _) in spread.items():
        one, every = best[f"{name}_one_core"], best[f"{name}_every_core"]
        cpu = -best[f"{name}_cpu_us"]
        print(f"{label:<40}{cpu:>12,.2f}{one:>12,.0f}{every:>14,.0f}{every / one:>8.2f}x")
        figures[f"{name}_cpu_us_per_item"] = round(cpu, 3)
        figures[f"{name}_one_core"] = round(one, 1)
        figures[f"{name}_every_core"] = round(every, 1)
        figures[f"{name}_speedup"] = round(every / one, 2)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
