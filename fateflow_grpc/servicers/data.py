"""DataService: the upload history of this node; upload and download arrive with issue #3."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from fateflow.v1 import data_service_pb2, data_service_pb2_grpc
from fateflow_grpc.config import NodeConfig
from fateflow_grpc.domain.status import JobStatus
from fateflow_grpc.errors import NotFound, NotImplementedYet
from fateflow_grpc.servicers.serde import to_struct
from fateflow_grpc.storage import jobs, tables, uploads
from fateflow_grpc.storage.database import Database

TABLES = "table storage (issue #3)"


class DataServicer(data_service_pb2_grpc.DataServiceServicer):
    def __init__(self, config: NodeConfig, database: Database) -> None:
        self._config = config
        self._database = database

    def UploadData(
        self,
        request_iterator: Iterator[data_service_pb2.UploadDataRequest],
        context: grpc.ServicerContext,
    ) -> data_service_pb2.UploadDataResponse:
        raise NotImplementedYet(f"upload arrives with {TABLES}", feature="upload")

    def DownloadData(
        self, request: data_service_pb2.DownloadDataRequest, context: grpc.ServicerContext
    ) -> data_service_pb2.DownloadDataResponse:
        with self._database.session() as session:
            meta = tables.get_table_meta(session, request.table_name, request.namespace)
        if meta is None:
            raise NotFound(
                f"table {request.namespace}.{request.table_name} does not exist",
                namespace=request.namespace,
                table_name=request.table_name,
            )
        raise NotImplementedYet(f"download arrives with {TABLES}", feature="download")

    def ListUploadHistory(
        self, request: data_service_pb2.ListUploadHistoryRequest, context: grpc.ServicerContext
    ) -> data_service_pb2.ListUploadHistoryResponse:
        limit = request.limit if request.HasField("limit") and request.limit > 0 else None
        with self._database.session() as session:
            rows = uploads.list_uploads(
                session, job_id=request.job_id or None, status=JobStatus.SUCCESS, limit=limit
            )
            # FATE skips uploads whose table is gone and shows the table's current schema.
            entries = []
            for row in rows:
                meta = tables.get_table_meta(session, row.f_table_name, row.f_namespace)
                if meta is None:
                    continue
                job = jobs.get_job(session, jobs.JobKey(row.f_job_id, "local", "0"))
                upload_info = {
                    "table_name": row.f_table_name,
                    "namespace": row.f_namespace,
                    "partition": row.f_partition,
                    "upload_count": row.f_upload_count,
                }
                entries.append(
                    to_struct(
                        {
                            row.f_job_id: {
                                "upload_info": upload_info,
                                "notes": job.f_description if job else "",
                                "schema": meta.f_schema,
                            }
                        }
                    )
                )
        return data_service_pb2.ListUploadHistoryResponse(data=entries, retmsg="success")
