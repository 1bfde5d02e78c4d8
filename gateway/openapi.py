"""The OpenAPI 3.1 description of the routes, made from their descriptors: `/v1/openapi.json`.

Like the route table, it names no path and no message: each route's request and response
types become JSON schemas by their field types, and every answer is FATE's envelope as
`transcoding` builds it. OpenAPI 3.1, because FATE's downloads are GETs with a JSON body,
which 3.1 allows to be described.

The runtime descriptors carry no source comments, so the schemas have no field descriptions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

# Imported for its side effect too: it registers the `google.api.field_behavior` extension,
# so that the field options of the routes' descriptors expose it.
from google.api import field_behavior_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from gateway.routes import Route
from gateway.transcoding import ENVELOPE_FIELDS

PATH = "/v1/openapi.json"

Schema = dict[str, Any]

_T = FieldDescriptor
_INTEGERS = {
    _T.TYPE_INT32: ("int32", -(2**31), 2**31 - 1),
    _T.TYPE_SINT32: ("int32", -(2**31), 2**31 - 1),
    _T.TYPE_SFIXED32: ("int32", -(2**31), 2**31 - 1),
    _T.TYPE_UINT32: ("uint32", 0, 2**32 - 1),
    _T.TYPE_FIXED32: ("uint32", 0, 2**32 - 1),
    _T.TYPE_INT64: ("int64", -(2**63), 2**63 - 1),
    _T.TYPE_SINT64: ("int64", -(2**63), 2**63 - 1),
    _T.TYPE_SFIXED64: ("int64", -(2**63), 2**63 - 1),
    _T.TYPE_UINT64: ("uint64", 0, 2**64 - 1),
    _T.TYPE_FIXED64: ("uint64", 0, 2**64 - 1),
}
_SCALARS: dict[int, Schema] = {
    _T.TYPE_STRING: {"type": "string"},
    _T.TYPE_BOOL: {"type": "boolean"},
    _T.TYPE_DOUBLE: {"type": "number"},
    _T.TYPE_FLOAT: {"type": "number"},
    # json_format's form of bytes.
    _T.TYPE_BYTES: {"type": "string", "contentEncoding": "base64"},
}
#: Struct and ListValue are free JSON objects and arrays; any other well-known type (a Value,
#: a Timestamp's string, a wrapper's value) is described as any JSON value.
_WELL_KNOWN = {
    "google.protobuf.Struct": {"type": "object"},
    "google.protobuf.ListValue": {"type": "array"},
}
_ENVELOPE = {
    "retcode": {"type": "integer", "description": "0 on success, else FATE's error code"},
    "retmsg": {"type": "string"},
}
_ERROR = "#/components/schemas/Error"
_NOT_EMPTY = {"string": {"minLength": 1}, "array": {"minItems": 1}}


def openapi_document(routes: list[Route]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of `routes`, as a JSON-ready dict."""
    schemas = _Schemas()
    paths: dict[str, dict[str, Any]] = {}
    for route in sorted(routes, key=lambda r: (r.path, r.verb)):
        paths.setdefault(route.path, {})[route.verb.lower()] = _operation(route, schemas)
    schemas.by_name["Error"] = {
        "type": "object",
        "description": "FATE's envelope of a failed request",
        "properties": _ENVELOPE,
        "required": ["retcode", "retmsg"],
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "fateflow-grpc: FATE-Flow's /v1 API",
            "version": "1",
            "description": (
                "Every JSON answer is FATE's envelope, with HTTP status 200 whatever its "
                "retcode; file downloads answer the file, or an error status and the envelope."
            ),
        },
        "paths": paths,
        "components": {"schemas": dict(sorted(schemas.by_name.items()))},
    }


