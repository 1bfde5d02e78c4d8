"""DAG dependencies, predict DSL generation and job data views."""

from __future__ import annotations

import json

import grpc
import pytest
from google.protobuf import json_format, struct_pb2

from fateflow.v1 import job_service_pb2 as pb
from fateflow.v1 import job_service_pb2_grpc, tracking_service_pb2_grpc
from fateflow.v1 import tracking_service_pb2 as tpb
from fateflow_grpc.storage.database import Database
from tests.services.errors import expect_error
from tests.services.rows import JOB_ID, add_job


def struct(value: dict[str, object]) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    result.update(value)
    return result


@pytest.fixture
def jobs(core_channel: grpc.Channel) -> job_service_pb2_grpc.JobServiceStub:
    return job_service_pb2_grpc.JobServiceStub(core_channel)


def test_predict_dsl_from_a_string_of_names(jobs: job_service_pb2_grpc.JobServiceStub) -> None:
    chain = {
        "components": {
            "noop_0": {"module": "Noop", "output": {"data": ["data"], "model": ["model"]}},
            "noop_1": {"module": "Noop", "input": {"data": {"data": ["noop_0.data"]}}},
        }
    }
    request = pb.GenerateDslRequest(train_dsl=json.dumps(chain), version="2")
    request.cpn_str.string_value = "noop_0"
    predict = json_format.MessageToDict(jobs.GenerateDsl(request).data)
    assert predict["components"]["noop_0"]["input"]["model"] == ["pipeline.noop_0.model"]
    assert "noop_1" not in predict["components"]
    request.cpn_str.list_value.values.add().string_value = "noop_9"
    message, _ = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT, 100, lambda: jobs.GenerateDsl(request)
    )
    assert "noop_9" in message


def test_predict_dsl_refuses_a_train_dsl_that_is_not_json(
    jobs: job_service_pb2_grpc.JobServiceStub,
) -> None:
    request = pb.GenerateDslRequest(train_dsl="{components", version="2")
    request.cpn_str.string_value = "noop_0"
    message, _ = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT, 100, lambda: jobs.GenerateDsl(request)
    )
    assert "train_dsl" in message


def test_dependency_view_of_a_stored_job(
    jobs: job_service_pb2_grpc.JobServiceStub, node_database: Database
) -> None:
    add_job(node_database)
    view = json_format.MessageToDict(
        jobs.GetDagDependency(
            pb.GetDagDependencyRequest(job_id=JOB_ID, role="guest", party_id=9999)
        ).data
    )
    assert view["component_list"] == ["noop_0"]
    assert view["component_need_run"] == {"noop_0": True}
    expect_error(
        grpc.StatusCode.NOT_FOUND,
        101,
        lambda: jobs.GetDagDependency(
            pb.GetDagDependencyRequest(job_id="20200101000000000001", role="guest", party_id=1)
        ),
    )


def test_job_data_view(core_channel: grpc.Channel, node_database: Database) -> None:
    add_job(node_database)
    stub = tracking_service_pb2_grpc.TrackingServiceStub(core_channel)
    view = json_format.MessageToDict(
        stub.GetJobDataView(tpb.GetJobDataViewRequest(job_id=JOB_ID)).data
    )
    assert view["roles"] == {"guest": [9999], "host": [10000], "arbiter": [10000]}
    assert view["partner"] == {"guest": [], "host": [10000], "arbiter": [10000]}
    assert set(view["dataset"]) == {"guest", "host", "arbiter"}
