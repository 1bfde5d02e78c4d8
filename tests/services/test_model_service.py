"""ModelService answers UNIMPLEMENTED, naming the issue that brings the model registry."""

from __future__ import annotations

import grpc

from fateflow.v1 import model_service_pb2 as pb
from fateflow.v1 import model_service_pb2_grpc
from tests.services.errors import expect_error


def test_model_rpcs_say_which_feature_is_missing(core_channel: grpc.Channel) -> None:
    stub = model_service_pb2_grpc.ModelServiceStub(core_channel)
    message, info = expect_error(
        grpc.StatusCode.UNIMPLEMENTED,
        100,
        lambda: stub.TransferModel(pb.TransferModelRequest(name="1", namespace="n")),
    )
    assert "the model registry (issue #7)" in message
    assert info.metadata["feature"] == "model-transfer"
