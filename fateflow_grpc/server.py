"""The gRPC core's server factory.

    server, port = create_server(node)   # binds node.config.grpc_address; port 0 picks one
    server.start()

It serves the six `fateflow.v1` services, `fateflow.party.v1.PartyService` (which other
parties reach through the proxies), gRPC server reflection (so `grpcurl` and the gateway can
read the descriptors) and `grpc.health.v1`.
"""

from __future__ import annotations

from concurrent import futures

import grpc

from fateflow.party.v1 import party_service_pb2, party_service_pb2_grpc
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
from fateflow_grpc.interceptor import ErrorInterceptor
from fateflow_grpc.node import Node
from fateflow_grpc.server_base import SERVER_OPTIONS, add_health_and_reflection
from fateflow_grpc.servicers.data import DataServicer
from fateflow_grpc.servicers.job import JobServicer
from fateflow_grpc.servicers.model import ModelServicer
from fateflow_grpc.servicers.node import NodeServicer
from fateflow_grpc.servicers.party import PartyServicer
from fateflow_grpc.servicers.table import TableServicer
from fateflow_grpc.servicers.tracking import TrackingServicer


def create_server(node: Node, address: str | None = None) -> tuple[grpc.Server, int]:
    """Build the core's server bound to `address` (default: the config's); returns it and its port."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=32),
        interceptors=[ErrorInterceptor()],
        options=SERVER_OPTIONS,
    )
    config, database = node.config, node.database
    job_service_pb2_grpc.add_JobServiceServicer_to_server(JobServicer(node), server)
    party_service_pb2_grpc.add_PartyServiceServicer_to_server(
        PartyServicer(
            config.party_id, node.participant, node.scheduler, node.publishing, node.deploying
        ),
        server,
    )
    data_service_pb2_grpc.add_DataServiceServicer_to_server(DataServicer(node), server)
    tracking_service_pb2_grpc.add_TrackingServiceServicer_to_server(TrackingServicer(node), server)
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(
        ModelServicer(config, database, node.publishing, node.deploying), server
    )
    table_service_pb2_grpc.add_TableServiceServicer_to_server(TableServicer(node), server)
    node_service_pb2_grpc.add_NodeServiceServicer_to_server(NodeServicer(node), server)
    add_health_and_reflection(
        server,
        [
            module.DESCRIPTOR.services_by_name[name].full_name
            for module, name in (
                (job_service_pb2, "JobService"),
                (data_service_pb2, "DataService"),
                (tracking_service_pb2, "TrackingService"),
                (model_service_pb2, "ModelService"),
                (table_service_pb2, "TableService"),
                (node_service_pb2, "NodeService"),
                (party_service_pb2, "PartyService"),
            )
        ],
    )
    port = server.add_insecure_port(address or config.grpc_address)
    return server, port
