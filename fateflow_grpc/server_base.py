"""What every gRPC server of a node has, the core's and the proxy's: options, health, reflection."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

SERVER_OPTIONS = [
    # Room for large DSLs, confs and model buffers in one message.
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    # grpc shares ports by default (SO_REUSEPORT): a second node would silently split traffic.
    ("grpc.so_reuseport", 0),
]


def add_health_and_reflection(server: grpc.Server, service_names: list[str]) -> None:
    """Serve reflection for `service_names` and mark them (and the server) SERVING."""
    checker = health.HealthServicer()
    for name in ["", *service_names]:
        checker.set(name, health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(checker, server)
    reflection.enable_server_reflection(
        [*service_names, health.SERVICE_NAME, reflection.SERVICE_NAME], server
    )
