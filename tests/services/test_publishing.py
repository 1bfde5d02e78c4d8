"""LoadModel and BindModel over a real core with no serving configured: FATE's answers to
requests that cannot be published (tests/multiparty/test_model_publish.py publishes)."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from fateflow.v1 import model_service_pb2 as pb
from fateflow.v1 import model_service_pb2_grpc
from fateflow_grpc.servicers.serde import to_struct
from tests.services.errors import expect_error

MODEL = {"model_id": "guest-9999#model", "model_version": "202611270800000000001"}


def conf(initiator: int = 9999, **parameters: Any) -> dict[str, Any]:
    return {
        "initiator": to_struct({"role": "guest", "party_id": initiator}),
        "role": to_struct({"guest": [initiator]}),
        "job_parameters": to_struct({"work_mode": 1, **MODEL, **parameters}),
    }


@pytest.fixture
def stub(core_channel: grpc.Channel) -> model_service_pb2_grpc.ModelServiceStub:
    return model_service_pb2_grpc.ModelServiceStub(core_channel)


def test_no_servings_anywhere(stub: model_service_pb2_grpc.ModelServiceStub) -> None:
    message, _ = expect_error(
        grpc.StatusCode.FAILED_PRECONDITION,
        100,
        lambda: stub.LoadModel(pb.LoadModelRequest(**conf())),
    )
    assert message == "Please configure servings address"
    message, _ = expect_error(
        grpc.StatusCode.FAILED_PRECONDITION,
        100,
        lambda: stub.BindModel(pb.BindModelRequest(**conf(), service_id="s")),
    )
    assert message == "Please configure servings address"


def test_bind_needs_a_service_id(stub: model_service_pb2_grpc.ModelServiceStub) -> None:
    message, _ = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT,
        101,
        lambda: stub.BindModel(pb.BindModelRequest(**conf(), servings=["127.0.0.1:1"])),
    )
    assert message == "no service id"


def test_what_the_request_lacks_is_named(stub: model_service_pb2_grpc.ModelServiceStub) -> None:
    message, _ = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT, 100, lambda: stub.LoadModel(pb.LoadModelRequest())
    )
    assert message == (
        "the following arguments are required: initiator.role, initiator.party_id, role, "
        "job_parameters.model_id, job_parameters.model_version (or job_id, the training job's id)"
    )
    request = pb.LoadModelRequest(**conf())
    request.role.update({"host": ["ten"]})
    message, _ = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT, 100, lambda: stub.LoadModel(request)
    )
    assert message == "role host: party id 'ten' is not a number"


def test_only_the_initiator_publishes(stub: model_service_pb2_grpc.ModelServiceStub) -> None:
    message, _ = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT,
        100,
        lambda: stub.LoadModel(pb.LoadModelRequest(**conf(initiator=10000))),
    )
    assert message == ("this node is party 9999; publish the model at its initiator, party 10000")


def test_an_unknown_training_job(stub: model_service_pb2_grpc.ModelServiceStub) -> None:
    message, info = expect_error(
        grpc.StatusCode.NOT_FOUND,
        101,
        lambda: stub.LoadModel(pb.LoadModelRequest(job_id="202001010000000000000")),
    )
    assert "job 202001010000000000000 was not initiated at this node" in message
    assert info.metadata["job_id"] == "202001010000000000000"
