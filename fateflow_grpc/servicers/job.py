"""JobService: queries over the job and task rows of this node; scheduling arrives with issue #5."""

from __future__ import annotations

import json
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import grpc
from google.protobuf import json_format

from fateflow.v1 import job_pb2, job_service_pb2, job_service_pb2_grpc
from fateflow_grpc.domain.dsl import component_names, generate_predict_dsl
from fateflow_grpc.domain.jobspec import parse_job
from fateflow_grpc.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    RetCode,
)
from fateflow_grpc.node import Node
from fateflow_grpc.party_client import struct_to_dict
from fateflow_grpc.servicers.serde import row_to_proto, to_struct
from fateflow_grpc.status import JobStatus, TaskStatus
from fateflow_grpc.storage import jobs, task_logs, tasks, tracking
from fateflow_grpc.storage.models import Job

#: Archive pieces streamed to the client.
CHUNK_SIZE = 1 << 20


def party(request: Any, field: str = "party_id") -> str | None:
    """A request's optional party id as FATE stores it: a string."""
    return str(getattr(request, field)) if request.HasField(field) else None


S = TypeVar("S", JobStatus, TaskStatus)


def status_filter(kind: type[S], value: str) -> S | None:
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        names = ", ".join(s.value for s in kind)
        raise InvalidArgument(f"unknown status {value!r}; one of {names}", status=value) from None


def job_row(job: Job) -> job_pb2.JobRow:
    """A job as clients see it. `ready` (the job holds a slot at every party and starts now)
    is shown as `waiting`: FATE's clients know only waiting, running and the end statuses,
    and fate-client's pipeline fails on any other."""
    row = row_to_proto(job, job_pb2.JobRow)
    if row.f_status == JobStatus.READY:
        row.f_status = JobStatus.WAITING
    return row


def model_info(job: Job) -> job_pb2.ModelInfo:
    """The model a job trains or uses, from its conf's job parameters (v2 keeps them in `common`)."""
    parameters = job.f_runtime_conf.get("job_parameters", {})
    parameters = parameters.get("common", parameters)
    return job_pb2.ModelInfo(
        model_id=str(parameters.get("model_id", "")),
        model_version=str(parameters.get("model_version", "")),
    )


