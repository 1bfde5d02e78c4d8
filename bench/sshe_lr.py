"""HeteroSSHELR against HeteroLR, end to end on real node processes (guest 9999, host 10000,
which is HeteroLR's arbiter too), 1024-bit Paillier keys.

    python bench/sshe_lr.py [--iterations 10] [--credit-iterations 3]

Jobs (Reader, DataTransform, RSA Intersection, the learner, Evaluation), each run for a fixed
number of iterations (tol 0) on the breast tables (569 rows, 10 + 20 features) and on FATE's
`default_credit` (30,000 rows, 13 + 10 features; skipped when FATE's tables are not beside the
repository, or with `--credit-iterations 0`):

* HeteroLR with FATE's example parameters (rmsprop, L2);
* HeteroSSHELR revealing weights every iteration (FATE's `hetero_lr_normal` example: rmsprop);
* HeteroSSHELR with shared weights (FATE's default: sgd), the slower mode.

Per job: submit -> success, the learner's time per iteration (median of the guest's
`iteration_seconds`), the guest's phases per iteration, and the AUC. The floor, measured in
the same run: the same iterations of plaintext logistic regression with numpy on the joined
data. The load average at the start and the end is printed beside the figures. Prints a table,
ends with one JSON line; never fails on a timing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from google.protobuf import json_format

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fateflow.v1 import tracking_service_pb2 as tpb
from fateflow.v1 import tracking_service_pb2_grpc
from tests.data import EXAMPLES, fate_data_dir
from tests.multiparty.cluster import NodeProcess, start_parties, two_party_example, upload
from tests.multiparty.test_scheduling import GUEST, HOST, statuses, submit, wait_final

LEARNERS: dict[str, tuple[str, dict[str, Any]]] = {
    "hetero_lr": ("HeteroLR", {}),
    "sshe_revealed": (
        "HeteroSSHELR",
        {"optimizer": "rmsprop", "reveal_every_iter": True, "init_param": {"init_method": "zeros"}},
    ),
    "sshe_shared": (
        "HeteroSSHELR",
        {"optimizer": "sgd", "reveal_every_iter": False, "init_param": {"init_method": "zeros"}},
    ),
}


def job(
    name: str, tables: tuple[str, str], iterations: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    module, overrides = LEARNERS[name]
    dsl, conf = two_party_example("hetero_lr", 2)
    common = conf["component_parameters"]["common"]
    params = common.pop("hetero_lr_0") | overrides | {"max_iter": iterations, "tol": 0.0}
    params["encrypt_param"] = {"key_length": 1024}
    if module != "HeteroLR":
        params["early_stop"] = "diff"
        del conf["role"]["arbiter"]
    components = dsl["components"]
    components["learner_0"] = components.pop("hetero_lr_0") | {"module": module}
    components["evaluation_0"]["input"]["data"]["data"] = ["learner_0.data"]
    common["learner_0"] = params
    roles = conf["component_parameters"]["role"]
    for role, table in zip(("guest", "host"), tables, strict=True):
        roles[role]["0"]["reader_0"]["table"]["name"] = table
    return dsl, conf


def run(
    nodes: dict[int, NodeProcess], name: str, tables: tuple[str, str], iterations: int
) -> dict[str, Any]:
    dsl, conf = job(name, tables, iterations)
    started = time.perf_counter()
    job_id = submit(nodes[GUEST], dsl, conf)
    wait_final(nodes, job_id, timeout=7200)
    elapsed = time.perf_counter() - started
    assert statuses(nodes[GUEST], job_id) == {"guest": "success"}, statuses(nodes[GUEST], job_id)
    stub = tracking_service_pb2_grpc.TrackingServiceStub(nodes[GUEST].channel())

    def ask(method: str, component: str) -> Any:
        request = getattr(tpb, f"{method}Request")(
            job_id=job_id, role="guest", party_id=GUEST, component_name=component
        )
        return json_format.MessageToDict(getattr(stub, method)(request).data)

    summary = ask("GetComponentSummary", "learner_0")
    auc = dict(ask("GetComponentMetricAll", "evaluation_0")["train"]["learner_0"]["data"])["auc"]
    per_iteration = summary["iteration_seconds"]
    phases = {
        phase: round(seconds / max(len(per_iteration), 1), 3)
        for phase, seconds in sorted(summary["seconds"].items())
    }
    return {
        "job_s": round(elapsed, 2),
        "iteration_s": round(float(np.median(per_iteration)), 3),
        "guest_phases_per_iteration_s": phases,
        "auc": round(auc, 4),
    }


def plaintext_seconds(guest_csv: Path, host_csv: Path, iterations: int) -> float:
    """The same number of full-batch logistic-regression steps on the joined data with numpy."""
    guest = np.loadtxt(guest_csv, delimiter=",", skiprows=1)
    host = np.loadtxt(host_csv, delimiter=",", skiprows=1)
    order = {sample: k for k, sample in enumerate(host[:, 0].tolist())}
    features = np.hstack([guest[:, 2:], host[[order[s] for s in guest[:, 0].tolist()], 1:]])
    labels = guest[:, 1]
    weights = np.zeros(features.shape[1])
    started = time.perf_counter()
    for _ in range(iterations):
        scores = 1 / (1 + np.exp(-(features @ weights)))
        weights -= 0.15 * features.T @ (scores - labels) / len(labels)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--credit-iterations", type=int, default=3)
    args = parser.parse_args()
    fate = fate_data_dir()
    credit = args.credit_iterations > 0 and fate is not None
    load_before = os.getloadavg()[0]
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as base:
        nodes = start_parties(Path(base), [GUEST, HOST])
        try:
            upload(nodes[GUEST], "breast_hetero_guest")
            upload(nodes[HOST], "breast_hetero_host")
            breast_floor = plaintext_seconds(
                EXAMPLES / "breast_hetero_guest.csv",
                EXAMPLES / "breast_hetero_host.csv",
                args.iterations,
            )
            figures["breast"] = {
                "iterations": args.iterations,
                "plaintext_s": round(breast_floor, 4),
                **{
                    name: run(
                        nodes, name, ("breast_hetero_guest", "breast_hetero_host"), args.iterations
                    )
                    for name in LEARNERS
                },
            }
            if credit:
                assert fate is not None
                guest_csv = fate / "default_credit_hetero_guest.csv"
                host_csv = fate / "default_credit_hetero_host.csv"
                upload(nodes[GUEST], "default_credit_hetero_guest", guest_csv)
                upload(nodes[HOST], "default_credit_hetero_host", host_csv)
                figures["default_credit"] = {
                    "iterations": args.credit_iterations,
                    "plaintext_s": round(
                        plaintext_seconds(guest_csv, host_csv, args.credit_iterations), 4
                    ),
                    **{
                        name: run(
                            nodes,
                            name,
                            ("default_credit_hetero_guest", "default_credit_hetero_host"),
                            args.credit_iterations,
                        )
                        for name in LEARNERS
                    },
                }
        finally:
            for node in nodes.values():
                node.stop()
    figures["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    print(
        f"load average {load_before:.1f} at the start, {figures['load_average'][1]:.1f} at the end"
    )
    for table in ("breast", "default_credit"):
        if table not in figures:
            continue
        result = figures[table]
        floor = result["plaintext_s"] / result["iterations"]
        print(
            f"{table}, {result['iterations']} iterations, 1024-bit keys (numpy floor {floor * 1000:.2f} ms per iteration):"
        )
        lr_iteration = result["hetero_lr"]["iteration_s"]
        for name in LEARNERS:
            row = result[name]
            row["vs_hetero_lr"] = round(row["iteration_s"] / lr_iteration, 2)
            row["vs_plaintext"] = round(row["iteration_s"] / floor)
            print(
                f"  {name:14} submit -> success {row['job_s']:8.2f} s, per iteration "
                f"{row['iteration_s']:7.3f} s ({row['vs_hetero_lr']}x HeteroLR, "
                f"{row['vs_plaintext']}x numpy), AUC {row['auc']}"
            )
            print(f"  {'':14} guest per iteration {row['guest_phases_per_iteration_s']}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
