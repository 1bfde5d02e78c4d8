"""Passing a gRPC call on to the next hop, as the party proxy and the standalone front do: the
caller's deadline goes along, cancelling the caller cancels the hop, and the hop's error comes
back unchanged (status and details), or names the hop when it could not be reached.
"""

from __future__ import annotations

import grpc
from grpc_status import rpc_status

#: grpc reports "no deadline" as a remaining time of about 9e18 s, which a call cannot take.
_NO_DEADLINE_S = 1e9


def timeout_of(context: grpc.ServicerContext) -> float | None:
    """The caller's remaining time, for the next hop's call; None when the caller set none."""
    remaining = context.time_remaining()
    return None if remaining is None or remaining > _NO_DEADLINE_S else remaining


def cancel_with(context: grpc.ServicerContext, call: grpc.RpcContext) -> None:
    """The caller went away: so does every hop after this one."""

    def cancel() -> None:
        call.cancel()

    context.add_callback(cancel)


def relay(error: grpc.RpcError, context: grpc.ServicerContext, hop: str) -> None:
    """Pass the next hop's error back unchanged, or name the hop when it could not be reached.
    Aborts the call: it never returns."""
    assert isinstance(error, grpc.Call)
    status = rpc_status.from_call(error)
    if status is not None:
        context.abort_with_status(rpc_status.to_status(status))
    code = error.code()
    details = error.details() or ""
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        details = f"{hop} failed: {details}"
    context.abort(code, details)
