"""`Serving` over gRPC: FATE-Serving's model management protocol (`protos/fateflow/serving/`),
as FATE-Flow 1.x sends it (reference §8.2, §8.3)."""

from __future__ import annotations

from collections.abc import Callable

import grpc

from fateflow.serving import model_service_pb2 as pb
from fateflow.serving import model_service_pb2_grpc
from fateflow_grpc.domain.publishing import ServingAnswer, ServingRequest
from fateflow_grpc.errors import FederatedError
from fateflow_grpc.ids import party_model_id

#: Seconds a serving instance has to answer: a dead address must not hold up the other parties.
SERVING_TIMEOUT_S = 10.0


class GrpcServing:
    def publish_load(self, address: str, request: ServingRequest) -> ServingAnswer:
        return _call(address, lambda stub: stub.publishLoad, request)

    def publish_bind(self, address: str, request: ServingRequest) -> ServingAnswer:
        return _call(address, lambda stub: stub.publishBind, request)


def _call(
    address: str,
    method: Callable[[model_service_pb2_grpc.ModelServiceStub], Callable[..., pb.PublishResponse]],
    request: ServingRequest,
) -> ServingAnswer:
    # A channel per call: publishing is rare, and the addresses come with each request.
    with grpc.insecure_channel(address) as channel:
        stub = model_service_pb2_grpc.ModelServiceStub(channel)  # type: ignore[no-untyped-call]
        try:
            response = method(stub)(publish_request(request), timeout=SERVING_TIMEOUT_S)
        except grpc.RpcError as error:
            assert isinstance(error, grpc.Call)
            raise FederatedError(
                f"serving {address} could not be reached: {error.code().name}: {error.details()}",
                address=address,
            ) from None
    message = " ".join(part for part in (response.message, response.error) if part)
    return ServingAnswer(response.statusCode, message)


def publish_request(request: ServingRequest) -> pb.PublishRequest:
    """FATE-Serving's PublishRequest: party ids as strings; each part named by its party model
    id (namespace) and the model version (tableName), where serving fetches it from."""
    message = pb.PublishRequest(
        local=pb.LocalInfo(role=request.local.role, partyId=str(request.local.party_id)),
        serviceId=request.service_id,
        loadType=request.load_type,
        filePath=request.file_path,
    )
    model = request.model
    for role, party_ids in model.roles.items():
        message.role[role].partyId.extend(str(p) for p in party_ids)
    for part in request.parts:
        message.model[part.role].roleModelInfo[str(part.party_id)].CopyFrom(
            pb.ModelInfo(
                tableName=model.model_version,
                namespace=party_model_id(part.role, part.party_id, model.model_id),
            )
        )
    return message
