"""The gateway in front of the real core (the root conftest's `core_address`), over SQLite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fateflow_grpc.storage import jobs
from fateflow_grpc.storage.database import Database
from fateflow_grpc.storage.models import Job
from tests.gateway.conftest import Client, RunningGateway
from tests.gateway.rules import Rule, expected_rules

JOB_ID = "202401010000000000001"
#: A job id in FATE's format that no party has.
UNKNOWN = "20200101000000000404"


@pytest.fixture
def real_gateway(core_address: str) -> Iterator[RunningGateway]:
    gateway = RunningGateway(core_address)
    yield gateway
    gateway.close()


def test_routes_from_the_real_core(real_gateway: RunningGateway) -> None:
    table = sorted(
        Rule(r.verb, r.path, r.rpc, r.client_streaming, r.server_streaming)
        for r in real_gateway.gateway.routes
    )
    assert table == expected_rules()


def test_every_route_answers_an_envelope(real_gateway: RunningGateway) -> None:
    client = Client(real_gateway.url)
    for rule in expected_rules():
        # An empty request: the core refuses most of them, always with an envelope.
        reply = client.request(rule.verb, rule.path, json={})
        where = f"{rule.verb} {rule.path}: {reply.status} {reply.body[:200]!r}"
        assert reply.status < 500, where
        if reply.status == 200 and rule.server_streaming:
            continue
        body = reply.json()
        assert isinstance(body["retcode"], int), where
        assert isinstance(body["retmsg"], str) and body["retmsg"], where
        if rule.server_streaming:
            assert body["retcode"] != 0, where
        else:
            assert reply.status == 200, where


def test_query_a_stored_job(real_gateway: RunningGateway, node_database: Database) -> None:
    with node_database.session() as session:
        jobs.create_job(
            session,
            Job(
                f_job_id=JOB_ID,
                f_role="guest",
                f_party_id="9999",
                f_initiator_role="guest",
                f_initiator_party_id="9999",
                f_status="running",
                f_roles={"guest": [9999], "host": [10000], "arbiter": [10000]},
                f_dsl={"components": {}},
                f_runtime_conf={"initiator": {"role": "guest", "party_id": 9999}},
            ),
        )
    client = Client(real_gateway.url)
    body = client.post(
        "/v1/job/query", json={"job_id": JOB_ID, "role": "guest", "party_id": "9999"}
    ).json()
    assert body["retcode"] == 0, body
    [row] = body["data"]
    assert row["f_job_id"] == JOB_ID and row["f_status"] == "running"
    assert type(row["f_create_time"]) is int
    assert row["f_roles"]["guest"] == [9999] and type(row["f_roles"]["guest"][0]) is int
    assert row["f_runtime_conf"]["initiator"]["party_id"] == 9999
    assert {"f_dsl", "f_runtime_conf"} <= row.keys()  # `flow job query` deletes both

    same = client.post("/v1/job/query", json={"job_id": JOB_ID, "party_id": 9999}).json()
    assert same["data"] == body["data"]


@pytest.mark.parametrize(
    ("path", "body", "named"),
    [
        ("/v1/job/stop", {}, "job_id"),
        ("/v1/job/update", {"notes": "x"}, "job_id, role, party_id"),
        ("/v1/data/download", {"namespace": "n"}, "table_name, output_path"),
        ("/v1/tracking/component/metric_data", {"job_id": "1"}, "component_name"),
    ],
)
def test_missing_required_fields_are_named(
    real_gateway: RunningGateway, path: str, body: dict[str, str], named: str
) -> None:
    reply = Client(real_gateway.url).post(path, json=body)
    assert reply.status == 200
    answer = reply.json()
    assert answer["retcode"] == 100
    assert answer["retmsg"].startswith("the following arguments are required: ")
    assert named in answer["retmsg"]


def test_unknown_job_is_fates_not_found_answer(real_gateway: RunningGateway) -> None:
    client = Client(real_gateway.url)
    assert client.post("/v1/job/query", json={"job_id": "404"}).json() == {
        "retcode": 0,
        "retmsg": "no job could be found",
        "data": [],
    }
    config = client.post("/v1/job/config", json={"job_id": UNKNOWN}).json()
    assert config == {"retcode": 101, "retmsg": "find job failed"}
    stop = client.post("/v1/job/stop", json={"job_id": UNKNOWN}).json()
    assert stop["retcode"] == 102
