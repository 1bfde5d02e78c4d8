"""Scheduling overhead across three roles on two node processes, every call through the proxies.

    python bench/scheduling.py [--components 20] [--jobs 50]

1. A chain of no-op components run by guest 9999, host 10000 and arbiter 10000: submit to
   success, and the per-task overhead: for each component, the time from the end of the one
   before it (at its last party) to its own start (at its first party), and the time a no-op
   task takes from start to end. Baseline measured in the same run: one control-plane round
   trip guest -> host -> guest through both proxies (CollectTasks).
2. `--jobs` one-component jobs submitted at once: jobs per minute and the longest wait in the
   queue (FATE-Flow's default limit of 5 running jobs per party applies).

Prints a table and ends with one JSON line. Never fails on a timing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fateflow.party.v1 import party_service_pb2, party_service_pb2_grpc
from fateflow.v1 import job_service_pb2 as pb
from party_proxy.routing import DST_PARTY, SRC_PARTY
from tests.multiparty.cluster import start_parties, wait_for
from tests.multiparty.test_scheduling import FINAL, GUEST, HOST, chain, conf_v2, statuses, submit


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def control_round_trip_ms(proxy: str, job_id: str, rounds: int = 200) -> float:
    with grpc.insecure_channel(proxy) as channel:
        stub = party_service_pb2_grpc.PartyServiceStub(channel)
        request = party_service_pb2.CollectTasksRequest(job_id=job_id, role="host", party_id=HOST)
        metadata = ((DST_PARTY, str(HOST)), (SRC_PARTY, str(GUEST)))
        samples = []
        for _ in range(rounds):
            started = time.perf_counter()
            stub.CollectTasks(request, metadata=metadata, timeout=10)
            samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--components", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as base:
        nodes = start_parties(Path(base), [GUEST, HOST])
        try:
            guest = nodes[GUEST]
            # Warm-up: the first job pays for imports in the workers.
            warm = submit(guest, chain(1), conf_v2())
            wait_for(lambda: statuses(guest, warm)["guest"] in FINAL, 60, "warm-up")

            started = time.perf_counter()
            job_id = submit(guest, chain(args.components), conf_v2())
            wait_for(lambda: statuses(guest, job_id)["guest"] in FINAL, 300, "the chain")
            chain_s = time.perf_counter() - started
            assert statuses(guest, job_id) == {"guest": "success"}, statuses(guest, job_id)

            rows = guest.jobs().QueryTask(pb.QueryTaskRequest(job_id=job_id)).data
            by_component: dict[str, list[Any]] = {}
            for row in rows:
                by_component.setdefault(row.f_component_name, []).append(row)
            gaps, runs = [], []
            for index in range(args.components):
                group = by_component[f"noop_{index}"]
                runs += [(r.f_end_time - r.f_start_time) for r in group]
                if index:
                    before = by_component[f"noop_{index - 1}"]
                    gaps.append(
                        min(r.f_start_time for r in group) - max(r.f_end_time for r in before)
                    )
            per_task = [g + statistics.median(runs) for g in gaps]
            rtt = control_round_trip_ms(nodes[GUEST].local_proxy_address, job_id)

            started = time.perf_counter()
            with ThreadPoolExecutor(8) as pool:
                many = list(
                    pool.map(lambda _: submit(guest, chain(1), conf_v2()), range(args.jobs))
                )
            wait_for(
                lambda: all(statuses(guest, j)["guest"] in FINAL for j in many), 600, "the jobs"
            )
            burst_s = time.perf_counter() - started
            waits = []
            for job in many:
                (row,) = guest.jobs().QueryJob(pb.QueryJobRequest(job_id=job, role="guest")).data
                waits.append((row.f_start_time - row.f_create_time) / 1000)
        finally:
            for node in nodes.values():
                node.stop()

    figures = {
        "chain_components": args.components,
        "chain_submit_to_success_s": round(chain_s, 3),
        "task_overhead_p50_ms": percentile(per_task, 0.5),
        "task_overhead_p99_ms": percentile(per_task, 0.99),
        "schedule_gap_p50_ms": percentile(gaps, 0.5),
        "noop_task_run_p50_ms": statistics.median(runs),
        "control_round_trip_p50_ms": round(rtt, 3),
        "overhead_to_round_trip_ratio": round(percentile(per_task, 0.5) / rtt, 1),
        "jobs": args.jobs,
        "jobs_per_min": round(args.jobs / burst_s * 60, 1),
        "max_queue_wait_s": round(max(waits), 3),
    }
    print(f"chain of {args.components} no-op components (guest, host, arbiter):")
    print(f"  submit -> success        {chain_s:8.2f} s")
    print(
        f"  per-task overhead p50    {figures['task_overhead_p50_ms']:8.1f} ms  (p99 {figures['task_overhead_p99_ms']} ms)"
    )
    print(
        f"    of which DAG step gap  {figures['schedule_gap_p50_ms']:8.1f} ms, no-op run {figures['noop_task_run_p50_ms']} ms"
    )
    print(
        f"  control round trip p50   {rtt:8.2f} ms  (overhead = {figures['overhead_to_round_trip_ratio']}x a round trip)"
    )
    print(
        f"{args.jobs} jobs at once: {figures['jobs_per_min']} jobs/min, longest queue wait {figures['max_queue_wait_s']} s"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
