"""NodeService: what this node runs, and which parties it can reach right now."""

from __future__ import annotations

import platform

import grpc

from fateflow.v1 import node_service_pb2 as pb
from fateflow.v1 import node_service_pb2_grpc
from fateflow_grpc.config import Route, TlsMode
from fateflow_grpc.domain.parties import Reach, reach
from fateflow_grpc.errors import NotFound
from fateflow_grpc.node import Node
from fateflow_grpc.servicers.serde import to_struct
from fateflow_grpc.version import version

#: Seconds a party may take to answer before it counts as unreachable.
REACH_TIMEOUT_S = 3.0
#: FATE-Flow's version answers always carry the API's version.
API_VERSION = "v1"


class NodeServicer(node_service_pb2_grpc.NodeServiceServicer):
    def __init__(self, node: Node) -> None:
        self._config = node.config
        self._parties = node.parties

    def GetVersion(
        self, request: pb.GetVersionRequest, context: grpc.ServicerContext
    ) -> pb.GetVersionResponse:
        versions = {"fateflow-grpc": version(), "PYTHON": platform.python_version()}
        if request.module:
            if request.module not in versions:
                raise NotFound(
                    f"no module {request.module!r}; one of {', '.join(versions)}",
                    module=request.module,
                )
            versions = {request.module: versions[request.module]}
        return pb.GetVersionResponse(
            data=to_struct({**versions, "API": API_VERSION}), retmsg="success"
        )

    def ListParties(
        self, request: pb.ListPartiesRequest, context: grpc.ServicerContext
    ) -> pb.ListPartiesResponse:
        routes = self._config.routes
        reached = reach(self._parties, sorted(routes), REACH_TIMEOUT_S)
        default = self._config.default_route
        return pb.ListPartiesResponse(
            data=pb.NodeParties(
                party_id=self._config.party_id,
                version=version(),
                parties=[self._link(r, routes[r.party_id]) for r in reached],
                default_route=self._route(0, default) if default is not None else None,
            ),
            retmsg="success",
        )

    def _route(self, party_id: int, route: Route) -> pb.PartyLink:
        if route.tls.mode == TlsMode.MTLS:
            proof = "certificate"
        elif party_id in self._config.party_secrets:
            proof = "secret"
        else:
            proof = "none"
        return pb.PartyLink(
            party_id=party_id, address=route.address, tls=route.tls.mode.value, proof=proof
        )

    def _link(self, reached: Reach, route: Route) -> pb.PartyLink:
        link = self._route(reached.party_id, route)
        link.reachable = reached.info is not None and not reached.error
        link.latency_ms = round(reached.latency_ms, 3)
        link.error = reached.error
        if reached.info is not None:
            link.version = reached.info.version
        return link
