"""HeteroSecureBoost end to end: the breast cancer job and a synthetic table, on real nodes.

    python bench/secureboost.py [--rows 10000] [--features 100] [--skip-synthetic]

1. FATE's hetero SecureBoost example job (Reader, DataTransform, RSA Intersection,
   HeteroSecureBoost with 1024-bit Paillier keys, 5 trees of depth 3, Evaluation) on the breast
   cancer tables, guest 9999 and host 10000 as node processes: submit to success, the
   SecureBoost task's time, the AUC, and where each party's time went.
2. The same job, 5 trees of depth 5, on a synthetic 10,000 x 100 table (50 features at each
   party).

Each party's time: guest encrypt (g and h of every instance, each tree), decrypt (the hosts'
packed candidate sums), histograms (its own, plaintext); host histogram (ciphertext sums per
bin), pack (shifting sums into shared plaintexts, and re-randomising); the rest is waiting for
the other party, the network, and bookkeeping. Floor measured in the same run: XGBoost's hist
method on the joined table, same trees. Prints a table and ends with one JSON line. Never
fails on a timing.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from google.protobuf import json_format

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.hetero_lr import synthetic
from fateflow.v1 import job_service_pb2 as pb
from fateflow.v1 import tracking_service_pb2 as tpb
from fateflow.v1 import tracking_service_pb2_grpc
from tests.multiparty.cluster import EXAMPLES, FINAL, NodeProcess, start_parties, upload, wait_for
from tests.multiparty.test_scheduling import GUEST, HOST, statuses, struct
from tests.multiparty.test_secureboost import secureboost_conf, secureboost_dsl

LEARNER = "secureboost_0"


def run_job(
    nodes: dict[int, NodeProcess], tables: tuple[str, str], trees: int, depth: int
) -> dict[str, Any]:
    params = {
        "task_type": "classification",
        "objective_param": {"objective": "cross_entropy"},
        "num_trees": trees,
        "n_iter_no_change": False,  # every tree, for comparable figures
        "encrypt_param": {"method": "Paillier", "key_length": 1024},
        "tree_param": {"max_depth": depth},
    }
    guest = nodes[GUEST]
    started = time.perf_counter()
    job_id = str(
        guest.jobs()
        .SubmitJob(
            pb.SubmitJobRequest(
                job_dsl=struct(secureboost_dsl()),
                job_runtime_conf=struct(secureboost_conf(tables, params)),
            )
        )
        .job_id
    )
    wait_for(lambda: statuses(guest, job_id)["guest"] in FINAL, 3600, f"job {job_id}")
    elapsed = time.perf_counter() - started
    assert statuses(guest, job_id) == {"guest": "success"}, statuses(guest, job_id)
    tasks = guest.jobs().QueryTask(pb.QueryTaskRequest(job_id=job_id, role="guest")).data
    components = {t.f_component_name: t.f_elapsed / 1000 for t in tasks}
    seconds = {}
    for role, party in (("guest", GUEST), ("host", HOST)):
        stub = tracking_service_pb2_grpc.TrackingServiceStub(nodes[party].channel())
        answer = stub.GetComponentSummary(
            tpb.GetComponentSummaryRequest(
                job_id=job_id, role=role, party_id=party, component_name=LEARNER
            )
        )
        seconds[role] = json_format.MessageToDict(answer.data)["seconds"]
    stub = tracking_service_pb2_grpc.TrackingServiceStub(guest.channel())
    evaluation = json_format.MessageToDict(
        stub.GetComponentMetricAll(
            tpb.GetComponentMetricAllRequest(
                job_id=job_id, role="guest", party_id=GUEST, component_name="evaluation_0"
            )
        ).data
    )
    task = components[LEARNER]
    shares = {
        f"{role}_{phase}": round(value / task, 3)
        for role, phases in seconds.items()
        for phase, value in phases.items()
        if phase != "wait"
    }
    return {
        "job_s": round(elapsed, 2),
        "secureboost_s": round(task, 2),
        "components_s": components,
        "shares": shares,
        "seconds": {role: {k: round(v, 2) for k, v in s.items()} for role, s in seconds.items()},
        "auc": dict(evaluation["train"][LEARNER]["data"])["auc"],
    }


def xgboost_seconds(guest_csv: Path, host_csv: Path, trees: int, depth: int) -> float | None:
    """XGBoost's hist method on the joined table, the same trees: the floor."""
    try:
        import xgboost
    except ImportError:
        return None
    guest = np.loadtxt(guest_csv, delimiter=",", skiprows=1)
    host = np.loadtxt(host_csv, delimiter=",", skiprows=1)
    features, labels = np.hstack([guest[:, 2:], host[:, 1:]]), guest[:, 1]
    model = xgboost.XGBClassifier(
        tree_method="hist", n_estimators=trees, max_depth=depth, max_bin=32, reg_lambda=0.1
    )
    started = time.perf_counter()
    model.fit(features, labels)
    return time.perf_counter() - started


def report(name: str, figures: dict[str, Any], floor: float | None) -> None:
    print(f"{name}:")
    print(f"  submit -> success       {figures['job_s']:8.2f} s   (AUC {figures['auc']:.4f})")
    print(f"  HeteroSecureBoost task  {figures['secureboost_s']:8.2f} s")
    print(f"  components              {figures['components_s']}")
    print(f"  seconds per phase       {figures['seconds']}")
    print(f"  share of the task       {figures['shares']}")
    if floor is not None:
        ratio = figures["secureboost_s"] / floor
        print(f"  XGBoost hist, same trees: {floor * 1000:.1f} ms ({ratio:.0f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--features", type=int, default=100)
    parser.add_argument("--skip-synthetic", action="store_true")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as base:
        nodes = start_parties(Path(base), [GUEST, HOST])
        try:
            upload(nodes[GUEST], "breast_hetero_guest")
            upload(nodes[HOST], "breast_hetero_host")
            results["breast"] = run_job(nodes, ("breast_hetero_guest", "breast_hetero_host"), 5, 3)
            results["breast"]["xgboost_s"] = xgboost_seconds(
                EXAMPLES / "data" / "breast_hetero_guest.csv",
                EXAMPLES / "data" / "breast_hetero_host.csv",
                5,
                3,
            )
            if not args.skip_synthetic:
                guest_csv, host_csv = synthetic(Path(base), args.rows, args.features)
                upload(nodes[GUEST], "synthetic_guest", guest_csv)
                upload(nodes[HOST], "synthetic_host", host_csv)
                results["synthetic"] = run_job(nodes, ("synthetic_guest", "synthetic_host"), 5, 5)
                results["synthetic"]["xgboost_s"] = xgboost_seconds(guest_csv, host_csv, 5, 5)
        finally:
            for node in nodes.values():
                node.stop()
    report(
        "breast hetero SecureBoost, 5 trees of depth 3, 1024-bit keys",
        results["breast"],
        results["breast"]["xgboost_s"],
    )
    if "synthetic" in results:
        report(
            f"synthetic {args.rows} x {args.features}, 5 trees of depth 5, 1024-bit keys",
            results["synthetic"],
            results["synthetic"]["xgboost_s"],
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
