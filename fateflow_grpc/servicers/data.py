"""DataService: upload and download as data jobs (`domain/data_jobs.py`), and the upload history."""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Iterator
from typing import Any

import grpc
from google.protobuf import json_format

from fateflow.v1 import data_service_pb2, data_service_pb2_grpc
from fateflow_grpc.domain.data_jobs import LOCAL_PARTY, LOCAL_ROLE, DataJob, UploadConf
from fateflow_grpc.errors import InvalidArgument
from fateflow_grpc.node import Node
from fateflow_grpc.servicers.serde import to_struct
from fateflow_grpc.status import JobStatus
from fateflow_grpc.storage import jobs, uploads


def _optional(message: Any, field: str) -> Any:
    return getattr(message, field) if message.HasField(field) else None


def _meta(settings: data_service_pb2.UploadDataRequest) -> Any:
    if not settings.HasField("meta"):
        return None
    meta = json_format.MessageToDict(settings.meta)
    if not isinstance(meta, dict):
        return meta
    # A protobuf Value's numbers are all floats; FATE's meta has integers (`id_range`).
    return {
        key: int(value) if isinstance(value, float) and value.is_integer() else value
        for key, value in meta.items()
    }


def _data_job(job: DataJob) -> data_service_pb2.DataJob:
    return data_service_pb2.DataJob(
        table_name=job.table_name,
        namespace=job.namespace,
        board_url=job.board_url,
        logs_directory=job.logs_directory,
    )


class _FileStream:
    """The file's chunks from an upload's messages, to be read by one thread at a time.

    An upload refused before its end still reads the rest of its messages (`drain`): a
    client whose stream the server stops taking may see a transport error instead of the
    refusal (the HTTP gateway's async gRPC client does), and a refusal must say what is wrong.
    pyarrow may be reading ahead in a thread of its own meanwhile, hence the lock.
    """

    def __init__(
        self,
        first: data_service_pb2.UploadDataRequest,
        rest: Iterator[data_service_pb2.UploadDataRequest],
        context: grpc.ServicerContext,
    ) -> None:
        self._messages = itertools.chain((first,), rest)
        self._context = context
        self._lock = threading.Lock()
        self._drained = False

    def chunks(self) -> Iterator[bytes]:
        while True:
            with self._lock:
                if self._drained:
                    return
                message = next(self._messages, None)
            if message is None:
                break
            # Each read of a bytes field copies it: read it once.
            if chunk := message.chunk:
                yield chunk
        # grpc ends the stream quietly when the call stops being active: a truncated file
        # must not pass for a whole one.
        if not self._context.is_active():
            raise InvalidArgument("the upload was cut off before the end of the file")

    def drain(self) -> None:
        with self._lock:
            self._drained = True
            with contextlib.suppress(grpc.RpcError):  # the client went away: nothing to drain
                for _ in self._messages:
                    pass


class DataServicer(data_service_pb2_grpc.DataServiceServicer):
    def __init__(self, node: Node) -> None:
        self._database = node.database
        self._tables = node.tables
        self._data_jobs = node.data_jobs

    def UploadData(
        self,
        request_iterator: Iterator[data_service_pb2.UploadDataRequest],
        context: grpc.ServicerContext,
    ) -> data_service_pb2.UploadDataResponse:
        settings = next(request_iterator, None)
        if settings is None:
            raise InvalidArgument("an upload begins with a message of settings; none came")
        conf = UploadConf(
            file=settings.file,
            namespace=settings.namespace,
            table_name=settings.table_name,
            head=_optional(settings, "head"),
            partition=_optional(settings, "partition"),
            id_delimiter=settings.id_delimiter,
            drop=_optional(settings, "drop"),
            work_mode=_optional(settings, "work_mode"),
            use_local_data=_optional(settings, "use_local_data"),
            count=_optional(settings, "count"),
            backend=_optional(settings, "backend"),
            extend_sid=_optional(settings, "extend_sid"),
            auto_increasing_sid=_optional(settings, "auto_increasing_sid"),
            with_meta=_optional(settings, "with_meta"),
            meta=_meta(settings),
        )

        stream = _FileStream(settings, request_iterator, context)
        try:
            job = self._data_jobs.upload(conf, stream.chunks())
        except Exception:
            stream.drain()
            raise
        return data_service_pb2.UploadDataResponse(
            job_id=job.job_id, data=_data_job(job), retmsg="success"
        )

    def DownloadData(
        self, request: data_service_pb2.DownloadDataRequest, context: grpc.ServicerContext
    ) -> data_service_pb2.DownloadDataResponse:
        job = self._data_jobs.download(
            request.namespace,
            request.table_name,
            request.output_path,
            request.delimiter,
            _optional(request, "work_mode"),
        )
        return data_service_pb2.DownloadDataResponse(
            job_id=job.job_id, data=_data_job(job), retmsg="success"
        )

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
                meta = self._tables.describe(row.f_namespace, row.f_table_name)
                if meta is None:
                    continue
                job = jobs.get_job(session, jobs.JobKey(row.f_job_id, LOCAL_ROLE, LOCAL_PARTY))
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
