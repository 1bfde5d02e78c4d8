"""Job settings that may expose a party's data: warned about in the job's rows and log, and
refused by a party configured with security.strict (with keys shorter than 2048 bits)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from fateflow.v1 import job_service_pb2 as pb
from tests.multiparty.cluster import NodeProcess, start_parties, upload
from tests.multiparty.test_crashes import ARBITER, THREE, hetero_lr_job
from tests.multiparty.test_scheduling import GUEST, HOST, chain, conf_v2, submit

SHARED = f"party {HOST} is both the arbiter and a host"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[int, NodeProcess]]:
    nodes = start_parties(tmp_path_factory.mktemp("safeguards"), list(THREE))
    upload(nodes[HOST], "breast_hetero_host")
    upload(nodes[GUEST], "breast_hetero_guest")
    yield nodes
    for node in nodes.values():
        node.stop()


def query(node: NodeProcess, job_id: str) -> list[dict[str, Any]]:
    """/v1/job/query's rows, as FATE's clients read them."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{node.http_port}/v1/job/query",
        data=json.dumps({"job_id": job_id}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.load(response)
    assert answer["retcode"] == 0, answer
    rows: list[dict[str, Any]] = answer["data"]
    return rows


def stop(node: NodeProcess, job_id: str) -> None:
    node.jobs().StopJob(pb.StopJobRequest(job_id=job_id))


def small_batches() -> tuple[dict[str, Any], dict[str, Any]]:
    dsl, conf = hetero_lr_job()
    conf["component_parameters"]["common"]["hetero_lr_0"]["batch_size"] = 10
    return dsl, conf


def test_an_arbiter_that_is_also_a_host_is_warned_about(three: dict[int, NodeProcess]) -> None:
    conf = conf_v2()  # guest 9999, host 10000, arbiter 10000
    job_id = submit(three[GUEST], chain(1), conf)
    (row,) = query(three[GUEST], job_id)
    assert row["f_status"] in ("waiting", "running", "success")
    assert len(row["f_warnings"]) == 1 and row["f_warnings"][0].startswith(SHARED)
    rows = query(three[HOST], job_id)
    assert {r["f_role"] for r in rows} == {"host", "arbiter"}
    assert all(r["f_warnings"] == row["f_warnings"] for r in rows)
    schedule = three[GUEST].data_dir / "logs" / job_id / "fate_flow_schedule.log"
    assert f"WARNING {SHARED}" in schedule.read_text()
    # A separate arbiter: nothing to say.
    job_id = submit(
        three[GUEST], chain(1), {**conf, "role": {**conf["role"], "arbiter": [ARBITER]}}
    )
    assert query(three[GUEST], job_id)[0]["f_warnings"] == []


def test_hetero_lr_batches_no_larger_than_the_hosts_features_are_warned_about(
    three: dict[int, NodeProcess],
) -> None:
    job_id = submit(three[GUEST], *small_batches())
    stop(three[GUEST], job_id)
    (warning,) = query(three[GUEST], job_id)[0]["f_warnings"]
    assert warning.startswith(
        f"hetero_lr_0: batches of 10 rows are no larger than host {HOST}'s 20 features"
    )
    (host,) = query(three[HOST], job_id)
    assert host["f_warnings"] == [warning]


def strong(job: tuple[dict[str, Any], dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The job with 2048-bit Paillier and RSA keys."""
    dsl, conf = job
    common = conf["component_parameters"]["common"]
    common["hetero_lr_0"]["encrypt_param"] = {"key_length": 2048}
    common["intersection_0"] = {"rsa_params": {"key_length": 2048}}
    return dsl, conf


def refusal(node: NodeProcess, job: tuple[dict[str, Any], dict[str, Any]]) -> str:
    with pytest.raises(grpc.RpcError) as caught:
        submit(node, *job)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    details: str = caught.value.details()
    return details


def test_a_strict_party_refuses_what_it_would_warn_about(three: dict[int, NodeProcess]) -> None:
    guest, host = three[GUEST], three[HOST]
    guest.settings["security"] = {"strict": True}
    guest.restart()
    try:
        refused = "party 9999 refuses the job (security.strict): "
        assert refused + SHARED in refusal(guest, (chain(1), conf_v2()))
        # What the host warns about, the strict guest refuses.
        assert "batches of 10 rows are no larger than" in refusal(guest, strong(small_batches()))
        weak = refusal(guest, hetero_lr_job())
        assert refused in weak
        assert "encrypt_param.key_length 1024 is shorter than the 2048 bits" in weak
        assert "rsa_params.key_length 1024" in weak
        job_id = submit(guest, *strong(hetero_lr_job()))
        stop(guest, job_id)
        assert query(guest, job_id)[0]["f_warnings"] == []
        # A strict host refuses its part itself.
        host.settings["security"] = {"strict": True}
        host.restart()
        refused_by_host = refusal(guest, strong(small_batches()))
        assert f"party {HOST} refuses the job (security.strict): hetero_lr_0: batches" in (
            refused_by_host
        )
    finally:
        for node in (guest, host):
            if node.settings.pop("security", None):
                node.restart()
