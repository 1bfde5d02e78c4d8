"""TableService: table descriptions from this node's table metadata; deletion arrives with issue #3."""

from __future__ import annotations

import grpc

from fateflow.v1 import table_service_pb2, table_service_pb2_grpc
from fateflow_grpc.config import NodeConfig
from fateflow_grpc.errors import InvalidArgument, NotFound, NotImplementedYet
from fateflow_grpc.servicers.serde import to_struct
from fateflow_grpc.storage import tables
from fateflow_grpc.storage.database import Database

TABLES = "table storage (issue #3)"


class TableServicer(table_service_pb2_grpc.TableServiceServicer):
    def __init__(self, config: NodeConfig, database: Database) -> None:
        self._config = config
        self._database = database

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
        with self._database.session() as session:
            meta = tables.get_table_meta(session, request.table_name, request.namespace)
        # FATE answers retcode 0 with count 0 for a missing table; `exist` tells them apart.
        if meta is not None:
            info.count = meta.f_count
            info.partition = meta.f_partitions
            info.schema.CopyFrom(to_struct(meta.f_schema))
            info.exist = True
            info.create_time = meta.f_create_time
        return table_service_pb2.GetTableInfoResponse(data=info, retmsg="success")

    def DeleteTable(
        self, request: table_service_pb2.DeleteTableRequest, context: grpc.ServicerContext
    ) -> table_service_pb2.DeleteTableResponse:
        if request.namespace and request.table_name:
            with self._database.session() as session:
                meta = tables.get_table_meta(session, request.table_name, request.namespace)
            if meta is None:
                raise NotFound(
                    "no find table", namespace=request.namespace, table_name=request.table_name
                )
        elif not request.job_id:
            raise InvalidArgument(
                "name a table (namespace and table_name) or a job (job_id) whose tables to delete"
            )
        raise NotImplementedYet(f"deleting tables arrives with {TABLES}", feature="table-delete")
