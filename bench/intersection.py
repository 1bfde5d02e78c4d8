"""Intersection's methods, seconds and bytes on the wire, on the breast ids and on large tables.

    python bench/intersection.py [--large 100000] [--dh-large 20000]

Each method runs its roles side by side in threads of this process over the in-memory wire of
`components/sdk/testing.py` (every object through the real federation codec), so the figure is
the protocol's computation and encoding, without a network or a scheduler:

* breast: the 569 ids of `breast_hetero_guest` and `breast_hetero_host` (all shared);
* large: a guest and a host of `--large` ids each, half of them shared (dh at `--dh-large`, as
  its exponentiations are the costliest by far).

Methods: raw (sha256), rsa (1024- and 2048-bit keys, and split_calculation), dh (1024 and 2048
bits), ecdh (X25519), and cardinality_only with ecdh. Every result is checked against the plain
set intersection (a wrong one fails the run; a timing never does). The floor, measured in the
same run: Python's set intersection of the same ids. The load average is printed beside the
figures; ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fateflow_grpc.components.intersect.intersection import (
    intersect_guest,
    intersect_host,
    validate_parameters,
)
from fateflow_grpc.components.sdk.testing import MemoryTransport, Wire, run_parties
from fateflow_grpc.components.sdk.transport import Participants
from fateflow_grpc.domain.parties import PartyRole
from tests.components.datasets import breast

GUEST = PartyRole("guest", 9999)
HOST = PartyRole("host", 10000)
METHODS: dict[str, dict[str, Any]] = {
    "raw sha256": {"intersect_method": "raw"},
    "rsa 1024": {"intersect_method": "rsa", "rsa_params": {"key_length": 1024}},
    "rsa 2048": {"intersect_method": "rsa", "rsa_params": {"key_length": 2048}},
    "rsa 1024 split": {
        "intersect_method": "rsa",
        "rsa_params": {"key_length": 1024, "split_calculation": True},
    },
    "dh 1024": {"intersect_method": "dh", "dh_params": {"key_length": 1024}},
    "dh 2048": {"intersect_method": "dh", "dh_params": {"key_length": 2048}},
    "ecdh": {"intersect_method": "ecdh"},
    "ecdh cardinality": {"cardinality_only": True, "cardinality_method": "ecdh"},
}
#: At the large size, dh runs at `--dh-large` ids and only at 1024 bits.
LARGE_SKIP = {"dh 2048", "rsa 2048"}


def wire_bytes(wire: Wire) -> int:
    total = 0
    for party in (GUEST, HOST):
        for delivery in wire.received_by(party):
            obj = delivery.obj
            total += obj.nbytes if isinstance(obj, np.ndarray) else len(json.dumps(obj))
    return total


def run(conf: dict[str, Any], guest_ids: list[str], host_ids: list[str]) -> dict[str, Any]:
    params = validate_parameters(conf)
    parties = Participants(GUEST, (HOST,))
    wire = Wire()

    def guest(t: MemoryTransport) -> Any:
        return intersect_guest(t, guest_ids, params, parties)

    def host(t: MemoryTransport) -> Any:
        return intersect_host(t, host_ids, params, parties, HOST)

    roles: dict[PartyRole, Callable[[MemoryTransport], Any]] = {GUEST: guest, HOST: host}
    start = time.perf_counter()
    results = run_parties(wire, roles)
    seconds = time.perf_counter() - start
    common = set(guest_ids) & set(host_ids)
    if params.cardinality_only:
        assert results[GUEST].cardinality == len(common), conf
    else:
        assert set(results[GUEST].ids) == common and set(results[HOST].ids) == common, conf
    return {"seconds": seconds, "bytes": wire_bytes(wire), "ids": len(guest_ids)}


def tables(count: int, seed: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    pool = [f"{n:012d}" for n in rng.sample(range(10**11), count + count // 2)]
    shared, guest_only, host_only = (
        pool[: count // 2],
        pool[count // 2 : count],
        pool[count : count + count // 2],
    )
    guest, host = shared + guest_only, shared + host_only
    rng.shuffle(guest)
    rng.shuffle(host)
    return guest, host


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--dh-large", type=int, default=20_000)
    args = parser.parse_args()
    print(f"load average at the start: {os.getloadavg()}")
    breast_ids = (
        [str(v) for v in breast("breast_hetero_guest").ids],
        [str(v) for v in breast("breast_hetero_host").ids],
    )
    rows: list[dict[str, Any]] = []
    large = tables(args.large, 1)
    dh_large = tables(args.dh_large, 2)
    for label, conf in METHODS.items():
        rows.append({"method": label, "table": "breast", **run(conf, *breast_ids)})
        print(rows[-1], flush=True)
        if label in LARGE_SKIP:
            continue
        rows.append(
            {
                "method": label,
                "table": "large",
                **run(conf, *(dh_large if label.startswith("dh") else large)),
            }
        )
        print(rows[-1], flush=True)
    floor = {}
    for size, (guest, host) in {"large": large, "dh_large": dh_large}.items():
        start = time.perf_counter()
        assert len(set(guest) & set(host)) == len(guest) // 2
        floor[size] = time.perf_counter() - start
    print()
    print("| method | table | ids per party | seconds | ids/s | MB on the wire |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(
            f"| {row['method']} | {row['table']} | {row['ids']:,} | {row['seconds']:.2f} | "
            f"{row['ids'] / row['seconds']:,.0f} | {row['bytes'] / 1e6:.2f} |"
        )
    print(f"\nfloor, Python's set intersection: {floor}")
    print(f"load average at the end: {os.getloadavg()}")
    print(json.dumps({"rows": rows, "floor": floor, "load": os.getloadavg()}))


if __name__ == "__main__":
    main()
