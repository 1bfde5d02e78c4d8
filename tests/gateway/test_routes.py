"""The route table is read from the core's descriptors, and only from them."""

from __future__ import annotations

import pytest
from google.api import annotations_pb2
from google.protobuf import descriptor_pb2

from gateway.routes import build_routes
from tests.gateway.conftest import RunningGateway
from tests.gateway.rules import Rule, expected_rules


def test_route_table_equals_the_http_rules_of_the_descriptors(
    running_gateway: RunningGateway,
) -> None:
    routes = running_gateway.gateway.routes
    table = sorted(
        Rule(r.verb, r.path, r.rpc, r.client_streaming, r.server_streaming) for r in routes
    )
    assert table == expected_rules()
    assert len(table) == 45


def test_routes_keep_the_body_rules(running_gateway: RunningGateway) -> None:
    routes = {r.path: r for r in running_gateway.gateway.routes}
    assert routes["/v1/job/query"].body == "*"
    assert routes["/v1/data/upload"].body == "chunk"
    assert routes["/v1/job/log"].response_body == "chunk"
    assert (
        routes["/v1/job/query"].request_class.DESCRIPTOR.full_name == "fateflow.v1.QueryJobRequest"
    )


def _file_with(
    method_options: descriptor_pb2.MethodOptions,
) -> list[descriptor_pb2.FileDescriptorProto]:
    """A `fateflow.v1` file with one service and one method, as reflection would send it."""
    file = descriptor_pb2.FileDescriptorProto(name="fateflow/v1/extra.proto", package="fateflow.v1")
    file.message_type.add(name="PingRequest").field.add(
        name="party_id",
        number=1,
        type=descriptor_pb2.FieldDescriptorProto.TYPE_INT64,
        label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL,
    )
    file.message_type.add(name="PingResponse")
    file.service.add(name="ExtraService").method.add(
        name="Ping",
        input_type=".fateflow.v1.PingRequest",
        output_type=".fateflow.v1.PingResponse",
        options=method_options,
    )
    return [file]


def test_a_new_rpc_with_an_http_rule_is_a_new_route() -> None:
    options = descriptor_pb2.MethodOptions()
    rule = options.Extensions[annotations_pb2.http]
    rule.post = "/v1/extra/ping"
    rule.body = "*"
    rule.additional_bindings.add(get="/v1/extra/ping", body="*")
    routes = build_routes(_file_with(options))
    assert [(r.verb, r.path, r.rpc) for r in routes] == [
        ("POST", "/v1/extra/ping", "/fateflow.v1.ExtraService/Ping"),
        ("GET", "/v1/extra/ping", "/fateflow.v1.ExtraService/Ping"),
    ]
    assert routes[0].request_class(party_id=7).party_id == 7


def test_an_rpc_without_an_http_rule_has_no_route() -> None:
    assert build_routes(_file_with(descriptor_pb2.MethodOptions())) == []


def test_two_rpcs_on_one_path_are_refused() -> None:
    options = descriptor_pb2.MethodOptions()
    options.Extensions[annotations_pb2.http].post = "/v1/extra/ping"
    files = _file_with(options)
    files[0].service[0].method.add().CopyFrom(files[0].service[0].method[0])
    files[0].service[0].method[1].name = "Pong"
    with pytest.raises(ValueError, match="/v1/extra/ping"):
        build_routes(files)


def test_a_stream_without_a_bytes_field_is_not_routed() -> None:
    options = descriptor_pb2.MethodOptions()
    rule = options.Extensions[annotations_pb2.http]
    rule.get = "/v1/extra/stream"
    rule.response_body = "party_id"  # not bytes
    files = _file_with(options)
    method = files[0].service[0].method[0]
    method.server_streaming = True
    method.output_type = ".fateflow.v1.PingRequest"
    assert build_routes(files) == []
    rule.response_body = ""
    method.options.CopyFrom(options)
    assert build_routes(files) == []
