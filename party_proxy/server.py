"""The party proxy's server factory.

    server, port = create_proxy_server(config)   # binds the config's proxy port; port 0 picks one

It forwards `fateflow.party.v1` calls between parties (`routing.py`). Federation objects,
mailboxes and party authentication arrive with the rest of the party proxy issue (#4); until
then Push and Pull answer UNIMPLEMENTED saying so.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures

import grpc

from fateflow.proxy.v1 import proxy_service_pb2, proxy_service_pb2_grpc
from fateflow_grpc.config import NodeConfig
from fateflow_grpc.errors import NotImplementedYet
from fateflow_grpc.interceptor import ErrorInterceptor
from fateflow_grpc.server import SERVER_OPTIONS, add_health_and_reflection
from party_proxy.routing import ForwardingHandler, Router

_PENDING = "federation objects arrive with the party proxy (issue #4)"


class ProxyServicer(proxy_service_pb2_grpc.ProxyServiceServicer):
    def Push(
        self,
        request_iterator: Iterator[proxy_service_pb2.PushRequest],
        context: grpc.ServicerContext,
    ) -> proxy_service_pb2.PushResponse:
        raise NotImplementedYet(f"Push: {_PENDING}", feature="federation")

    def Pull(
        self, request: proxy_service_pb2.PullRequest, context: grpc.ServicerContext
    ) -> Iterator[proxy_service_pb2.PullResponse]:
        raise NotImplementedYet(f"Pull: {_PENDING}", feature="federation")


def create_proxy_server(config: NodeConfig, address: str | None = None) -> tuple[grpc.Server, int]:
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=16),
        interceptors=[ErrorInterceptor()],
        options=SERVER_OPTIONS,
    )
    proxy_service_pb2_grpc.add_ProxyServiceServicer_to_server(ProxyServicer(), server)
    server.add_generic_rpc_handlers((ForwardingHandler(Router(config), config.party_id),))
    add_health_and_reflection(
        server, [proxy_service_pb2.DESCRIPTOR.services_by_name["ProxyService"].full_name]
    )
    port = server.add_insecure_port(address or f"{config.host}:{config.proxy_port}")
    return server, port
