"""What the standalone's front adds to a call, against the same call made to a party's core.

    python bench/front.py [--requests 2000] [--parties 2]

Starts `fateflow standalone` (parties 9999, 10000, ... on free ports, in a temporary directory),
uploads one table (a data job of the first party), then measures from this process, with
synchronous gRPC stubs, `QueryJob` of that job:

- at the first party's core, on its Unix socket (the floor);
- at the front, naming the data job's party: sent on to that one core;
- at the front, naming no party: sent to every core, the answers merged.

The runs alternate in rounds, so that a machine that slows down or speeds up weighs on all.
Prints a table, then one JSON line of the figures. A figure is never a failure.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fateflow.v1 import (  # noqa: E402
    data_service_pb2,
    data_service_pb2_grpc,
    job_service_pb2,
    job_service_pb2_grpc,
)
from fateflow_grpc.standalone.launcher import standalone_layout  # noqa: E402
from tests.multiparty.cluster import wait_for  # noqa: E402
from tests.standalone.process import free_port_offset  # noqa: E402

ROUNDS = 4
TABLE = ROOT / "examples" / "data" / "breast_hetero_guest.csv"


def timed(call: Callable[[], Any], count: int) -> list[float]:
    latencies = []
    for _ in range(count):
        began = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - began)
    return latencies


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(fraction * len(ordered)), len(ordered) - 1)] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="per path")
    parser.add_argument("--parties", type=int, default=2)
    args = parser.parse_args()
    parties = tuple(9999 + n for n in range(args.parties))
    offset = free_port_offset(parties)

    with tempfile.TemporaryDirectory() as tmp:
        layout = standalone_layout(Path(tmp) / "var", parties, offset)
        command = [sys.executable, "-m", "fateflow_grpc", "standalone", "--data-dir", "var"]
        command += ["--parties", ",".join(map(str, parties)), "--port-offset", str(offset)]
        log = (Path(tmp) / "standalone.log").open("wb")
        process = subprocess.Popen(command, cwd=tmp, stdout=log, stderr=log)
        try:
            front = grpc.insecure_channel(layout.grpc_address)
            core = grpc.insecure_channel(layout.parties[0].grpc_address)
            wait_for(
                lambda: "HTTP gateway on" in (Path(tmp) / "standalone.log").read_text(),
                300,
                "the standalone to start",
            )
            settings = data_service_pb2.UploadDataRequest(
                file=TABLE.name, head=1, partition=4, namespace="bench", table_name="guest"
            )
            chunk = data_service_pb2.UploadDataRequest(chunk=TABLE.read_bytes())
            data = data_service_pb2_grpc.DataServiceStub(front)  # type: ignore[no-untyped-call]
            job_id = data.UploadData(iter([settings, chunk])).job_id

            def query(channel: grpc.Channel, **fields: Any) -> Callable[[], Any]:
                stub = job_service_pb2_grpc.JobServiceStub(channel)  # type: ignore[no-untyped-call]
                request = job_service_pb2.QueryJobRequest(job_id=job_id, **fields)
                return lambda: stub.QueryJob(request)

            paths = {
                "core": query(core, role="local", party_id=0),
                "front_one": query(front, role="local", party_id=0),
                "front_every": query(front),
            }
            for call in paths.values():
                assert len(call().data) == 1
                timed(call, 200)  # warm-up
            latencies: dict[str, list[float]] = {name: [] for name in paths}
            began = time.perf_counter()
            for _ in range(ROUNDS):
                for name, call in paths.items():
                    latencies[name] += timed(call, max(args.requests // ROUNDS, 1))
            total = time.perf_counter() - began
            front.close()
            core.close()
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(60)
            log.close()

    figures = {}
    for name, values in latencies.items():
        figures[f"{name}_p50_ms"] = percentile(values, 0.50)
        figures[f"{name}_p99_ms"] = percentile(values, 0.99)
    figures["added_one_p50_ms"] = figures["front_one_p50_ms"] - figures["core_p50_ms"]
    figures["added_every_p50_ms"] = figures["front_every_p50_ms"] - figures["core_p50_ms"]
    figures = {key: round(value, 3) for key, value in figures.items()}

    print(
        f"\nQueryJob of one data job; {args.requests} sequential requests per path, "
        f"{args.parties} parties; {os.cpu_count()} CPUs; measured in {total:.1f} s\n"
    )
    print(f"{'path':<44}{'p50 ms':>9}{'p99 ms':>9}")
    for name, label in (
        ("core", "the first party's core (Unix socket)"),
        ("front_one", "the front, sent on to that core"),
        ("front_every", f"the front, sent to all {args.parties} cores, merged"),
    ):
        print(f"{label:<44}{figures[f'{name}_p50_ms']:>9.3f}{figures[f'{name}_p99_ms']:>9.3f}")
    print(
        f"\nadded by the front at p50: {figures['added_one_p50_ms']:.3f} ms to one core "
        f"({figures['front_one_p50_ms'] / figures['core_p50_ms']:.2f}x), "
        f"{figures['added_every_p50_ms']:.3f} ms to every core "
        f"({figures['front_every_p50_ms'] / figures['core_p50_ms']:.2f}x)\n"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
