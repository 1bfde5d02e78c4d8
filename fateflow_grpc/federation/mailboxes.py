"""`Mailboxes` over gRPC: the core asks its own proxy's local endpoint to clean a job's, or to
open them again for a rerun."""

from __future__ import annotations

import logging

import grpc

from fateflow.proxy.v1 import proxy_service_pb2 as pb
from fateflow.proxy.v1 import proxy_service_pb2_grpc
from fateflow_grpc.errors import FederatedError

log = logging.getLogger(__name__)

#: Seconds a CleanJob or OpenJob call may take: they only remove files.
CLEAN_TIMEOUT_S = 10.0


class ProxyMailboxes:
    def __init__(self, proxy_address: str) -> None:
        self._channel = grpc.insecure_channel(proxy_address)
        self._stub = proxy_service_pb2_grpc.ProxyServiceStub(self._channel)  # type: ignore[no-untyped-call]

    def clean_job(self, job_id: str) -> None:
        try:
            response = self._stub.CleanJob(
                pb.CleanJobRequest(job_id=job_id), timeout=CLEAN_TIMEOUT_S
            )
        except grpc.RpcError as error:
            assert isinstance(error, grpc.Call)
            log.warning("could not clean the mailboxes of job %s: %s", job_id, error.details())
            return
        if response.removed_objects:
            log.info("job %s ended: %d unread objects removed", job_id, response.removed_objects)

    def open_job(self, job_id: str) -> None:
        try:
            self._stub.OpenJob(pb.OpenJobRequest(job_id=job_id), timeout=CLEAN_TIMEOUT_S)
        except grpc.RpcError as error:
            assert isinstance(error, grpc.Call)
            raise FederatedError(
                f"could not open the mailboxes of job {job_id} again: {error.details()}",
                job_id=job_id,
            ) from None

    def close(self) -> None:
        self._channel.close()
