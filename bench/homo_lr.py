"""HomoLR: seconds per FedAvg round of the homo LR example, guest, host and arbiter as node
processes, secure aggregation included.

    python bench/homo_lr.py [--rounds 30]

The example job (Reader, DataTransform, HomoLR, Evaluation) on the breast cancer homo tables,
run twice on the same nodes: with `--rounds` aggregations, then with twice as many. A round's
time is what the second HomoLR task at the guest took more than the first, over the rounds it
added, so the task's fixed costs (key agreement, reading its input, writing its model and
predictions) are not charged to the rounds; those are shown apart, with the first task's time
over its rounds (how this bench measured a round before).
Baseline measured in the same run: one round of the same local computation (an sgd step on the
guest's rows with numpy), so the ratio shows what federation and masking cost.
Prints a table and ends with one JSON line. Never fails on a timing.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fateflow.v1 import job_service_pb2 as pb
from tests.multiparty.cluster import (
    EXAMPLES,
    FINAL,
    NodeProcess,
    start_parties,
    upload,
    wait_for,
)
from tests.multiparty.test_scheduling import GUEST, HOST, statuses, struct

ARBITER = 10001


def local_round_s(rounds: int) -> float:
    data = np.loadtxt(EXAMPLES / "data" / "breast_homo_guest.csv", delimiter=",", skiprows=1)
    features, labels = data[:, 2:], data[:, 1]
    weights = np.zeros(features.shape[1])
    started = time.perf_counter()
    for _ in range(rounds):
        scores = 1 / (1 + np.exp(-(features @ weights)))
        weights -= 0.15 * features.T @ (scores - labels) / len(labels)
    return (time.perf_counter() - started) / rounds


def run_job(
    guest: NodeProcess, dsl: dict[str, Any], conf: dict[str, Any], rounds: int
) -> tuple[float, float]:
    """The job with `rounds` aggregations: its submit-to-success and its HomoLR task's seconds."""
    conf = copy.deepcopy(conf)
    conf["component_parameters"]["common"]["homo_lr_0"].update(max_iter=rounds, tol=0.0)
    started = time.perf_counter()
    job_id = str(
        guest.jobs()
        .SubmitJob(pb.SubmitJobRequest(job_dsl=struct(dsl), job_runtime_conf=struct(conf)))
        .job_id
    )
    wait_for(lambda: statuses(guest, job_id)["guest"] in FINAL, 600, "the homo LR job")
    job_s = time.perf_counter() - started
    assert statuses(guest, job_id) == {"guest": "success"}, statuses(guest, job_id)
    tasks = guest.jobs().QueryTask(pb.QueryTaskRequest(job_id=job_id, role="guest")).data
    return job_s, next(t.f_elapsed for t in tasks if t.f_component_name == "homo_lr_0") / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    dsl = json.loads((EXAMPLES / "homo_lr" / "dsl_v2.json").read_text())
    conf = json.loads((EXAMPLES / "homo_lr" / "conf_v2.json").read_text())
    with tempfile.TemporaryDirectory() as base:
        nodes = start_parties(Path(base), [GUEST, HOST, ARBITER])
        try:
            upload(nodes[GUEST], "breast_homo_guest")
            upload(nodes[HOST], "breast_homo_host")
            job_s, fit_s = run_job(nodes[GUEST], dsl, conf, args.rounds)
            _, twice_s = run_job(nodes[GUEST], dsl, conf, 2 * args.rounds)
        finally:
            for node in nodes.values():
                node.stop()
    local = local_round_s(args.rounds)
    round_s = (twice_s - fit_s) / args.rounds
    figures = {
        "rounds": args.rounds,
        "job_s": round(job_s, 2),
        "homo_lr_task_s": round(fit_s, 3),
        "homo_lr_task_twice_the_rounds_s": round(twice_s, 3),
        "round_ms": round(round_s * 1000, 2),
        "task_fixed_ms": round((fit_s - args.rounds * round_s) * 1000, 1),
        "task_over_rounds_ms": round(fit_s / args.rounds * 1000, 2),
        "local_round_ms": round(local * 1000, 3),
        "round_vs_local": round(round_s / local, 1),
    }
    print(
        f"homo LR example, guest, host and arbiter each a node process, {args.rounds} then "
        f"{2 * args.rounds} FedAvg rounds:"
    )
    print(f"  submit -> success ({args.rounds} rounds)  {job_s:8.2f} s")
    print(
        f"  HomoLR task, {args.rounds} / {2 * args.rounds} rounds   {fit_s:8.3f} / {twice_s:.3f} s"
    )
    print(f"  per round                   {figures['round_ms']:8.2f} ms")
    print(f"  the task's fixed costs      {figures['task_fixed_ms']:8.1f} ms")
    print(f"  task / rounds (as before)   {figures['task_over_rounds_ms']:8.2f} ms")
    print(
        f"  local numpy step            {figures['local_round_ms']} ms  ({figures['round_vs_local']}x)"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
