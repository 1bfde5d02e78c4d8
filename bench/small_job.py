"""A small job from submit to success: Reader and DataTransform on the breast tables (569 rows) at
guest 9999 and host 10000 (the hetero LR example's first two components), each party a real
`fateflow node` process.

    python bench/small_job.py [--jobs 20]

After one warm-up job, `--jobs` jobs run one after the other, each submitted at the guest and
timed until the guest's `QueryJob` says `success` (asked every 2 ms). For each task, its time
from start to end as its party recorded it, and the hand-over between the two components (the
reader's last end to the transform's first start). The floor, measured in the same run: one
control round trip guest -> host -> guest through both proxies (`CollectTasks`), the least a
step between parties costs. FATE 2.2 takes about 2 s per task on this machine (issue 17).
Prints a table and ends with one JSON line. Never fails on a timing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.scheduling import control_round_trip_ms, percentile
from fateflow.v1 import job_service_pb2 as pb
from tests.multiparty.cluster import FINAL, start_parties, two_party_example, upload
from tests.multiparty.test_scheduling import GUEST, HOST, statuses, submit

#: The hetero LR example's first two components.
COMPONENTS = ("reader_0", "data_transform_0")


def small_job() -> tuple[dict[str, Any], dict[str, Any]]:
    """The hetero LR example (`examples/hetero_lr`) cut to its first two components, run by
    its guest and host."""
    dsl, conf = two_party_example("hetero_lr", 2)
    dsl["components"] = {name: dsl["components"][name] for name in COMPONENTS}
    conf["role"] = {"guest": [GUEST], "host": [HOST]}
    parameters = conf["component_parameters"]
    parameters.pop("common", None)
    for by_index in parameters["role"].values():
        for index, components in by_index.items():
            by_index[index] = {name: components[name] for name in COMPONENTS}
    return dsl, conf


def run_one(guest: Any) -> str:
    job_id = submit(guest, *small_job())
    while statuses(guest, job_id)["guest"] not in FINAL:
        time.sleep(0.002)
    return job_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as base:
        nodes = start_parties(Path(base), [GUEST, HOST])
        try:
            guest = nodes[GUEST]
            upload(guest, "breast_hetero_guest")
            upload(nodes[HOST], "breast_hetero_host")
            run_one(guest)  # the warm-up: a new node's first task pays for what it loads once
            walls, runs, hand_overs = [], [], []
            for _ in range(args.jobs):
                started = time.perf_counter()
                job_id = run_one(guest)
                walls.append((time.perf_counter() - started) * 1000)
                assert statuses(guest, job_id) == {"guest": "success"}, statuses(guest, job_id)
                rows = guest.jobs().QueryTask(pb.QueryTaskRequest(job_id=job_id)).data
                runs += [row.f_end_time - row.f_start_time for row in rows]
                reader = [row for row in rows if row.f_component_name == "reader_0"]
                transform = [row for row in rows if row.f_component_name == "data_transform_0"]
                hand_overs.append(
                    min(r.f_start_time for r in transform) - max(r.f_end_time for r in reader)
                )
            round_trip = control_round_trip_ms(guest.local_proxy_address, job_id)
        finally:
            for node in nodes.values():
                node.stop()
    figures = {
        "jobs": args.jobs,
        "job_p50_ms": round(statistics.median(walls), 1),
        "job_p90_ms": round(percentile(walls, 0.9), 1),
        "task_p50_ms": statistics.median(runs),
        "task_p90_ms": percentile(runs, 0.9),
        "hand_over_p50_ms": statistics.median(hand_overs),
        "control_round_trip_p50_ms": round(round_trip, 2),
        "job_vs_round_trip": round(statistics.median(walls) / round_trip, 1),
    }
    print(f"Reader -> DataTransform on 569 rows at guest and host, {args.jobs} jobs:")
    print(
        f"  submit -> success p50 / p90       {figures['job_p50_ms']:8.1f} / {figures['job_p90_ms']} ms"
    )
    print(
        f"  a task, start -> end p50 / p90    {figures['task_p50_ms']:8.1f} / {figures['task_p90_ms']} ms"
    )
    print(f"  reader's end -> transform's start {figures['hand_over_p50_ms']:8.1f} ms")
    print(
        f"  floor: control round trip p50     {round_trip:8.2f} ms "
        f"(the job takes {figures['job_vs_round_trip']}x)"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
