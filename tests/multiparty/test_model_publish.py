"""`/v1/model/load` and `/v1/model/bind` publish a trained model to FATE-Serving: two real
nodes, each with its own serving endpoint (tests/serving/endpoint.py), which check exactly
what FATE-Serving would receive."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from fateflow.serving import model_service_pb2 as spb
from fateflow.v1 import job_service_pb2 as pb
from tests.multiparty.cluster import (
    NodeProcess,
    free_ports,
    start_parties,
    two_party_example,
    upload,
)
from tests.multiparty.test_scheduling import GUEST, HOST, submit, wait_final
from tests.serving.endpoint import ServingEndpoint

ROLES = {"guest": [GUEST], "host": [HOST], "arbiter": [HOST]}


class Cluster:
    def __init__(self, parties: dict[int, NodeProcess], servings: dict[int, ServingEndpoint]):
        self.parties = parties
        self.servings = servings
        self.model_id = ""
        self.model_version = ""

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST to the guest's gateway, as FATE's client does; FATE's envelope."""
        url = f"http://127.0.0.1:{self.parties[GUEST].http_port}{path}"
        request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(request, timeout=60) as answer:
            envelope: dict[str, Any] = json.loads(answer.read())
        return envelope

    def conf(self, **job_parameters: Any) -> dict[str, Any]:
        """A load or bind conf of the trained model, as the client's `-c` file holds it."""
        return {
            "initiator": {"party_id": GUEST, "role": "guest"},
            "role": ROLES,
            "job_parameters": {
                "work_mode": 1,
                "model_id": self.model_id,
                "model_version": self.model_version,
                **job_parameters,
            },
        }

    def received(self) -> dict[int, list[tuple[str, spb.PublishRequest]]]:
        """What each party's serving endpoint received since the last call."""
        requests = {party: list(s.requests) for party, s in self.servings.items()}
        for serving in self.servings.values():
            serving.requests.clear()
        return requests


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    servings = {GUEST: ServingEndpoint().start(), HOST: ServingEndpoint().start()}
    parties = start_parties(
        tmp_path_factory.mktemp("publish"),
        [GUEST, HOST],
        {party: {"servings": [serving.address]} for party, serving in servings.items()},
    )
    try:
        upload(parties[GUEST], "breast_hetero_guest")
        upload(parties[HOST], "breast_hetero_host")
        dsl, conf = two_party_example("hetero_lr", 1)
        conf["algorithm_parameters"]["hetero_lr_0"]["max_iter"] = 2  # a model is all we need
        job_id = submit(parties[GUEST], dsl, conf)
        assert wait_final(parties, job_id, timeout=300)[GUEST] == {"guest": "success"}
        config = parties[GUEST].jobs().GetJobConfig(pb.GetJobConfigRequest(job_id=job_id)).data
        cluster = Cluster(parties, servings)
        cluster.model_id = config.model_info.model_id
        cluster.model_version = config.model_info.model_version
        yield cluster
    finally:
        for node in parties.values():
            node.stop()
        for serving in servings.values():
            serving.stop()


def expected_request(
    cluster: Cluster, role: str, party: int, parts: list[tuple[str, int]], **fields: Any
) -> spb.PublishRequest:
    """FATE-Serving's PublishRequest from `role` `party`, written out field by field."""
    return spb.PublishRequest(
        local=spb.LocalInfo(role=role, partyId=str(party)),
        role={
            "guest": spb.Party(partyId=["9999"]),
            "host": spb.Party(partyId=["10000"]),
            "arbiter": spb.Party(partyId=["10000"]),
        },
        model={
            part_role: spb.RoleModelInfo(
                roleModelInfo={
                    str(part_party): spb.ModelInfo(
                        tableName=cluster.model_version,
                        namespace=f"{part_role}#{part_party}#{cluster.model_id}",
                    )
                }
            )
            for part_role, part_party in parts
        },
        **fields,
    )


EVERY_PART = [("guest", GUEST), ("host", HOST), ("arbiter", HOST)]


