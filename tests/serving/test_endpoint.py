"""The test serving endpoint answers FATE-Serving's protocol and records what it receives."""

from __future__ import annotations

import grpc

from fateflow.serving import model_service_pb2 as pb
from fateflow.serving import model_service_pb2_grpc
from tests.serving.endpoint import ServingEndpoint


def test_records_requests_and_answers_its_status_code() -> None:
    request = pb.PublishRequest(local=pb.LocalInfo(role="guest", partyId="9999"), serviceId="s1")
    with ServingEndpoint() as serving, grpc.insecure_channel(serving.address) as channel:
        stub = model_service_pb2_grpc.ModelServiceStub(channel)
        assert stub.publishLoad(request, timeout=10).statusCode == 0
        serving.status_code = 7
        refused = stub.publishBind(request, timeout=10)
    assert (refused.statusCode, refused.message) == (7, "publishBind refused")
    assert serving.requests == [("publishLoad", request), ("publishBind", request)]
