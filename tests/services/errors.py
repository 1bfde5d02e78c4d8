"""Reading our errors back out of a failed call."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status


def error_info(error: grpc.RpcError) -> error_details_pb2.ErrorInfo:
    status = rpc_status.from_call(error)
    assert status is not None, f"no status details in {error}"
    (detail,) = status.details
    info = error_details_pb2.ErrorInfo()
    assert detail.Unpack(info)
    return info


def expect_error(
    code: grpc.StatusCode, retcode: int, call: object
) -> tuple[str, error_details_pb2.ErrorInfo]:
    """Run `call()`, expect it to fail with `code` and FATE `retcode`; return message and info."""
    with pytest.raises(grpc.RpcError) as caught:
        call()  # type: ignore[operator]
    error = caught.value
    assert error.code() == code, error.details()
    info = error_info(error)
    assert info.domain == "fateflow-grpc"
    assert info.metadata["retcode"] == str(retcode)
    return error.details(), info
