"""The route table: one route per `google.api.http` binding found in the core's descriptors.

Nothing here names a path or an RPC. A route is data read from a method's options; the app
turns each into an endpoint at start-up.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

# Imported for its side effect too: it registers the `google.api.http` extension, so the
# MethodOptions parsed from reflection's FileDescriptorProtos expose the rule.
from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor, descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message

log = logging.getLogger(__name__)

#: The package whose services the gateway exposes.
PACKAGE = "fateflow.v1"

_VERBS = ("get", "put", "post", "delete", "patch")


@dataclass(frozen=True, slots=True)
class Route:
    """One HTTP binding of one RPC."""

    verb: str  # upper case, as aiohttp reports `request.method`
    path: str
    rpc: str  # the gRPC method path, "/fateflow.v1.JobService/QueryJob"
    client_streaming: bool
    server_streaming: bool
    body: str  # "*": the whole request; else the request field that takes the body
    response_body: str  # "": the whole response; else the response field sent as the body
    request_class: type[Message]
    response_class: type[Message]


def build_routes(files: Iterable[descriptor_pb2.FileDescriptorProto]) -> list[Route]:
    """Routes for every http rule of the `PACKAGE` services in `files` (dependencies first)."""
    files = list(files)
    # A private pool: the core may run in this process with the same files in the default pool.
    pool = descriptor_pool.DescriptorPool()
    for file in files:
        pool.Add(file)
    routes = []
    for file in files:
        if file.package != PACKAGE:
            continue
        for service in file.service:
            for method in service.method:
                routes.extend(_method_routes(pool, f"{file.package}.{service.name}", method))
    _check_unique(routes)
    return routes


def _method_routes(
    pool: descriptor_pool.DescriptorPool,
    service: str,
    method: descriptor_pb2.MethodDescriptorProto,
) -> list[Route]:
    if not method.options.HasExtension(annotations_pb2.http):
        return []
    rule: http_pb2.HttpRule = method.options.Extensions[annotations_pb2.http]
    rpc = f"/{service}/{method.name}"
    if method.client_streaming and method.server_streaming:
        log.warning("%s: bidirectional streaming has no HTTP form; not routed", rpc)
        return []
    request_class = message_factory.GetMessageClass(
        pool.FindMessageTypeByName(method.input_type.lstrip("."))
    )
    response_class = message_factory.GetMessageClass(
        pool.FindMessageTypeByName(method.output_type.lstrip("."))
    )
    routes = []
    for binding in (rule, *rule.additional_bindings):
        pattern = binding.WhichOneof("pattern")
        if pattern in _VERBS:
            verb, path = pattern.upper(), getattr(binding, pattern)
        elif pattern == "custom":
            verb, path = binding.custom.kind.upper(), binding.custom.path
        else:
            continue
        if "{" in path:
            # FATE's API has no path parameters; binding them is not worth the code yet.
            log.warning("%s: path templates are not supported (%s); not routed", rpc, path)
            continue
        if not _streams_bytes(rpc, method, binding, request_class, response_class):
            continue
        routes.append(
            Route(
                verb=verb,
                path=path,
                rpc=rpc,
                client_streaming=method.client_streaming,
                server_streaming=method.server_streaming,
                body=binding.body,
                response_body=binding.response_body,
                request_class=request_class,
                response_class=response_class,
            )
        )
    return routes


def _streams_bytes(
    rpc: str,
    method: descriptor_pb2.MethodDescriptorProto,
    rule: http_pb2.HttpRule,
    request_class: type[Message],
    response_class: type[Message],
) -> bool:
    """Whether a streaming side names the bytes field that carries the file, as HTTP needs."""
    if method.server_streaming and not _is_bytes_field(response_class, rule.response_body):
        log.warning(
            "%s: a response stream needs response_body naming a bytes field; not routed", rpc
        )
        return False
    if (
        method.client_streaming
        and rule.body != "*"
        and not _is_bytes_field(request_class, rule.body)
    ):
        log.warning("%s: a request stream needs body naming a bytes field; not routed", rpc)
        return False
    return True


def _is_bytes_field(message_class: type[Message], name: str) -> bool:
    field = message_class.DESCRIPTOR.fields_by_name.get(name)
    return (
        field is not None
        and field.type == descriptor.FieldDescriptor.TYPE_BYTES
        and not field.is_repeated
    )


def _check_unique(routes: list[Route]) -> None:
    seen: dict[tuple[str, str], str] = {}
    for route in routes:
        other = seen.setdefault((route.verb, route.path), route.rpc)
        if other != route.rpc:
            raise ValueError(f"{route.verb} {route.path} is bound to both {other} and {route.rpc}")