def test_load_publishes_each_party_part_to_its_servings(cluster: Cluster) -> None:
    assert cluster.model_id == "arbiter-10000#guest-9999#host-10000#model"
    answer = cluster.post("/v1/model/load", cluster.conf(load_type="FATEFLOW"))
    assert answer["retcode"] == 0 and answer["retmsg"] == "success", answer
    assert answer["jobId"] and answer["jobId"] != cluster.model_version
    success = {"retcode": 0, "retmsg": "success"}
    assert answer["data"] == {
        "guest": {"9999": 0},
        "host": {"10000": 0},
        "detail": {"guest": {"9999": success}, "host": {"10000": success}},
    }
    load = {"loadType": "FATEFLOW"}
    assert cluster.received() == {
        GUEST: [("publishLoad", expected_request(cluster, "guest", GUEST, EVERY_PART, **load))],
        HOST: [("publishLoad", expected_request(cluster, "host", HOST, EVERY_PART, **load))],
    }

    # By the training job's id instead of a conf: the same model, the same requests.
    answer = cluster.post("/v1/model/load", {"job_id": cluster.model_version})
    assert answer["retcode"] == 0, answer
    assert cluster.received() == {
        GUEST: [("publishLoad", expected_request(cluster, "guest", GUEST, EVERY_PART))],
        HOST: [("publishLoad", expected_request(cluster, "host", HOST, EVERY_PART))],
    }


def test_load_to_the_servings_the_request_names(cluster: Cluster) -> None:
    with ServingEndpoint() as named:
        answer = cluster.post("/v1/model/load", {**cluster.conf(), "servings": [named.address]})
        assert answer["retcode"] == 0, answer
        assert sorted(named.requests, key=lambda r: r[1].local.role) == [
            ("publishLoad", expected_request(cluster, "guest", GUEST, EVERY_PART)),
            ("publishLoad", expected_request(cluster, "host", HOST, EVERY_PART)),
        ]
    assert cluster.received() == {GUEST: [], HOST: []}


def test_bind_publishes_the_initiator_part(cluster: Cluster) -> None:
    answer = cluster.post("/v1/model/bind", {**cluster.conf(), "service_id": "breast-lr"})
    assert answer == {"retcode": 0, "retmsg": "service id is breast-lr"}
    bind = expected_request(cluster, "guest", GUEST, [("guest", GUEST)], serviceId="breast-lr")
    assert cluster.received() == {GUEST: [("publishBind", bind)], HOST: []}


def test_bind_without_a_service_id(cluster: Cluster) -> None:
    answer = cluster.post("/v1/model/bind", cluster.conf())
    assert answer == {"retcode": 101, "retmsg": "no service id"}
    assert cluster.received() == {GUEST: [], HOST: []}


def test_an_unreachable_serving_is_named_per_party(cluster: Cluster) -> None:
    (port,) = free_ports(1)
    dead = f"127.0.0.1:{port}"
    answer = cluster.post("/v1/model/load", {**cluster.conf(), "servings": [dead]})
    assert answer["retcode"] == 101, answer
    message = answer["retmsg"]
    assert "failed at 2 of 2 parties" in message
    for party in ("guest 9999", "host 10000"):
        assert f"{party}: serving {dead} could not be reached" in message
    answer = cluster.post(
        "/v1/model/bind", {**cluster.conf(), "service_id": "s", "servings": [dead]}
    )
    assert answer["retcode"] == 104 and f"serving {dead} could not be reached" in answer["retmsg"]


def test_a_serving_that_refuses_fails_its_party(cluster: Cluster) -> None:
    host_serving = cluster.servings[HOST]
    host_serving.status_code = 3
    try:
        answer = cluster.post("/v1/model/load", cluster.conf())
    finally:
        host_serving.status_code = 0
    assert answer["retcode"] == 101, answer
    assert answer["retmsg"].endswith(
        f"failed at 1 of 2 parties: host 10000: serving {host_serving.address} refused to load "
        "the model: status code 3, publishLoad refused test endpoint answers statusCode 3"
    )
    received = cluster.received()
    assert [method for method, _ in received[GUEST]] == ["publishLoad"]
    assert [method for method, _ in received[HOST]] == ["publishLoad"]


def test_a_model_a_party_does_not_hold(cluster: Cluster) -> None:
    conf = cluster.conf()
    conf["job_parameters"]["model_version"] = "202001010000000000000"
    answer = cluster.post("/v1/model/load", conf)
    assert answer["retcode"] == 101, answer
    for party in ("guest 9999", "host 10000"):
        assert (
            f"{party}: {party} has no model {cluster.model_id} version 202001010000000000000"
            in answer["retmsg"]
        )
    answer = cluster.post("/v1/model/bind", {**conf, "service_id": "s"})
    assert answer["retcode"] == 101
    assert answer["retmsg"] == (
        f"guest 9999 has no model {cluster.model_id} version 202001010000000000000"
    )
    assert cluster.received() == {GUEST: [], HOST: []}
