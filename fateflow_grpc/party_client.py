"""`Parties` over gRPC: `fateflow.party.v1` calls sent to this node's own proxy, which routes
them by the destination party id in the metadata (see `party_proxy/routing.py`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import grpc
from google.protobuf import json_format, struct_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from fateflow.party.v1 import party_service_pb2 as pb
from fateflow.party.v1 import party_service_pb2_grpc
from fateflow_grpc.domain.deploying import DeployOrder
from fateflow_grpc.domain.parties import NodeInfo, PartyRole, TaskRef, TaskState
from fateflow_grpc.domain.publishing import LoadOrder, Model, Outcome
from fateflow_grpc.errors import (
    ERROR_BY_STATUS,
    ERROR_DOMAIN,
    FateFlowError,
    FederatedError,
    RetCode,
)
from fateflow_grpc.status import JobStatus, TaskStatus
from party_proxy.security import DST_PARTY, SRC_PARTY

R = TypeVar("R")

#: Seconds one control call may take end to end, every hop included.
CALL_TIMEOUT_S = 30.0
#: A proxy that restarts is reached again within a second (gRPC's default backoff: minutes).
CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 1000),
]


class GrpcParties:
    def __init__(self, own_party_id: int, proxy_address: str) -> None:
        self._own = own_party_id
        self._channel = grpc.insecure_channel(proxy_address, options=CHANNEL_OPTIONS)
        self._stub = party_service_pb2_grpc.PartyServiceStub(self._channel)  # type: ignore[no-untyped-call]

    def close(self) -> None:
        self._channel.close()

    def _call(
        self,
        party_id: int,
        method: Callable[..., R],
        request: Any,
        timeout_s: float = CALL_TIMEOUT_S,
    ) -> R:
        metadata = ((DST_PARTY, str(party_id)), (SRC_PARTY, str(self._own)))
        try:
            return method(request, timeout=timeout_s, metadata=metadata)
        except grpc.RpcError as error:
            raise _domain_error(party_id, error) from None

    def create_job(
        self,
        party: PartyRole,
        job_id: str,
        dsl: dict[str, Any],
        conf: dict[str, Any],
        train_conf: dict[str, Any],
    ) -> list[str]:
        response = self._call(
            party.party_id,
            self._stub.CreateJob,
            pb.CreateJobRequest(
                job_id=job_id,
                dsl=_struct(dsl),
                runtime_conf=_struct(conf),
                train_runtime_conf=_struct(train_conf),
                role=party.role,
                party_id=party.party_id,
            ),
        )
        return list(response.warnings)

    def update_job(
        self, party: PartyRole, job_id: str, status: JobStatus | None, progress: int
    ) -> bool:
        response = self._call(
            party.party_id,
            self._stub.UpdateJob,
            pb.UpdateJobRequest(
                job_id=job_id,
                role=party.role,
                party_id=party.party_id,
                status=status.value if status else "",
                progress=progress,
            ),
        )
        return bool(response.applied)

    def start_task(self, task: TaskRef) -> None:
        self._call(
            task.party_id, self._stub.StartTask, pb.StartTaskRequest(task=task_to_proto(task))
        )

    def stop_job(self, party: PartyRole, job_id: str, status: JobStatus) -> None:
        self._call(
            party.party_id,
            self._stub.StopJob,
            pb.StopJobRequest(
                job_id=job_id, role=party.role, party_id=party.party_id, stop_status=status.value
            ),
        )

    def report_task(self, initiator_party_id: int, state: TaskState) -> None:
        self._call(
            initiator_party_id,
            self._stub.ReportTask,
            pb.ReportTaskRequest(state=state_to_proto(state)),
        )

    def collect_tasks(self, party: PartyRole, job_id: str) -> tuple[JobStatus, list[TaskState]]:
        response = self._call(
            party.party_id,
            self._stub.CollectTasks,
            pb.CollectTasksRequest(job_id=job_id, role=party.role, party_id=party.party_id),
        )
        return JobStatus(response.job_status), [state_from_proto(s) for s in response.tasks]

    def get_job_status(self, initiator_party_id: int, job_id: str) -> tuple[JobStatus, int]:
        response = self._call(
            initiator_party_id, self._stub.GetJobStatus, pb.GetJobStatusRequest(job_id=job_id)
        )
        return JobStatus(response.status), response.progress

    def get_node_info(self, party_id: int, timeout_s: float) -> NodeInfo:
        response = self._call(
            party_id, self._stub.GetNodeInfo, pb.GetNodeInfoRequest(), timeout_s=timeout_s
        )
        return NodeInfo(response.party_id, response.version)

    def load_model(self, order: LoadOrder) -> Outcome:
        response = self._call(
            order.party.party_id, self._stub.LoadModel, load_order_to_proto(order)
        )
        return Outcome(order.party, response.retcode, response.retmsg)

    def deploy_model(self, order: DeployOrder) -> None:
        self._call(order.party.party_id, self._stub.DeployModel, deploy_order_to_proto(order))


def _struct(value: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(value)
    return struct


def struct_to_dict(struct: struct_pb2.Struct) -> dict[str, Any]:
    """A Struct as a dict, whole numbers as ints: a Struct keeps every number as a double,
    and a DSL's party ids and iteration counts are integers."""
    value: dict[str, Any] = _whole_numbers(json_format.MessageToDict(struct))
    return value