class JobServicer(job_service_pb2_grpc.JobServiceServicer):
    def __init__(self, node: Node) -> None:
        self._config = node.config
        self._database = node.database
        self._scheduler = node.scheduler
        self._catalog = node.catalog
        self._tables = node.tables

    def _job_rows(self, job_id: str, role: str = "", party_id: str | None = None) -> list[Job]:
        with self._database.session() as session:
            return jobs.query_jobs(
                session, jobs.JobFilter(job_id=job_id, role=role or None, party_id=party_id)
            )

    def SubmitJob(
        self, request: job_service_pb2.SubmitJobRequest, context: grpc.ServicerContext
    ) -> job_service_pb2.SubmitJobResponse:
        submitted = self._scheduler.submit(
            struct_to_dict(request.job_dsl), struct_to_dict(request.job_runtime_conf)
        )
        return job_service_pb2.SubmitJobResponse(
            job_id=submitted.job_id,
            data=job_service_pb2.SubmittedJob(
                job_id=submitted.job_id,
                model_info=job_pb2.ModelInfo(
                    model_id=submitted.model_id, model_version=submitted.model_version
                ),
                board_url=submitted.board_url,
                logs_directory=submitted.logs_directory,
            ),
            retmsg="success",
        )

    def StopJob(
        self, request: job_service_pb2.StopJobRequest, context: grpc.ServicerContext
    ) -> job_service_pb2.StopJobResponse:
        rows = self._job_rows(request.job_id)
        if not rows:
            raise NotFound(
                f"can not found job {request.job_id}",
                retcode=RetCode.DATA_ERROR,
                job_id=request.job_id,
            )
        if not any(row.f_is_initiator for row in rows):
            raise FailedPrecondition(
                f"stop job {request.job_id} at its initiator, party {rows[0].f_initiator_party_id}",
                job_id=request.job_id,
                initiator_party_id=rows[0].f_initiator_party_id,
            )
        self._scheduler.stop(
            request.job_id, status_filter(JobStatus, request.stop_status) or JobStatus.CANCELED
        )
        return job_service_pb2.StopJobResponse(retmsg="success")

    def RerunJob(
        self, request: job_service_pb2.RerunJobRequest, context: grpc.ServicerContext
    ) -> job_service_pb2.RerunJobResponse:
        rows = self._job_rows(request.job_id)
        if not rows:
            raise NotFound(
                f"can not found job {request.job_id}",
                retcode=RetCode.DATA_ERROR,
                job_id=request.job_id,
            )
        if not any(row.f_is_initiator for row in rows):
            raise FailedPrecondition(
                f"rerun job {request.job_id} at its initiator, party "
                f"{rows[0].f_initiator_party_id}",
                job_id=request.job_id,
                initiator_party_id=rows[0].f_initiator_party_id,
            )
        again = self._scheduler.rerun(request.job_id, request.component_name, request.force)
        return job_service_pb2.RerunJobResponse(retmsg="rerun job success", data=again)

    def QueryJob(
        self, request: job_service_pb2.QueryJobRequest, context: grpc.ServicerContext
    ) -> job_service_pb2.QueryJobResponse:
        job_filter = jobs.JobFilter(
            job_id=request.job_id or None,
            role=request.role or None,
            party_id=party(request),
            status=status_filter(JobStatus, request.status),
            initiator_role=request.initiator_role or None,
            initiator_party_id=party(request, "initiator_party_id"),
            is_initiator=request.is_initiator if request.HasField("is_initiator") else None,
            tag=request.tag or None,
            name=request.name or None,
        )
        rows = []
        if job_filter != jobs.JobFilter():  # FATE's query without a filter finds nothing
            with self._database.session() as session:
                rows = jobs.query_jobs(session, job_filter)
        return job_service_pb2.QueryJobResponse(
            data=[job_row(row) for row in rows],
            retmsg="success" if rows else "no job could be found",
        )

    def UpdateJob(
        self, request: job_service_pb2.UpdateJobRequest, context: grpc.ServicerContext
    ) -> job_service_pb2.UpdateJobResponse:
        key = jobs.JobKey(request.job_id, request.role, str(request.party_id))
        with self._database.session() as session:
            if not jobs.update_job_description(session, key, request.notes):
                raise NotFound("find job failed", job_id=request.job_id, role=request.role)
        return job_service_pb2.UpdateJobResponse(retmsg="success")

    def GetJobConfig(
        self, request: job_service_pb2.GetJobConfigRequest, context: grpc.ServicerContext
    ) -> job_service_pb2.GetJobConfigResponse:
        rows = self._job_rows(request.job_id, request.role, party(request))
        if not rows:
            raise NotFound("find job failed", job_id=request.job_id)
        job = rows[0]
        return job_service_pb2.GetJobConfigResponse(
            data=job_service_pb2.JobConfig(
                job_id=job.f_job_id,
                dsl=to_struct(job.f_dsl),
                runtime_conf=to_struct(job.f_runtime_conf),
                train_runtime_conf=to_struct(job.f_train_runtime_conf),
                model_info=model_info(job),
            ),
            retmsg="success",
        )

    def QueryTask(
        self, request: job_service_pb2.QueryTaskRequest, context: grpc.ServicerContext
    ) -> job_service_pb2.QueryTaskResponse:
        task_filter = tasks.TaskFilter(
            job_id=request.job_id or None,
            role=request.role or None,
            party_id=party(request),
            component_name=request.component_name or None,
            status=status_filter(TaskStatus, request.status),
            task_id=request.task_id or None,
        )
        with self._database.session() as session:
            rows = tasks.query_tasks(session, task_filter)
        if not rows:
            raise NotFound("find task failed", job_id=request.job_id)
        return job_service_pb2.QueryTaskResponse(
            data=[row_to_proto(row, job_pb2.TaskRow) for row in rows], retmsg="success"
        )

    def ListJobs(
        self, request: job_service_pb2.ListJobsRequest, context: grpc.ServicerContext
    ) -> job_service_pb2.ListJobsResponse:
        listing = jobs.JobListing(
            job_id_contains=request.job_id or None,
            party_id=party(request),
            roles=tuple(request.role),
            statuses=_listed_statuses(request.status),
            created_from=_optional(request, "create_time_from"),
            created_to=_optional(request, "create_time_to"),
        )
        if request.page < 0:
            raise InvalidArgument(f"page counts from 1, not {request.page}", page=request.page)
        limit = limit_or_all(request.limit)
        offset = (max(request.page, 1) - 1) * limit if limit else 0
        with self._database.session() as session:
            rows = jobs.list_jobs(session, limit, listing, offset)
            count = jobs.count_jobs(session, listing)
        return job_service_pb2.ListJobsResponse(
            data=[job_row(row) for row in rows],
            retmsg="success",
            meta=job_service_pb2.ListMeta(count=count),
        )

    def ListTasks(
        self, request: job_service_pb2.ListTasksRequest, context: grpc.ServicerContext
    ) -> job_service_pb2.ListTasksResponse:
        with self._database.session() as session:
            rows = tasks.list_tasks(session, limit_or_all(request.limit))
        return job_service_pb2.ListTasksResponse(
            data=[row_to_proto(row, job_pb2.TaskRow) for row in rows], retmsg="success"
        )

    def CleanJob(
        self, request: job_service_pb2.CleanJobRequest, context: grpc.ServicerContext
    ) -> job_service_pb2.CleanJobResponse:
        """Delete what the matching tasks left: their output tables, and the job's metrics
        when the whole job is cleaned. A job still on is left alone."""
        party_id = party(request)
        with self._database.session() as session:
            rows = tasks.query_tasks(
                session,
                tasks.TaskFilter(
                    job_id=request.job_id,
                    role=request.role or None,
                    party_id=party_id,
                    component_name=request.component_name or None,
                ),
            )
            if not rows:
                raise NotFound(f"no found task of job {request.job_id}", job_id=request.job_id)
            running = [r.f_task_id for r in rows if r.f_party_status in ("waiting", "running")]
            if running:
                raise FailedPrecondition(
                    f"job {request.job_id} still has tasks to run ({', '.join(running)}): "
                    "stop it before cleaning it",
                    job_id=request.job_id,
                )
            outputs = tracking.list_output_data_info(
                session,
                request.job_id,
                component_name=request.component_name or None,
                role=request.role or None,
                party_id=party_id,
            )
            tracking.delete_output_data_info(session, outputs)
            if not (request.role or party_id or request.component_name):
                tracking.delete_job_metrics(session, request.job_id)
        for output in outputs:
            self._tables.delete_table(output.f_table_namespace, output.f_table_name)
        return job_service_pb2.CleanJobResponse(retmsg="success")

    def QueryDataView(
        self, request: job_service_pb2.QueryDataViewRequest, context: grpc.ServicerContext
    ) -> job_service_pb2.QueryDataViewResponse:
        if not request.job_id:
            raise InvalidArgument("the following arguments are required: job_id", fields="job_id")
        with self._database.session() as session:
            rows = tracking.list_output_data_info(
                session,
                request.job_id,
                component_name=request.component_name or None,
                role=request.role or None,
                party_id=party(request),
            )
        if not rows:
            raise NotFound("find data view failed", job_id=request.job_id)
        return job_service_pb2.QueryDataViewResponse(
            data=[row_to_proto(row, job_pb2.OutputDataRow) for row in rows], retmsg="success"
        )

    def GenerateDsl(
        self, request: job_service_pb2.GenerateDslRequest, context: grpc.ServicerContext
    ) -> job_service_pb2.GenerateDslResponse:
        try:
            train_dsl = json.loads(request.train_dsl)
        except ValueError as error:
            raise InvalidArgument(f"train_dsl is not a JSON string of a DSL: {error}") from None
        if not isinstance(train_dsl, dict):
            raise InvalidArgument("train_dsl must be the JSON of a DSL object")
        components = component_names(json_format.MessageToDict(request.cpn_str), "cpn_str")
        version = request.version or "1"
        if version not in ("1", "2"):
            raise InvalidArgument(f"version must be 1 or 2, not {version!r}", version=version)
        predict = generate_predict_dsl(train_dsl, components, int(version))
        return job_service_pb2.GenerateDslResponse(data=to_struct(predict), retmsg="success")

    def DownloadJobLog(
        self, request: job_service_pb2.DownloadJobLogRequest, context: grpc.ServicerContext
    ) -> Iterator[job_service_pb2.DownloadJobLogResponse]:
        if not self._job_rows(request.job_id):
            raise NotFound(f"can not found job {request.job_id}", job_id=request.job_id)
        log_dir = self._config.data_dir / "logs" / request.job_id
        if not log_dir.is_dir():
            raise NotFound(f"job {request.job_id} has no log directory yet", job_id=request.job_id)
        with tempfile.TemporaryFile() as archive:
            with tarfile.open(fileobj=archive, mode="w:gz") as tar:
                tar.add(log_dir, arcname=".")
            archive.seek(0)
            filename = f"job_{request.job_id}_log.tar.gz"
            while chunk := archive.read(CHUNK_SIZE):
                yield job_service_pb2.DownloadJobLogResponse(filename=filename, chunk=chunk)
                filename = ""

    def GetDagDependency(
        self, request: job_service_pb2.GetDagDependencyRequest, context: grpc.ServicerContext
    ) -> job_service_pb2.GetDagDependencyResponse:
        if request.job_id:
            rows = self._job_rows(request.job_id)
            if not rows:
                raise NotFound(f"query job {request.job_id} failed", job_id=request.job_id)
            dsl, conf = rows[0].f_dsl, rows[0].f_runtime_conf
        else:
            dsl, conf = struct_to_dict(request.job_dsl), struct_to_dict(request.job_runtime_conf)
        spec = parse_job(dsl, conf, self._catalog, has_route=lambda _: True)
        return job_service_pb2.GetDagDependencyResponse(
            data=to_struct(spec.dependency_view(request.role, request.party_id)), retmsg="success"
        )

    def GetLogSize(
        self, request: job_service_pb2.GetLogSizeRequest, context: grpc.ServicerContext
    ) -> job_service_pb2.GetLogSizeResponse:
        size = task_logs.count_lines(self._log_path(request))
        return job_service_pb2.GetLogSizeResponse(
            data=job_service_pb2.LogSize(size=size), retmsg="success"
        )

    def ListLogLines(
        self, request: job_service_pb2.ListLogLinesRequest, context: grpc.ServicerContext
    ) -> job_service_pb2.ListLogLinesResponse:
        if request.begin < 0 or request.end < 0:
            raise InvalidArgument("begin and end count lines from 1")
        lines = task_logs.read_lines(self._log_path(request), request.begin, request.end)
        return job_service_pb2.ListLogLinesResponse(
            data=[job_service_pb2.LogLine(line_num=n, content=text) for n, text in lines],
            retmsg="success",
        )

    def _log_path(
        self, request: job_service_pb2.GetLogSizeRequest | job_service_pb2.ListLogLinesRequest
    ) -> Path:
        """The log a request names, of a component of a job this party has a row of."""
        rows = self._job_rows(request.job_id, request.role, party(request))
        if not rows:
            raise NotFound(
                f"no job {request.job_id} at {request.role} {request.party_id}",
                job_id=request.job_id,
            )
        job = rows[0]
        if request.component_name not in job.f_dsl.get("components", {}):
            raise NotFound(
                f"job {job.f_job_id} has no component {request.component_name}",
                job_id=job.f_job_id,
                component_name=request.component_name,
            )
        return task_logs.component_log(
            self._config.data_dir / "logs",
            request.log_type,
            job.f_job_id,
            job.f_role,
            job.f_party_id,
            request.component_name,
        )


def _listed_statuses(names: Iterable[str]) -> tuple[JobStatus, ...]:
    """The statuses a list filters on; waiting takes ready in, as rows show ready as waiting."""
    statuses = [status for name in names if (status := status_filter(JobStatus, name))]
    if JobStatus.WAITING in statuses:
        statuses.append(JobStatus.READY)
    return tuple(statuses)


def _optional(request: Any, field: str) -> int | None:
    return int(getattr(request, field)) if request.HasField(field) else None


def limit_or_all(limit: int) -> int | None:
    """FATE's list limit: 0 or less means no limit."""
    return limit if limit > 0 else None
