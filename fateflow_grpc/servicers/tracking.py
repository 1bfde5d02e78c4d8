"""TrackingService: what components recorded at this node: metrics, parameters, models and
output tables, each read from this party's own storage."""

from __future__ import annotations

import io
import json
import tarfile
import tempfile
from collections.abc import Iterator
from typing import Any

import grpc
import pyarrow as pa
import pyarrow.csv as pa_csv
from google.protobuf import struct_pb2

from fateflow.v1 import tracking_service_pb2 as pb
from fateflow.v1 import tracking_service_pb2_grpc
from fateflow_grpc.domain.jobspec import JobSpec, parse_job
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument, NotFound
from fateflow_grpc.node import Node
from fateflow_grpc.servicers.job import party
from fateflow_grpc.servicers.serde import to_struct
from fateflow_grpc.storage import jobs, model_files, tracking
from fateflow_grpc.storage.models import Job

#: Archive pieces streamed to the client.
CHUNK_SIZE = 1 << 20
#: FATE's parameter class of each module, the key `/v1/tracking/component/parameters` answers.
PARAM_CLASSES = {
    "Reader": "ReaderParam",
    "DataIO": "DataIOParam",
    "DataTransform": "DataTransformParam",
    "Intersection": "IntersectParam",
    "HeteroLR": "HeteroLogisticParam",
    "HomoLR": "HomoLogisticParam",
    "Evaluation": "EvaluateParam",
    "FeatureScale": "ScaleParam",
    "HomoOneHotEncoder": "HomoOneHotParam",
    "HeteroDataSplit": "DataSplitParam",
    "HomoDataSplit": "DataSplitParam",
    "FederatedSample": "SampleParam",
    "HeteroPearson": "PearsonParam",
    "HeteroKmeans": "KmeansParam",
}


def _csv(table: pa.Table, head: bool) -> bytes:
    sink = pa.BufferOutputStream()
    pa_csv.write_csv(table, sink, pa_csv.WriteOptions(include_header=head))
    return bytes(sink.getvalue())


def _add(tar: tarfile.TarFile, name: str, payload: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    tar.addfile(info, io.BytesIO(payload))


class TrackingServicer(tracking_service_pb2_grpc.TrackingServiceServicer):
    def __init__(self, node: Node) -> None:
        self._config = node.config
        self._database = node.database
        self._catalog = node.catalog
        self._tables = node.tables

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

    def _spec(self, job: Job) -> JobSpec:
        return parse_job(job.f_dsl, job.f_runtime_conf, self._catalog, has_route=lambda _: True)

    def _outputs(self, request: Any) -> list[tuple[str, pa.Table]]:
        """The component's output tables at the asked party: (output name, table)."""
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
                f"component {ref.component_name} of job {ref.job_id} has no output data at "
                f"{ref.role} {ref.party_id}",
                job_id=ref.job_id,
                component_name=ref.component_name,
            )
        newest = {row.f_data_name: row for row in sorted(rows, key=lambda r: r.f_task_version)}
        return [
            (name, self._tables.read_table(row.f_table_namespace, row.f_table_name))
            for name, row in newest.items()
        ]

    def _job_and_component(self, request: Any) -> tuple[Job, tracking.ComponentRef]:
        ref = self._component(request)
        return self._job(ref.job_id, ref.role, ref.party_id), ref

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
        job, ref = self._job_and_component(request)
        spec = self._spec(job)
        component = spec.component(ref.component_name)
        parameters = spec.component_parameters(ref.component_name, job.f_role, int(job.f_party_id))
        name = PARAM_CLASSES.get(component.dsl_module, f"{component.dsl_module}Param")
        return pb.GetComponentParametersResponse(
            data=to_struct({"module": component.dsl_module, name: parameters}), retmsg="success"
        )

    def GetComponentOutputModel(
        self, request: pb.GetComponentOutputModelRequest, context: grpc.ServicerContext
    ) -> pb.GetComponentOutputModelResponse:
        job, ref = self._job_and_component(request)
        component = self._spec(job).component(ref.component_name)
        parameters = job.f_runtime_conf.get("job_parameters", {})
        model_id = str(parameters.get("common", parameters).get("model_id", ""))
        for alias in component.model_outputs:
            model = model_files.read_model(
                model_files.model_path(
                    self._config.data_dir,
                    job.f_role,
                    int(job.f_party_id),
                    model_id,
                    job.f_job_id,
                    ref.component_name,
                    alias,
                )
            )
            if model is not None:
                meta = {"meta_data": model.get("meta", {}), "module_name": component.dsl_module}
                return pb.GetComponentOutputModelResponse(
                    data=to_struct(model.get("param", model)),
                    meta=to_struct(meta),
                    retmsg="success",
                )
        return pb.GetComponentOutputModelResponse(retmsg="no data")

    def GetComponentOutputData(
        self, request: pb.GetComponentOutputDataRequest, context: grpc.ServicerContext
    ) -> pb.GetComponentOutputDataResponse:
        outputs = self._outputs(request)
        limit = request.limit if request.HasField("limit") and request.limit >= 0 else 100
        data = struct_pb2.ListValue()
        headers, totals, names = [], [], []
        for name, table in outputs:
            rows = table.slice(0, limit).to_pylist()
            output = data.add_list()
            for row in rows:
                output.add_list().extend(list(row.values()))
            headers.append(table.column_names)
            totals.append(table.num_rows)
            names.append(name)
        meta = {"header": headers, "total": totals, "names": names}
        return pb.GetComponentOutputDataResponse(data=data, meta=to_struct(meta), retmsg="success")

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
        """FATE's tar.gz of `<name>.csv` (header line first) and `<name>.meta` ({"header"})."""
        outputs = self._outputs(request)
        limit = request.limit if request.HasField("limit") and request.limit >= 0 else None
        head = request.head if request.HasField("head") else True
        filename = (
            f"job_{request.job_id}_{request.component_name}_{request.role}_{request.party_id}"
            "_output_data.tar.gz"
        )
        with tempfile.TemporaryFile() as archive:
            with tarfile.open(fileobj=archive, mode="w:gz") as tar:
                for name, table in outputs:
                    if limit is not None:
                        table = table.slice(0, limit)
                    _add(tar, f"{name}.csv", _csv(table, head))
                    _add(tar, f"{name}.meta", json.dumps({"header": table.column_names}).encode())
            archive.seek(0)
            while chunk := archive.read(CHUNK_SIZE):
                yield pb.DownloadComponentOutputDataResponse(filename=filename, chunk=chunk)
                filename = ""

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
