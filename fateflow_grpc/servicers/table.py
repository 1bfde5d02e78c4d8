"""TableService: describe a table from its meta row; delete tables through the data jobs."""

from __future__ import annotations

import grpc

from fateflow.v1 import table_service_pb2, table_service_pb2_grpc
from fateflow_grpc.errors import InvalidArgument
from fateflow_grpc.node import Node
from fateflow_grpc.servicers.serde import to_struct


class TableServicer(table_service_pb2_grpc.TableServiceServicer):
    def __init__(self, node: Node) -> None:
        self._tables = node.tables
        self._data_jobs = node.data_jobs

    def GetTableInfo(
        self, request: table_service_pb2.GetTableInfoRequest, context: grpc.ServicerContext
    ) -> table_service_pb2.GetTableInfoResponse:
        if not (request.namespace and request.table_name):
            raise InvalidArgument(
                "the following arguments are required: namespace, table_name",
                fields="namespace,table_name",
            )
        info = table_service_pb2.TableInfo(
            table_name=request.table_name, namespace=request.namespace
        )
        meta = self._tables.describe(request.namespace, request.table_name)
        # FATE answers retcode 0 with count 0 for a missing table; `exist` tells them apart.
        if meta is None:
            return table_service_pb2.GetTableInfoResponse(
                data=info,
                retmsg=f"table {request.namespace}.{request.table_name} does not exist",
            )
        info.count = meta.f_count
        info.partition = meta.f_partitions
        info.schema.CopyFrom(to_struct(meta.f_schema))
        info.exist = True
        info.create_time = meta.f_create_time
        return table_service_pb2.GetTableInfoResponse(data=info, retmsg="success")

    def DeleteTable(
        self, request: table_service_pb2.DeleteTableRequest, context: grpc.ServicerContext
    ) -> table_service_pb2.DeleteTableResponse:
        deleted = self._data_jobs.delete_tables(
            request.namespace,
            request.table_name,
            request.job_id,
            role=request.role or None,
            party_id=str(request.party_id) if request.HasField("party_id") else None,
            component_name=request.component_name or None,
        )
        return table_service_pb2.DeleteTableResponse(
            data=[
                table_service_pb2.TableRef(table_name=table.name, namespace=table.namespace)
                for table in deleted
            ],
            retmsg="success",
        )
