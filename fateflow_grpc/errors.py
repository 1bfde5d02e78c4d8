"""The errors of fateflow-grpc: one hierarchy, each class with its gRPC status and FATE retcode.

This module is the only place where a failure is given a gRPC status code and a FATE retcode.
It imports nothing of grpc, so the domain can raise these errors; the core's interceptor turns
them into statuses carrying a `google.rpc.ErrorInfo`, and the gateway turns statuses back into
FATE's envelope (`RETCODE_BY_STATUS` covers statuses that carry no ErrorInfo).
"""

from __future__ import annotations

import enum
from typing import ClassVar

#: The `domain` of every ErrorInfo we send (AIP-193).
ERROR_DOMAIN = "fateflow-grpc"


class RetCode(enum.IntEnum):
    """FATE-Flow's retcodes (FATE 1.5 `entity/types.py`, extended as FATE-Flow 1.7 did)."""

    SUCCESS = 0
    EXCEPTION_ERROR = 100
    PARAMETER_ERROR = 101
    DATA_ERROR = 102
    OPERATING_ERROR = 103
    FEDERATED_ERROR = 104
    CONNECTION_ERROR = 105
    PERMISSION_ERROR = 108
    AUTHENTICATION_ERROR = 109
    SERVER_ERROR = 500


class FateFlowError(Exception):
    """Root of our errors. `status` names a `grpc.StatusCode` member."""

    status: ClassVar[str] = "INTERNAL"
    #: The class's retcode; an endpoint where FATE answers another one passes `retcode=`.
    retcode: RetCode = RetCode.EXCEPTION_ERROR

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        retcode: RetCode | None = None,
        **metadata: object,
    ) -> None:
        super().__init__(message)
        self.message = message
        if retcode is not None:
            self.retcode = retcode
        self.reason = reason or _upper_snake(type(self).__name__)
        self.metadata = {key: str(value) for key, value in metadata.items()}


class InvalidArgument(FateFlowError):
    """The request is malformed or names a value that cannot be (FATE answers 100 for these)."""

    status = "INVALID_ARGUMENT"
    retcode = RetCode.EXCEPTION_ERROR


class NotFound(FateFlowError):
    """The job, task, table or component does not exist ("find job failed")."""

    status = "NOT_FOUND"
    retcode = RetCode.PARAMETER_ERROR


class AlreadyExists(FateFlowError):
    """The thing to create is there already, such as a table uploaded without `drop`."""

    status = "ALREADY_EXISTS"
    retcode = RetCode.EXCEPTION_ERROR


class FailedPrecondition(FateFlowError):
    """The operation does not fit the current state, such as stopping a finished job."""

    status = "FAILED_PRECONDITION"
    retcode = RetCode.OPERATING_ERROR


class PermissionDenied(FateFlowError):
    """The caller may not do this: a party not allowed, a path outside the allowed directories."""

    status = "PERMISSION_DENIED"
    retcode = RetCode.PERMISSION_ERROR


class Unauthenticated(FateFlowError):
    """The caller did not prove which party it is."""

    status = "UNAUTHENTICATED"
    retcode = RetCode.AUTHENTICATION_ERROR


class FederatedError(FateFlowError):
    """Another party could not be reached or did not answer in time."""

    status = "UNAVAILABLE"
    retcode = RetCode.FEDERATED_ERROR


class DeadlineExceeded(FateFlowError):
    """Waited for another party past a timeout, such as a federation `get`; says for what."""

    status = "DEADLINE_EXCEEDED"
    retcode = RetCode.FEDERATED_ERROR


#: Our error class for each status, to rebuild a relayed error (from another party) as ours.
ERROR_BY_STATUS: dict[str, type[FateFlowError]] = {
    cls.status: cls
    for cls in (
        FateFlowError,
        InvalidArgument,
        NotFound,
        AlreadyExists,
        FailedPrecondition,
        PermissionDenied,
        Unauthenticated,
        FederatedError,
        DeadlineExceeded,
    )
}

#: FATE retcode for a status without ErrorInfo (from grpc itself or a peer that is not ours).
RETCODE_BY_STATUS: dict[str, RetCode] = {
    status: cls.retcode for status, cls in ERROR_BY_STATUS.items()
} | {"RESOURCE_EXHAUSTED": RetCode.OPERATING_ERROR}


def _upper_snake(name: str) -> str:
    return "".join(f"_{c}" if c.isupper() and i else c for i, c in enumerate(name)).upper()