def _whole_numbers(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {k: _whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(v) for v in value]
    return value


def task_to_proto(task: TaskRef) -> pb.TaskRef:
    return pb.TaskRef(
        job_id=task.job_id,
        component_name=task.component_name,
        task_version=task.task_version,
        role=task.role,
        party_id=task.party_id,
    )


def task_from_proto(task: pb.TaskRef) -> TaskRef:
    return TaskRef(task.job_id, task.component_name, task.task_version, task.role, task.party_id)


def state_to_proto(state: TaskState) -> pb.TaskState:
    return pb.TaskState(
        task=task_to_proto(state.task),
        party_status=state.party_status.value,
        message=state.message,
    )


def state_from_proto(state: pb.TaskState) -> TaskState:
    return TaskState(task_from_proto(state.task), TaskStatus(state.party_status), state.message)


def _domain_error(party_id: int, error: grpc.RpcError) -> FateFlowError:
    """The remote party's own error, or a FederatedError naming the party that was not reached."""
    assert isinstance(error, grpc.Call)
    status = rpc_status.from_call(error)
    if status is not None:
        for detail in status.details:
            info = error_details_pb2.ErrorInfo()
            if detail.Unpack(info) and info.domain == ERROR_DOMAIN:
                kind = ERROR_BY_STATUS.get(error.code().name, FateFlowError)
                return kind(
                    f"party {party_id}: {status.message}",
                    reason=info.reason,
                    retcode=RetCode(int(info.metadata.get("retcode", RetCode.EXCEPTION_ERROR))),
                    **{k: v for k, v in info.metadata.items() if k != "retcode"},
                )
    return FederatedError(
        f"party {party_id} could not be reached: {error.details()}", party_id=party_id
    )


def load_order_to_proto(order: LoadOrder) -> pb.LoadModelRequest:
    model = order.model
    return pb.LoadModelRequest(
        role=order.party.role,
        party_id=order.party.party_id,
        model_id=model.model_id,
        model_version=model.model_version,
        roles={role: pb.PartyIds(party_ids=ids) for role, ids in model.roles.items()},
        servings=order.servings,
        load_type=order.load_type,
        file_path=order.file_path,
    )


def load_order_from_proto(request: pb.LoadModelRequest) -> LoadOrder:
    roles = {role: tuple(parties.party_ids) for role, parties in request.roles.items()}
    return LoadOrder(
        PartyRole(request.role, request.party_id),
        Model(request.model_id, request.model_version, roles),
        tuple(request.servings),
        request.load_type,
        request.file_path,
    )


def deploy_order_to_proto(order: DeployOrder) -> pb.DeployModelRequest:
    return pb.DeployModelRequest(
        role=order.party.role,
        party_id=order.party.party_id,
        model_id=order.model_id,
        model_version=order.model_version,
        child_model_version=order.child_version,
        inference_dsl=_struct(order.inference_dsl),
        withdraw=order.withdraw,
        components_checkpoint=_struct(order.components_checkpoint),
    )


def deploy_order_from_proto(request: pb.DeployModelRequest) -> DeployOrder:
    return DeployOrder(
        PartyRole(request.role, request.party_id),
        request.model_id,
        request.model_version,
        request.child_model_version,
        struct_to_dict(request.inference_dsl),
        request.withdraw,
        {
            component: dict(step)
            for component, step in struct_to_dict(request.components_checkpoint).items()
        },
    )
