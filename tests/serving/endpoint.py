"""A FATE-Serving stand-in for tests: a real gRPC server on a free port that speaks
FATE-Serving's model management protocol (publishLoad, publishBind) and records every request.

    with ServingEndpoint() as serving:            # or serving.start() ... serving.stop()
        ...publish to serving.address...
        method, request = serving.requests[0]     # ("publishLoad", PublishRequest)

Set `status_code` to a non-zero value to make it refuse what it receives, as a serving
instance that cannot load a model does.
"""

from __future__ import annotations

from concurrent import futures
from types import TracebackType

import grpc

from fateflow.serving import model_service_pb2 as pb
from fateflow.serving import model_service_pb2_grpc


class ServingEndpoint(model_service_pb2_grpc.ModelServiceServicer):
    def __init__(self, status_code: int = 0) -> None:
        self.status_code = status_code
        self.requests: list[tuple[str, pb.PublishRequest]] = []
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        model_service_pb2_grpc.add_ModelServiceServicer_to_server(self, self._server)
        self.address = f"127.0.0.1:{self._server.add_insecure_port('127.0.0.1:0')}"

    def start(self) -> ServingEndpoint:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop(grace=None)

    def __enter__(self) -> ServingEndpoint:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _answer(self, method: str, request: pb.PublishRequest) -> pb.PublishResponse:
        self.requests.append((method, request))
        if self.status_code:
            return pb.PublishResponse(
                statusCode=self.status_code,
                message=f"{method} refused",
                error=f"test endpoint answers statusCode {self.status_code}",
            )
        return pb.PublishResponse(statusCode=0, message="success")

    def publishLoad(
        self, request: pb.PublishRequest, context: grpc.ServicerContext
    ) -> pb.PublishResponse:
        return self._answer("publishLoad", request)

    def publishBind(
        self, request: pb.PublishRequest, context: grpc.ServicerContext
    ) -> pb.PublishResponse:
        return self._answer("publishBind", request)