def _operation(route: Route, schemas: _Schemas) -> dict[str, Any]:
    service, method = route.rpc.strip("/").split("/")
    request = _descriptor(route.request_class)
    # No operationId: it must be unique, and an RPC with additional bindings has several routes.
    operation: dict[str, Any] = {
        "tags": [service.rpartition(".")[2]],
        "summary": f"{service}.{method}",
    }
    if route.client_streaming:
        # The settings come in the query string (or a JSON body when the file is on the node),
        # then the file as a multipart part; see `app._Upload`.
        settings = [f for f in request.fields if f.name != route.body]
        operation["parameters"] = [
            {"name": f.name, "in": "query", "schema": schemas.field(f)}
            for f in settings
            # A Value's text in the query string is read as a string value (an upload's meta).
            if f.message_type is None or f.message_type.full_name == "google.protobuf.Value"
        ]
        file_form = {
            "type": "object",
            "properties": {
                "file": {"type": "string", "contentMediaType": "application/octet-stream"}
            },
        }
        operation["requestBody"] = {
            "content": {
                "multipart/form-data": {"schema": file_form},
                "application/json": {"schema": schemas.fields(settings)},
            }
        }
    else:
        body = request.fields_by_name.get(route.body)
        schema = schemas.field(body) if body is not None else schemas.ref(request)
        operation["requestBody"] = {"content": {"application/json": {"schema": schema}}}
    if route.server_streaming:
        success: dict[str, Any] = {
            "description": "the file",
            "content": {
                "application/octet-stream": {
                    "schema": {"type": "string", "contentMediaType": "application/octet-stream"}
                }
            },
        }
    else:
        success = {
            "description": "FATE's envelope; retcode 0 on success",
            "content": {"application/json": {"schema": _envelope(route, schemas)}},
        }
    operation["responses"] = {
        "200": success,
        "default": {
            "description": "a refused request: FATE's envelope",
            "content": {"application/json": {"schema": {"$ref": _ERROR}}},
        },
    }
    return operation


def _envelope(route: Route, schemas: _Schemas) -> Schema:
    """The envelope `transcoding.Codec.envelope` makes of the route's response."""
    response = _descriptor(route.response_class)
    properties = dict(_ENVELOPE)
    for name in ENVELOPE_FIELDS:
        field = response.fields_by_name.get(name)
        if field is None or name == "retmsg":
            continue
        if name == "job_id":
            properties["jobId"] = {"type": "string"}
        else:
            properties[name] = schemas.field(field)
    return {
        "type": "object",
        "properties": properties,
        "required": ["retcode", "retmsg"],
        "additionalProperties": False,
    }


def _descriptor(message_class: type[Message]) -> Descriptor:
    return cast(Descriptor, message_class.DESCRIPTOR)


class _Schemas:
    """JSON schemas of messages, each message once under components/schemas."""

    def __init__(self) -> None:
        self.by_name: dict[str, Schema] = {}

    def ref(self, message: Descriptor) -> Schema:
        well_known = _WELL_KNOWN.get(message.full_name)
        if well_known is not None:
            return dict(well_known)
        if message.full_name.startswith("google.protobuf."):
            return {}
        if message.full_name not in self.by_name:
            self.by_name[message.full_name] = {}  # placed first: a message may contain itself
            self.by_name[message.full_name] = self.fields(message.fields)
        return {"$ref": f"#/components/schemas/{message.full_name}"}

    def fields(self, fields: Sequence[FieldDescriptor]) -> Schema:
        properties = {f.name: self.field(f) for f in fields}
        required = [f.name for f in fields if _is_required(f)]
        for name in required:
            # The core takes an empty string or list for a missing one (`check_request`).
            properties[name] |= _NOT_EMPTY.get(properties[name].get("type", ""), {})
        schema: Schema = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        return schema

    def field(self, field: FieldDescriptor) -> Schema:
        message = field.message_type
        if message is not None and message.GetOptions().map_entry:
            return {
                "type": "object",
                "additionalProperties": self._single(message.fields_by_name["value"]),
            }
        single = self._single(field)
        return {"type": "array", "items": single} if field.is_repeated else single

    def _single(self, field: FieldDescriptor) -> Schema:
        if field.message_type is not None:
            return self.ref(field.message_type)
        if field.enum_type is not None:
            return {"type": "string", "enum": [value.name for value in field.enum_type.values]}
        if field.type in _INTEGERS:
            fmt, low, high = _INTEGERS[field.type]
            return {"type": "integer", "format": fmt, "minimum": low, "maximum": high}
        return dict(_SCALARS[field.type])


def _is_required(field: FieldDescriptor) -> bool:
    behaviors = field.GetOptions().Extensions[field_behavior_pb2.field_behavior]
    return field_behavior_pb2.FieldBehavior.REQUIRED in behaviors
