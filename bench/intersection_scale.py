"""RSA intersection at scale, on the local engine and on Spark: time and peak memory per party.

    python bench/intersection_scale.py [--sizes 1000000,10000000] [--engines local,spark]
                                       [--master local[2]] [--driver-memory 4g]
                                       [--key-length 1024]

For each size N, a guest and a host of N ids each, half of them shared (ids `id<k>`, the
host's in another order), run FATE's RSA intersection (`intersect_guest`, `intersect_host`,
FATE's defaults: 1024-bit key, sha256, ids synchronised) each in its own process, the two
linked by a pipe of their own (the federation's wire is not what is measured here). With `spark`, each
party's process computes on its own SparkSession (`--master`, `local[2]` by default, started
before the clock: a node's worker keeps its session from task to task; the start is shown),
its driver given `--driver-memory` (Spark's default, 1g, when not given).

Per party: the wall time of the protocol, the peak resident memory of the party's process, and,
on Spark, the peak of the process with its JVM and Python workers (sampled every 0.2 s).

The floor, measured in the same run: the protocol's unavoidable work, the 2N RSA signatures
(the host signs the guest's N blinded ids and its own N ids, by the CRT) on every core of one
process with nothing else, timed on a sample of `--floor-sample` values and scaled to 2N. The
ratio is a party's time over that floor. Both parties share this 2-core machine, so the
figures are an upper bound of what each party takes on its own cores.

Prints a table and ends with one JSON line. Never fails on a timing.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import resource
import sys
import threading
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fateflow_grpc.components.intersect import intersection
from fateflow_grpc.components.sdk.computing import LOCAL_COMPUTING, Computing, SparkComputing
from fateflow_grpc.components.sdk.transport import Participants
from fateflow_grpc.domain.parties import PartyRole

GUEST = PartyRole("guest", 9999)
HOST = PartyRole("host", 10000)


class PipeTransport:
    """The federation's remote/get over one pipe between the two parties' processes."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._waiting: dict[tuple[str, str], object] = {}

    def remote(self, obj: object, name: str, tag: str, parties: Sequence[PartyRole]) -> None:
        self._connection.send((name, tag, obj))

    def get(
        self, name: str, tag: str, parties: Sequence[PartyRole], timeout: float
    ) -> list[object]:
        while (name, tag) not in self._waiting:
            got_name, got_tag, obj = self._connection.recv()
            self._waiting[(got_name, got_tag)] = obj
        return [self._waiting.pop((name, tag))]


class PeakMemory:
    """The peak resident memory of this process and its children (Spark's JVM and workers)."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(0.2):
            total = 0
            for process in [me, *me.children(recursive=True)]:
                try:
                    total += process.memory_info().rss
                except psutil.Error:
                    continue
            self.peak = max(self.peak, total)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def cpu_seconds() -> float:
    """CPU time of this process, its children gone and its children alive (Spark's JVM and
    Python workers): what a party's work costs, whatever else the machine runs."""
    me = psutil.Process()
    times = me.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in me.children(recursive=True):
        try:
            child_times = child.cpu_times()
        except psutil.Error:
            continue
        # Spark's Python daemon forks a worker per task: the ones gone count in its children.
        total += child_times.user + child_times.system
        total += child_times.children_user + child_times.children_system
    return total


def party_ids(size: int, role: str) -> list[str]:
    """N ids; the guest's are id0..id(N-1), the host's idN/2..id(3N/2 - 1), shuffled."""
    start = 0 if role == "guest" else size // 2
    ids = [f"id{k}" for k in range(start, start + size)]
    if role == "host":
        random.Random(size).shuffle(ids)
    return ids


def run_party(
    role: str,
    size: int,
    engine: str,
    spark_conf: dict[str, str],
    key_length: int,
    control: Connection,
    peer: Connection,
) -> None:
    ids = party_ids(size, role)
    params = intersection.validate_parameters({"rsa_params": {"key_length": key_length}})
    parties = Participants(GUEST, (HOST,))
    computing: Computing = LOCAL_COMPUTING
    started = time.perf_counter()
    if engine == "spark":
        computing = SparkComputing(spark_conf.pop("spark.master"), spark_conf, None)
        computing.map_partitions(list, [0, 1])  # the session, its JVM and Python workers
    session_s = time.perf_counter() - started
    transport = PipeTransport(peer)
    control.send("ready")
    control.recv()  # go
    with PeakMemory() as memory:
        cpu_before = cpu_seconds()
        started = time.perf_counter()
        if role == "guest":
            common = intersection.intersect_guest(
                transport, ids, params, parties, computing=computing
            ).ids
        else:
            common = intersection.intersect_host(
                transport, ids, params, parties, HOST, computing=computing
            ).ids
        seconds = time.perf_counter() - started
        cpu = cpu_seconds() - cpu_before
    own_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    control.send(
        {
            "seconds": seconds,
            "cpu_seconds": cpu,
            "session_seconds": session_s,
            "common": len(common or []),
            "peak_process_bytes": own_peak,
            "peak_with_children_bytes": max(memory.peak, own_peak),
        }
    )


