"""PartyService: what other parties' nodes (and this node's own scheduler, through its proxy)
ask of this node. It reaches this node only through its proxy."""

from __future__ import annotations

import grpc

from fateflow.party.v1 import party_service_pb2 as pb
from fateflow.party.v1 import party_service_pb2_grpc
from fateflow_grpc.domain.deploying import Deploying
from fateflow_grpc.domain.participant import Participant
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.domain.publishing import Publishing
from fateflow_grpc.domain.scheduler import Scheduler
from fateflow_grpc.errors import InvalidArgument
from fateflow_grpc.party_client import (
    deploy_order_from_proto,
    load_order_from_proto,
    state_from_proto,
    state_to_proto,
    struct_to_dict,
    task_from_proto,
)
from fateflow_grpc.status import JobStatus
from fateflow_grpc.version import version


def _status(value: str) -> JobStatus:
    try:
        return JobStatus(value)
    except ValueError:
        raise InvalidArgument(f"unknown job status {value!r}", status=value) from None


class PartyServicer(party_service_pb2_grpc.PartyServiceServicer):
    def __init__(
        self,
        party_id: int,
        participant: Participant,
        scheduler: Scheduler,
        publishing: Publishing,
        deploying: Deploying,
    ) -> None:
        self._party_id = party_id
        self._participant = participant
        self._scheduler = scheduler
        self._publishing = publishing
        self._deploying = deploying

    def CreateJob(
        self, request: pb.CreateJobRequest, context: grpc.ServicerContext
    ) -> pb.CreateJobResponse:
        warnings = self._participant.create_job(
            request.job_id,
            struct_to_dict(request.dsl),
            struct_to_dict(request.runtime_conf),
            struct_to_dict(request.train_runtime_conf),
            PartyRole(request.role, request.party_id),
        )
        return pb.CreateJobResponse(warnings=warnings)

    def UpdateJob(
        self, request: pb.UpdateJobRequest, context: grpc.ServicerContext
    ) -> pb.UpdateJobResponse:
        applied = self._participant.update_job(
            PartyRole(request.role, request.party_id),
            request.job_id,
            _status(request.status) if request.status else None,
            request.progress,
        )
        return pb.UpdateJobResponse(applied=applied)

    def StartTask(
        self, request: pb.StartTaskRequest, context: grpc.ServicerContext
    ) -> pb.StartTaskResponse:
        self._participant.start_task(task_from_proto(request.task))
        return pb.StartTaskResponse()

    def StopJob(
        self, request: pb.StopJobRequest, context: grpc.ServicerContext
    ) -> pb.StopJobResponse:
        self._participant.stop_job(
            PartyRole(request.role, request.party_id), request.job_id, _status(request.stop_status)
        )
        return pb.StopJobResponse()

    def ReportTask(
        self, request: pb.ReportTaskRequest, context: grpc.ServicerContext
    ) -> pb.ReportTaskResponse:
        self._scheduler.report(state_from_proto(request.state))
        return pb.ReportTaskResponse()

    def CollectTasks(
        self, request: pb.CollectTasksRequest, context: grpc.ServicerContext
    ) -> pb.CollectTasksResponse:
        status, states = self._participant.collect(
            PartyRole(request.role, request.party_id), request.job_id
        )
        return pb.CollectTasksResponse(
            job_status=status.value, tasks=[state_to_proto(s) for s in states]
        )

    def GetJobStatus(
        self, request: pb.GetJobStatusRequest, context: grpc.ServicerContext
    ) -> pb.GetJobStatusResponse:
        status, progress = self._scheduler.job_status(request.job_id)
        return pb.GetJobStatusResponse(status=status.value, progress=progress)

    def LoadModel(
        self, request: pb.LoadModelRequest, context: grpc.ServicerContext
    ) -> pb.LoadModelResponse:
        outcome = self._publishing.load_here(load_order_from_proto(request))
        return pb.LoadModelResponse(retcode=outcome.retcode, retmsg=outcome.message)

    def DeployModel(
        self, request: pb.DeployModelRequest, context: grpc.ServicerContext
    ) -> pb.DeployModelResponse:
        self._deploying.deploy_here(deploy_order_from_proto(request))
        return pb.DeployModelResponse()

    def GetNodeInfo(
        self, request: pb.GetNodeInfoRequest, context: grpc.ServicerContext
    ) -> pb.GetNodeInfoResponse:
        return pb.GetNodeInfoResponse(party_id=self._party_id, version=version())
