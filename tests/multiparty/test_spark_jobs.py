"""A real job whose guest computes on Spark (`local[1]`, from its node config) and whose host
computes locally, as `job_parameters` say party by party: the same model and evaluation as the
job computed locally everywhere. A party without Spark refuses a job that asks it for Spark."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import json_format

from fateflow.v1 import tracking_service_pb2 as tpb
from fateflow.v1 import tracking_service_pb2_grpc
from tests.multiparty.cluster import NodeProcess, start_parties, two_party_example, upload
from tests.multiparty.test_scheduling import GUEST, HOST, statuses, submit, wait_final

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def parties(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[int, NodeProcess]]:
    if shutil.which("java") is None:
        pytest.skip("no Java on this machine: Spark needs it (Debian: openjdk-17-jre-headless)")
    pytest.importorskip("pyspark", reason="pyspark is not installed (the spark extra)")
    # One worker at the guest: one SparkSession (one JVM) for the job's tasks there.
    nodes = start_parties(
        tmp_path_factory.mktemp("spark"),
        [GUEST, HOST],
        {GUEST: {"spark_master": "local[1]", "workers": 1}},
    )
    for party, kind in ((GUEST, "guest"), (HOST, "host")):
        upload(nodes[party], f"breast_hetero_{kind}")
    yield nodes
    for node in nodes.values():
        node.stop()


def hetero_lr_job(job_parameters: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    dsl, conf = two_party_example("hetero_lr", 2)
    conf = copy.deepcopy(conf)
    conf["component_parameters"]["common"]["hetero_lr_0"].update(max_iter=3, tol=0.0)
    conf["job_parameters"].update(job_parameters)
    return dsl, conf


def component_results(parties: dict[int, NodeProcess], job_id: str) -> dict[str, Any]:
    """The guest's intersection and evaluation metrics and its HeteroLR model."""
    stub = tracking_service_pb2_grpc.TrackingServiceStub(parties[GUEST].channel())
    results = {}
    for component in ("intersection_0", "evaluation_0"):
        answer = stub.GetComponentMetricAll(
            tpb.GetComponentMetricAllRequest(
                job_id=job_id, role="guest", party_id=GUEST, component_name=component
            )
        )
        results[component] = json_format.MessageToDict(answer.data)
    model = stub.GetComponentOutputModel(
        tpb.GetComponentOutputModelRequest(
            job_id=job_id, role="guest", party_id=GUEST, component_name="hetero_lr_0"
        )
    )
    weights = json_format.MessageToDict(model.data)
    results["model"] = {"weight": weights["weight"], "intercept": weights["intercept"]}
    return results


def test_the_guest_on_spark_gives_the_local_results(parties: dict[int, NodeProcess]) -> None:
    local_id = submit(parties[GUEST], *hetero_lr_job({}))
    spark_id = submit(
        parties[GUEST],
        *hetero_lr_job({"role": {"guest": {"0": {"computing_engine": "SPARK"}}}}),
    )
    for job_id in (local_id, spark_id):
        wait_final(parties, job_id, timeout=900)
        assert statuses(parties[GUEST], job_id) == {"guest": "success"}
        assert statuses(parties[HOST], job_id) == {"host": "success", "arbiter": "success"}
    local, on_spark = (component_results(parties, job_id) for job_id in (local_id, spark_id))
    assert on_spark["model"] == local["model"]
    assert on_spark["intersection_0"] == local["intersection_0"]
    assert on_spark["evaluation_0"] == local["evaluation_0"]
    assert local["evaluation_0"]["train"]["hetero_lr_0"]["data"]  # there is something to compare


def test_a_party_without_spark_refuses_a_spark_job(parties: dict[int, NodeProcess]) -> None:
    dsl, conf = hetero_lr_job({"common": {"computing_engine": "SPARK"}})
    with pytest.raises(grpc.RpcError) as raised:
        submit(parties[GUEST], dsl, conf)
    assert "no spark_master in its node config" in str(raised.value.details())