def run_pair(size: int, engine: str, spark_conf: dict[str, str], key_length: int) -> dict[str, Any]:
    context = mp.get_context("spawn")
    # The parties talk over a pipe of their own; this process only starts them together.
    guest_end, host_end = context.Pipe()
    controls = {}
    processes = []
    for role, peer in (("guest", guest_end), ("host", host_end)):
        controls[role], control = context.Pipe()
        processes.append(
            context.Process(
                target=run_party,
                args=(role, size, engine, dict(spark_conf), key_length, control, peer),
                daemon=True,
            )
        )
    for process in processes:
        process.start()
    for link in controls.values():
        assert link.recv() == "ready"
    for link in controls.values():
        link.send("go")
    results = {role: link.recv() for role, link in controls.items()}
    for process in processes:
        process.join()
    return results


def signature_cost(key_length: int, sample: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one CRT signature, on every core, from a timed sample."""
    key = intersection._PrivateKey.generate(key_length)
    rng = random.Random(0)
    values = [intersection.gmpy2.mpz(rng.randrange(int(key.n))) for _ in range(sample)]
    cpu_before = cpu_seconds()
    started = time.perf_counter()
    key.sign(values)
    return (time.perf_counter() - started) / sample, (cpu_seconds() - cpu_before) / sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--engines", default="local,spark")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", help="spark.driver.memory, e.g. 4g")
    parser.add_argument("--key-length", type=int, default=1024)
    parser.add_argument("--floor-sample", type=int, default=50000)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    engines = args.engines.split(",")
    print(f"cores: {os.cpu_count()}, load average at start: {os.getloadavg()}")
    spark_conf = {"spark.master": args.master}
    if args.driver_memory:
        spark_conf["spark.driver.memory"] = args.driver_memory
    figures: dict[str, Any] = {"key_length": args.key_length, **spark_conf, "runs": []}
    header = (
        f"{'ids/party':>10} {'engine':>6} {'party':>6} {'seconds':>9} {'floor s':>8} "
        f"{'ratio':>6} {'CPU s':>7} {'process MB':>11} {'+JVM MB':>8} {'session s':>10}"
    )
    print(header)
    for size in sizes:
        wall, cpu = signature_cost(args.key_length, min(args.floor_sample, 2 * size))
        floor = wall * 2 * size
        print(f"floor for {size} ids: {floor:.1f} s (one signature: {cpu * 1e6:.0f} us of CPU)")
        for engine in engines:
            results = run_pair(size, engine, spark_conf, args.key_length)
            for role in ("guest", "host"):
                result = results[role]
                print(
                    f"{size:>10} {engine:>6} {role:>6} {result['seconds']:>9.1f} {floor:>8.1f} "
                    f"{result['seconds'] / floor:>6.2f} {result['cpu_seconds']:>7.1f} "
                    f"{result['peak_process_bytes'] / 2**20:>11.0f} "
                    f"{result['peak_with_children_bytes'] / 2**20:>8.0f} "
                    f"{result['session_seconds']:>10.1f}",
                    flush=True,
                )
                figures["runs"].append(
                    {
                        "ids_per_party": size,
                        "engine": engine,
                        "party": role,
                        "seconds": round(result["seconds"], 2),
                        "floor_seconds": round(floor, 2),
                        "ratio_to_floor": round(result["seconds"] / floor, 2),
                        "cpu_seconds": round(result["cpu_seconds"], 1),
                        "floor_signature_cpu_us": round(cpu * 1e6, 1),
                        "peak_process_mb": round(result["peak_process_bytes"] / 2**20),
                        "peak_with_spark_mb": round(result["peak_with_children_bytes"] / 2**20),
                        "spark_session_seconds": round(result["session_seconds"], 1),
                        "intersection": result["common"],
                    }
                )
                assert result["common"] == size - size // 2, "the intersection is wrong"
    figures["load_average_at_end"] = os.getloadavg()
    print(f"load average at end: {os.getloadavg()}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
