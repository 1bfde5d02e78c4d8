"""A stand-in for the gRPC core: the generated servicer base classes, reflection, scripted answers.

Every RPC of the six `fateflow.v1` services is served. By default a unary RPC answers an empty
response whose `retmsg` is the request as JSON (so a test sees what the core received), a
client-streaming RPC records its messages, and a server-streaming RPC sends two chunks. A test
replaces any of them with `core.on("QueryJob", behaviour)`.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent import futures
from typing import Any

import grpc
from google.protobuf import json_format, message_factory
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message
from grpc_reflection.v1alpha import reflection

from fateflow.v1 import (
    data_service_pb2,
    data_service_pb2_grpc,
    job_service_pb2,
    job_service_pb2_grpc,
    model_service_pb2,
    model_service_pb2_grpc,
    node_service_pb2,
    node_service_pb2_grpc,
    table_service_pb2,
    table_service_pb2_grpc,
    tracking_service_pb2,
    tracking_service_pb2_grpc,
)

SERVICES = (
    (job_service_pb2, job_service_pb2_grpc, "JobService"),
    (data_service_pb2, data_service_pb2_grpc, "DataService"),
    (tracking_service_pb2, tracking_service_pb2_grpc, "TrackingService"),
    (model_service_pb2, model_service_pb2_grpc, "ModelService"),
    (table_service_pb2, table_service_pb2_grpc, "TableService"),
    (node_service_pb2, node_service_pb2_grpc, "NodeService"),
)

#: What the default server-streaming behaviour sends.
DEFAULT_DOWNLOAD = (b"first chunk|", b"second chunk")

Behaviour = Callable[[Any, grpc.ServicerContext], Any]


def methods() -> list[MethodDescriptor]:
    return [
        method
        for module, _, name in SERVICES
        for method in module.DESCRIPTOR.services_by_name[name].methods
    ]


def request_json(request: Message) -> str:
    return json_format.MessageToJson(request, preserving_proto_field_name=True, sort_keys=True)


class FakeCore:
    def __init__(self) -> None:
        self._behaviours: dict[str, Behaviour] = {}
        self._lock = threading.Lock()
        #: Method name -> the requests received (for client streams: the list of messages).
        self.received: dict[str, list[Any]] = defaultdict(list)
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        for module, grpc_module, name in SERVICES:
            service = module.DESCRIPTOR.services_by_name[name]
            base = getattr(grpc_module, f"{name}Servicer")
            servicer = type(
                f"Fake{name}", (base,), {m.name: self._handler(m) for m in service.methods}
            )()
            getattr(grpc_module, f"add_{name}Servicer_to_server")(servicer, self.server)
        reflection.enable_server_reflection(
            [
                *(m.DESCRIPTOR.services_by_name[n].full_name for m, _, n in SERVICES),
                reflection.SERVICE_NAME,
            ],
            self.server,
        )
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.target = f"127.0.0.1:{self.port}"

    def start(self) -> FakeCore:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop(grace=None)

    def on(self, method: str, behaviour: Behaviour) -> None:
        self._behaviours[method] = behaviour

    def reset(self) -> None:
        self._behaviours.clear()
        self.received.clear()

    def _handler(self, method: MethodDescriptor) -> Callable[..., Any]:
        response_class = message_factory.GetMessageClass(method.output_type)
        name = method.name

        def default(request: Any, context: grpc.ServicerContext) -> Any:
            if method.server_streaming:
                return iter(
                    [
                        response_class(filename=f"{name}.tar.gz", chunk=DEFAULT_DOWNLOAD[0]),
                        response_class(chunk=DEFAULT_DOWNLOAD[1]),
                    ]
                )
            if method.client_streaming:
                return response_class(retmsg=f"{len(request)} messages")
            return response_class(retmsg=request_json(request))

        def handle(_: Any, request: Any, context: grpc.ServicerContext) -> Any:
            if method.client_streaming:
                request = list(request)
            with self._lock:
                self.received[name].append(request)
            return self._behaviours.get(name, default)(request, context)

        if method.server_streaming:

            def stream(servicer: Any, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                yield from handle(servicer, request, context)

            return stream
        return handle
