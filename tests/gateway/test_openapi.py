"""/v1/openapi.json: a valid OpenAPI 3.1 document of exactly the routes, made from descriptors."""

from __future__ import annotations

from typing import Any

import jsonschema
from google.api import annotations_pb2, field_behavior_pb2
from google.protobuf import descriptor_pb2
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from fateflow.v1 import job_pb2, job_service_pb2
from gateway.openapi import openapi_document
from gateway.routes import build_routes
from tests.gateway.conftest import Client, RunningGateway
from tests.gateway.fake_core import FakeCore
from tests.gateway.rules import expected_rules

_F = descriptor_pb2.FieldDescriptorProto


def served(client: Client) -> dict[str, Any]:
    reply = client.get("/v1/openapi.json")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("application/json")
    document: dict[str, Any] = reply.json()
    return document


def operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(verb.upper(), path) for path, item in document["paths"].items() for verb in item}


def test_the_document_is_valid_openapi_3_1(client: Client) -> None:
    document = served(client)
    assert document["openapi"] == "3.1.0"
    validate(document, cls=OpenAPIV31SpecValidator)


def test_it_lists_exactly_the_routes_of_the_descriptors(
    client: Client, running_gateway: RunningGateway
) -> None:
    listed = operations(served(client))
    assert listed == {(r.verb, r.path) for r in running_gateway.gateway.routes}
    assert listed == {(r.verb, r.path) for r in expected_rules()}


def test_request_fields_by_type(client: Client) -> None:
    schemas = served(client)["components"]["schemas"]
    stop = schemas["fateflow.v1.StopJobRequest"]
    assert stop["required"] == ["job_id"]  # REQUIRED field_behavior
    assert stop["properties"]["job_id"] == {"type": "string", "minLength": 1}
    submit = schemas["fateflow.v1.SubmitJobRequest"]
    assert submit["required"] == ["job_runtime_conf"]
    assert submit["properties"]["job_dsl"] == {"type": "object"}  # google.protobuf.Struct
    query = schemas["fateflow.v1.QueryJobRequest"]["properties"]
    assert query["party_id"]["type"] == "integer"  # int64: a JSON number, as FATE sends it
    assert query["party_id"]["format"] == "int64"
    assert query["is_initiator"] == {"type": "boolean"}
    assert query["job_id"] == {"type": "string"}
    row = schemas["fateflow.v1.JobRow"]["properties"]
    assert row["f_progress"]["format"] == "int32"


def test_responses_are_fate_envelopes(client: Client) -> None:
    paths = served(client)["paths"]

    def envelope(path: str) -> dict[str, Any]:
        schema: dict[str, Any] = paths[path]["post"]["responses"]["200"]["content"][
            "application/json"
        ]["schema"]
        return schema

    submit = envelope("/v1/job/submit")
    assert submit["required"] == ["retcode", "retmsg"]
    assert submit["additionalProperties"] is False
    assert set(submit["properties"]) == {"retcode", "retmsg", "data", "jobId"}
    assert submit["properties"]["data"] == {"$ref": "#/components/schemas/fateflow.v1.SubmittedJob"}
    query = envelope("/v1/job/query")
    assert set(query["properties"]) == {"retcode", "retmsg", "data"}  # no jobId: no job_id
    assert query["properties"]["data"]["type"] == "array"
    transfer = envelope("/v1/model/transfer")  # map<string, bytes>
    assert transfer["properties"]["data"] == {
        "type": "object",
        "additionalProperties": {"type": "string", "contentEncoding": "base64"},
    }
    refused = paths["/v1/job/query"]["post"]["responses"]["default"]
    assert refused["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }


def test_the_envelope_schema_accepts_what_the_gateway_answers(
    client: Client, core: FakeCore
) -> None:
    row = job_pb2.JobRow(f_job_id="j", f_start_time=1700000000000, f_progress=50)
    row.f_dsl.update({"components": {"reader_0": {"module": "Reader"}}})
    core.on("QueryJob", lambda request, context: job_service_pb2.QueryJobResponse(data=[row]))
    document = served(client)
    operation = document["paths"]["/v1/job/query"]["post"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    validator = jsonschema.Draft202012Validator({**schema, "components": document["components"]})
    body = client.post("/v1/job/query", json={"job_id": "j"}).json()
    assert body["data"][0]["f_start_time"] == 1700000000000
    validator.validate(body)
    # An int64 rendered as json_format's string would not be the integer the document says.
    body["data"][0]["f_start_time"] = "1700000000000"
    assert not validator.is_valid(body)


def test_downloads_are_files_with_a_json_body_on_get(client: Client) -> None:
    log = served(client)["paths"]["/v1/job/log"]["get"]
    assert log["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/fateflow.v1.DownloadJobLogRequest"
    }
    assert list(log["responses"]["200"]["content"]) == ["application/octet-stream"]
    assert list(log["responses"]["default"]["content"]) == ["application/json"]


def test_uploads_are_multipart_with_settings_in_the_query(client: Client) -> None:
    upload = served(client)["paths"]["/v1/data/upload"]["post"]
    form = upload["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["properties"]["file"]["contentMediaType"] == "application/octet-stream"
    query = {p["name"]: p for p in upload["parameters"]}
    assert {p["in"] for p in query.values()} == {"query"}
    assert {"file", "head", "partition", "namespace", "table_name", "drop"} <= set(query)
    assert "chunk" not in query  # the uploaded bytes field is the file part
    settings = upload["requestBody"]["content"]["application/json"]["schema"]
    assert set(settings["properties"]) == set(query)


def test_enums_required_fields_recursion_and_additional_bindings() -> None:
    file = descriptor_pb2.FileDescriptorProto(name="fateflow/v1/extra.proto", package="fateflow.v1")
    file.enum_type.add(name="Color").value.add(name="COLOR_UNSPECIFIED", number=0)
    file.enum_type[0].value.add(name="COLOR_RED", number=1)
    node = file.message_type.add(name="Node")
    node.field.add(name="color", number=1, type=_F.TYPE_ENUM, type_name=".fateflow.v1.Color")
    node.field.add(
        name="children",
        number=2,
        type=_F.TYPE_MESSAGE,
        type_name=".fateflow.v1.Node",
        label=_F.LABEL_REPEATED,
    )
    name = node.field.add(name="name", number=3, type=_F.TYPE_STRING)
    name.options.Extensions[field_behavior_pb2.field_behavior].append(
        field_behavior_pb2.FieldBehavior.REQUIRED
    )
    file.message_type.add(name="PingResponse")
    method = file.service.add(name="ExtraService").method.add(
        name="Ping", input_type=".fateflow.v1.Node", output_type=".fateflow.v1.PingResponse"
    )
    rule = method.options.Extensions[annotations_pb2.http]
    rule.post, rule.body = "/v1/extra/ping", "*"
    rule.additional_bindings.add(get="/v1/extra/ping", body="*")
    document = openapi_document(build_routes([file]))
    validate(document, cls=OpenAPIV31SpecValidator)
    assert operations(document) == {("POST", "/v1/extra/ping"), ("GET", "/v1/extra/ping")}
    assert document["components"]["schemas"]["fateflow.v1.Node"] == {
        "type": "object",
        "properties": {
            "color": {"type": "string", "enum": ["COLOR_UNSPECIFIED", "COLOR_RED"]},
            "children": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/fateflow.v1.Node"},
            },
            "name": {"type": "string", "minLength": 1},  # the core takes "" for missing
        },
        "required": ["name"],
    }
