"""The one place where requests are checked for required fields and errors become gRPC statuses.

Every RPC of the core goes through `ErrorInterceptor`: it refuses a request that lacks a field
marked `(google.api.field_behavior) = REQUIRED` or carries an identifier that is not in FATE's
format (`ids.py`: nothing from a request reaches a path unchecked), turns a `FateFlowError` into a status with one
`google.rpc.ErrorInfo` (reason, domain, metadata with the FATE retcode), and turns any other
exception into a generic INTERNAL status whose request id is also in the server log.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import grpc
from google.api import field_behavior_pb2
from google.protobuf import any_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from fateflow_grpc import ids
from fateflow_grpc.errors import ERROR_DOMAIN, FateFlowError, InvalidArgument

log = logging.getLogger(__name__)


@functools.cache
def _required_fields(descriptor: Descriptor) -> tuple[FieldDescriptor, ...]:
    return tuple(
        f
        for f in descriptor.fields
        if field_behavior_pb2.REQUIRED
        in f.GetOptions().Extensions[field_behavior_pb2.field_behavior]
    )


def check_request(request: Message | bytes) -> None:
    """Raise InvalidArgument naming every REQUIRED field the request leaves empty, or the
    first identifier not in FATE's format (`ids.check_request`).

    Calls the proxy forwards arrive as bytes: the core that parses them checks them.
    """
    if not isinstance(request, Message):
        return
    missing = [
        f.name
        for f in _required_fields(request.DESCRIPTOR)
        if not (request.HasField(f.name) if f.has_presence else getattr(request, f.name))
    ]
    if missing:
        raise InvalidArgument(
            f"the following arguments are required: {', '.join(missing)}", fields=",".join(missing)
        )
    ids.check_request(request)


def to_status(error: FateFlowError) -> grpc.Status:
    info = error_details_pb2.ErrorInfo(
        reason=error.reason,
        domain=ERROR_DOMAIN,
        metadata={**error.metadata, "retcode": str(int(error.retcode))},
    )
    detail = any_pb2.Any()
    detail.Pack(info)
    status = status_pb2.Status(
        code=getattr(code_pb2, error.status), message=error.message, details=[detail]
    )
    result: grpc.Status = rpc_status.to_status(status)
    return result


def _abort(context: grpc.ServicerContext, error: Exception) -> None:
    if not context.is_active():
        return  # the client went away (cancelled or past its deadline): nobody to answer
    if isinstance(error, FateFlowError):
        context.abort_with_status(to_status(error))
    if context.code() is not None:  # type: ignore[attr-defined]  # grpc has it; its stubs do not
        raise error  # the handler aborted with a status of its own: keep it
    request_id = uuid.uuid4().hex[:12]
    log.error("request %s failed", request_id, exc_info=error)
    context.abort(grpc.StatusCode.INTERNAL, f"internal error, request id {request_id}")


def _checked_stream(requests: Iterator[Message]) -> Iterator[Message]:
    """Check the first message of a client stream: it carries the settings."""
    for index, request in enumerate(requests):
        if index == 0:
            check_request(request)
        yield request


class ErrorInterceptor(grpc.ServerInterceptor):
    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        kwargs = {
            "request_deserializer": handler.request_deserializer,
            "response_serializer": handler.response_serializer,
        }
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(_unary(handler.unary_unary), **kwargs)
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(_streaming(handler.unary_stream), **kwargs)
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(
                _unary(handler.stream_unary, stream=True), **kwargs
            )
        assert handler.stream_stream is not None
        return grpc.stream_stream_rpc_method_handler(
            _streaming(handler.stream_stream, stream=True), **kwargs
        )


def _unary(behavior: Callable[..., Any], stream: bool = False) -> Callable[..., Any]:
    def wrapped(request: Any, context: grpc.ServicerContext) -> Any:
        try:
            if stream:
                request = _checked_stream(request)
            else:
                check_request(request)
            return behavior(request, context)
        except Exception as error:
            _abort(context, error)

    return wrapped


def _streaming(behavior: Callable[..., Any], stream: bool = False) -> Callable[..., Any]:
    def wrapped(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        try:
            if stream:
                request = _checked_stream(request)
            else:
                check_request(request)
            yield from behavior(request, context)
        except Exception as error:
            _abort(context, error)

    return wrapped
