"""TrackingService: what components recorded at this node, read from the tracking tables.

Parameters, models and output data of components arrive with the components (issue #6) and
the tracking issue (#7); their RPCs answer UNIMPLEMENTED saying so.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
from google.protobuf import struct_pb2

from fateflow.v1 import tracking_service_pb2 as pb
from fateflow.v1 import tracking_service_pb2_grpc
from fateflow_grpc.domain.jobspec import parse_job
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument, NotFound, NotImplementedYet
from fateflow_grpc.node import Node
from fateflow_grpc.servicers.job import party
from fateflow_grpc.servicers.serde import to_struct
from fateflow_grpc.storage import jobs, tracking
from fateflow_grpc.storage.models import Job

OUTPUTS = "component outputs (issues #6 and #7)"


class TrackingServicer(tracking_service_pb2_grpc.TrackingServiceServicer):
    def __init__(self, node: Node) -> None:
        self._config = node.config
        self._database = node.database
        self._catalog = node.catalog

    def _job(self, job_id: str, role: str = "", party_id: str | None = None) -> Job:
        """The job row asked for; the initiator's when neither role nor party is given."""
        job_filter = jobs.JobFilter(job_id=job_id, role=role or None, party_id=party_id)
        if not (role or party_id):
            job_filter = jobs.JobFilter(job_id=job_id, is_initiator=True)
        with self._database.session() as session:
            rows = jobs.query_jobs(session, job_filter)
        if not rows:
            raise NotFound(f"can not found this job: {job_id}", job_id=job_id)
        return rows[0]

    def _component(self, request: Any) -> tracking.ComponentRef:
        job = self._job(request.job_id, request.role, party(request))
        if request.component_name not in job.f_dsl.get("components", {}):
            raise NotFound(
                f"job {request.job_id} has no component {request.component_name}",
                job_id=request.job_id,
                component_name=request.component_name,
            )
        return tracking.ComponentRef(
            job.f_job_id, request.component_name, job.f_role, job.f_party_id
        )

    def GetJobDataView(
        self, request: pb.GetJobDataViewRequest, context: grpc.ServicerContext
    ) -> pb.GetJobDataViewResponse:
        job = self._job(request.job_id, request.role, party(request))
        spec = parse_job(job.f_dsl, job.f_runtime_conf, self._catalog, has_route=lambda _: True)
        me = PartyRole(job.f_role, int(job.f_party_id))
        # FATE: the initiator sees every party's data, the others only their own.
        shown = spec.parties() if job.f_is_initiator else [me]
        dataset: dict[str, dict[str, dict[str, str]]] = {}
        for who in shown:
            tables = {
                key: f"{table.namespace}.{table.name}"
                for component in spec.components
                if spec.runs_at(component.name, who.role, who.party_id)
                for key, table in spec.input_tables(component.name, who.role, who.party_id).items()
            }
            dataset.setdefault(who.role, {})[str(who.party_id)] = tables
        partner = {
            role: [p for p in parties if p != me.party_id] for role, parties in spec.roles.items()
        }
        view = {"partner": partner, "dataset": dataset, "roles": spec.roles, "model_summary": {}}
        return pb.GetJobDataViewResponse(data=to_struct(view), retmsg="success")

    def ListComponents(
        self, request: pb.ListComponentsRequest, context: grpc.ServicerContext
    ) -> pb.ListComponentsResponse:
        job = self._job(request.job_id)
        return pb.ListComponentsResponse(
            data=pb.ComponentList(components=list(job.f_dsl.get("components", {}))),
            retmsg="success",
        )

    def ListComponentMetrics(
        self, request: pb.ListComponentMetricsRequest, context: grpc.ServicerContext
    ) -> pb.ListComponentMetricsResponse:
        ref = self._component(request)
        with self._database.session() as session:
            names = tracking.list_metric_names(session, ref)
        return pb.ListComponentMetricsResponse(
            data=to_struct(names), retmsg="success" if names else "no data"
        )

    def GetComponentMetricAll(
        self, request: pb.GetComponentMetricAllRequest, context: grpc.ServicerContext
    ) -> pb.GetComponentMetricAllResponse:
        ref = self._component(request)
        with self._database.session() as session:
            metrics = tracking.read_component_metrics(session, ref)
        data = {
            namespace: {
                name: {"data": [list(point) for point in metric.data], "meta": metric.meta}
                for name, metric in by_name.items()
            }
            for namespace, by_name in metrics.items()
        }
        return pb.GetComponentMetricAllResponse(
            data=to_struct(data), retmsg="success" if data else "no data"
        )

    def GetComponentMetricData(
        self, request: pb.GetComponentMetricDataRequest, context: grpc.ServicerContext
    ) -> pb.GetComponentMetricDataResponse:
        ref = self._component(request)
        with self._database.session() as session:
            metric = tracking.read_metric(
                session, ref, request.metric_namespace, request.metric_name
            )
        if metric is None:
            return pb.GetComponentMetricDataResponse(retmsg="no data")
        points = struct_pb2.ListValue()
        for key, value in metric.data:
            points.add_list().extend([key, value])
        return pb.GetComponentMetricDataResponse(
            data=points, meta=to_struct(metric.meta), retmsg="success"
        )

    def DeleteComponentMetrics(
        self, request: pb.DeleteComponentMetricsRequest, context: grpc.ServicerContext
    ) -> pb.DeleteComponentMetricsResponse:
        if request.model:
            if not (len(request.model) == 8 and request.model.isdigit()):
                raise InvalidArgument(
                    f"model must be a day as YYYYMMDD, not {request.model!r}", model=request.model
                )
            with self._database.session() as session:
                deleted = tracking.delete_day_metrics(session, request.model)
        elif request.job_id:
            with self._database.session() as session:
                deleted = tracking.delete_job_metrics(session, request.job_id)
        else:
            raise InvalidArgument("name the metrics to delete: job_id, or model as YYYYMMDD")
        return pb.DeleteComponentMetricsResponse(data=deleted, retmsg="success")

    def GetComponentParameters(
        self, request: pb.GetComponentParametersRequest, context: grpc.ServicerContext
    ) -> pb.GetComponentParametersResponse:
        self._component(request)
        raise NotImplementedYet(f"component parameters arrive with {OUTPUTS}", feature="parameters")

    def GetComponentOutputModel(
        self, request: pb.GetComponentOutputModelRequest, context: grpc.ServicerContext
    ) -> pb.GetComponentOutputModelResponse:
        self._component(request)
        raise NotImplementedYet(f"component models arrive with {OUTPUTS}", feature="output-model")

    def GetComponentOutputData(
        self, request: pb.GetComponentOutputDataRequest, context: grpc.ServicerContext
    ) -> pb.GetComponentOutputDataResponse:
        self._component(request)
        raise NotImplementedYet(
            f"component output data arrives with {OUTPUTS}", feature="output-data"
        )

    def GetComponentOutputDataTable(
        self, request: pb.GetComponentOutputDataTableRequest, context: grpc.ServicerContext
    ) -> pb.GetComponentOutputDataTableResponse:
        ref = self._component(request)
        with self._database.session() as session:
            rows = tracking.list_output_data_info(
                session,
                ref.job_id,
                component_name=ref.component_name,
                role=ref.role,
                party_id=ref.party_id,
            )
        if not rows:
            raise NotFound(
                "No found table, please check if the parameters are correct",
                job_id=ref.job_id,
                component_name=ref.component_name,
            )
        return pb.GetComponentOutputDataTableResponse(
            data=[
                pb.OutputDataTable(
                    data_name=row.f_data_name,
                    table_name=row.f_table_name,
                    table_namespace=row.f_table_namespace,
                )
                for row in rows
            ],
            retmsg="success",
        )

    def DownloadComponentOutputData(
        self, request: pb.DownloadComponentOutputDataRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.DownloadComponentOutputDataResponse]:
        self._component(request)
        raise NotImplementedYet(
            f"component output data arrives with {OUTPUTS}", feature="output-data-download"
        )

    def GetComponentSummary(
        self, request: pb.GetComponentSummaryRequest, context: grpc.ServicerContext
    ) -> pb.GetComponentSummaryResponse:
        ref = self._component(request)
        with self._database.session() as session:
            summary = tracking.get_component_summary(session, ref)
        if summary is None:
            raise NotFound(
                f"component {ref.component_name} of job {ref.job_id} has no summary",
                job_id=ref.job_id,
                component_name=ref.component_name,
            )
        return pb.GetComponentSummaryResponse(data=to_struct(summary), retmsg="success")
