"""HeteroFeatureBinning with IV: guest and host roles in threads of one process over the
in-memory wire (every object through the real federation codec), 1024-bit Paillier.

    python bench/feature_binning.py [--rows 100000] [--cols 50] [--skip-credit]

Two workloads: synthetic guest and host tables of `--rows` x `--cols` (binary labels at the
guest), and FATE's `default_credit` tables (30,000 rows) when they are beside the project.
Floor measured in the same run: the plaintext binning and IV of the same columns on the combined
table (what one party holding everything would do). The phases that make up the rest: the
guest's encryption of one ciphertext per row, the host's per-bin products, the decryption.
Prints a table and ends with one JSON line. Never fails on a timing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fateflow_grpc.components.feature import binning, hetero_binning
from fateflow_grpc.components.sdk.context import Dataset
from fateflow_grpc.components.sdk.testing import Wire, run_parties
from fateflow_grpc.components.sdk.transport import Participants
from fateflow_grpc.domain.parties import PartyRole
from tests.data import fate_data_dir

GUEST, HOST = PartyRole("guest", 9999), PartyRole("host", 10000)
PARTIES = Participants(GUEST, (HOST,))


def synthetic(rows: int, cols: int) -> tuple[Dataset, Dataset]:
    rng = np.random.default_rng(1)
    ids = np.asarray([str(i) for i in range(rows)], dtype=object)
    guest_x = rng.normal(size=(rows, cols))
    host_x = rng.normal(size=(rows, cols))
    logit = guest_x[:, :5].sum(axis=1) + host_x[:, :5].sum(axis=1)
    labels = (logit + rng.normal(size=rows) > 0).astype(np.float64)
    header = [f"x{j}" for j in range(cols)]
    return Dataset(ids, guest_x, labels, header), Dataset(ids, host_x, None, header)


def credit() -> tuple[Dataset, Dataset] | None:
    found = fate_data_dir()
    if found is None:
        return None
    tables = []
    for name, label in (
        ("default_credit_hetero_guest.csv", True),
        ("default_credit_hetero_host.csv", False),
    ):
        rows = np.genfromtxt(found / name, delimiter=",", names=True)
        names = [n for n in rows.dtype.names if n not in ("id", "y")]
        ids = np.asarray([str(int(v)) for v in rows["id"]], dtype=object)
        features = np.column_stack([rows[n] for n in names]).astype(np.float64)
        tables.append(
            Dataset(ids, features, rows["y"].astype(np.float64) if label else None, names)
        )
    return tables[0], tables[1]


def floor_s(guest: Dataset, host: Dataset) -> float:
    """Plaintext quantile binning and IV of every column of the combined table."""
    assert guest.labels is not None
    started = time.perf_counter()
    features = np.hstack([guest.features, host.features])
    classes = binning.label_classes(guest.labels)
    onehot = binning.onehot_labels(guest.labels, classes)
    for j in range(features.shape[1]):
        points = binning.quantile_points(features[:, j], 10, 1e-4)
        counts = binning.label_counts(binning.bin_indexes(features[:, j], points), onehot)
        binning.woe_iv(counts[:, 0], counts.sum(axis=1) - counts[:, 0], 0.5)
    return time.perf_counter() - started


def federated_s(guest: Dataset, host: Dataset) -> tuple[float, float]:
    params = hetero_binning.validate_parameters({"bin_num": 10})
    started = time.perf_counter()
    results = run_parties(
        Wire(),
        {
            GUEST: lambda t: hetero_binning.fit_guest(t, guest, params, PARTIES),
            HOST: lambda t: hetero_binning.fit_host(t, host, params, PARTIES, local=HOST),
        },
    )
    total = time.perf_counter() - started
    assert results[GUEST].hosts
    # The guest's encryption alone, the floor of the protocol: one ciphertext per row.
    from fateflow_grpc.components.crypto import paillier

    key, _ = paillier.generate_keypair(1024)
    started = time.perf_counter()
    key.encrypt_many([1] * len(guest.ids))
    return total, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--cols", type=int, default=50)
    parser.add_argument("--skip-credit", action="store_true")
    args = parser.parse_args()
    report: dict[str, Any] = {"bench": "feature_binning", "key_length": 1024}
    workloads = [
        (f"synthetic {args.rows}x{args.cols}+{args.cols}", synthetic(args.rows, args.cols))
    ]
    if not args.skip_credit and (tables := credit()) is not None:
        workloads.append(("default_credit", tables))
    print(f"{'workload':32} {'federated s':>12} {'encrypt s':>10} {'floor s':>8} {'ratio':>7}")
    for name, (guest, host) in workloads:
        floor = floor_s(guest, host)
        total, encrypt = federated_s(guest, host)
        print(f"{name:32} {total:12.2f} {encrypt:10.2f} {floor:8.2f} {total / floor:7.1f}")
        key = "credit" if name == "default_credit" else "synthetic"
        report[key] = {
            "rows": len(guest.ids),
            "guest_cols": len(guest.header),
            "host_cols": len(host.header),
            "federated_s": round(total, 3),
            "encrypt_labels_s": round(encrypt, 3),
            "plaintext_floor_s": round(floor, 3),
            "ratio": round(total / floor, 1),
        }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
