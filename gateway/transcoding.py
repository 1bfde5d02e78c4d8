"""JSON <-> protobuf for one route, and FATE's response envelope (built here and nowhere else).

Everything that depends only on a route's message types is worked out once, when its `Codec`
is made at start-up, so that a request costs a JSON parse, `ParseDict`, `MessageToDict`, a
walk over the few fields that need fixing, and a JSON dump.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

import grpc
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from multidict import MultiMapping

from fateflow_grpc.errors import RETCODE_BY_STATUS, RetCode
from gateway.routes import Route

log = logging.getLogger(__name__)

#: FATE's "something went wrong" retcode: bad input, uncaught errors.
EXCEPTION_ERROR = int(RetCode.EXCEPTION_ERROR)

#: The response fields that have a place in the envelope (see `Codec.envelope`).
ENVELOPE_FIELDS = ("data", "meta", "retmsg", "job_id")

#: The HTTP status of a gRPC status, as grpc-gateway maps them (runtime/errors.go). Used where
#: the status line carries the error: streamed downloads, whose clients take 200 for the file.
HTTP_STATUS = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
}

_INT64_TYPES = frozenset(
    {
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_FIXED64,
        FieldDescriptor.TYPE_SFIXED64,
    }
)
_JSON_VALUE_TYPES = frozenset(
    {"google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue"}
)
_INT64_WRAPPERS = frozenset({"google.protobuf.Int64Value", "google.protobuf.UInt64Value"})
_JSON_KINDS = {list: "array", str: "string", bool: "boolean", type(None): "null"}
#: Doubles that are whole numbers below this render as JSON integers (exact in a double).
_SAFE_INTEGER = 2**53


class RequestFailed(Exception):
    """A request that gets an error envelope; `http_status` is used where the status matters."""

    def __init__(self, retcode: int, message: str, http_status: int = 400) -> None:
        super().__init__(message)
        self.retcode = retcode
        self.message = message
        self.http_status = http_status


def envelope_bytes(envelope: Mapping[str, Any]) -> bytes:
    # Compact, ASCII: what FATE-Flow's Flask `jsonify` sends.
    return json.dumps(envelope, separators=(",", ":")).encode()


def error_envelope(retcode: int, message: str) -> dict[str, Any]:
    return {"retcode": retcode, "retmsg": message}


def load_json_object(raw: bytes) -> dict[str, Any]:
    """The request's JSON object; an empty body is an empty object (FATE's GETs may have none)."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as error:
        raise RequestFailed(
            EXCEPTION_ERROR, f"the request body is not valid JSON: {error}"
        ) from None
    if not isinstance(value, dict):
        kind = _JSON_KINDS.get(type(value), "number")
        raise RequestFailed(
            EXCEPTION_ERROR, f"the request body must be a JSON object, not a JSON {kind}"
        )
    return value


def failure_from_rpc_error(error: grpc.aio.AioRpcError) -> RequestFailed:
    """The envelope values of a failed RPC: the retcode of its ErrorInfo, else the status's."""
    code = error.code()
    message = error.details() or code.name
    return RequestFailed(_retcode(error), message, HTTP_STATUS.get(code, 500))


def _retcode(error: grpc.aio.AioRpcError) -> int:
    try:
        status = rpc_status.from_call(error)
    except ValueError:  # details that contradict the status line: trust the status line
        status = None
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            retcode = info.metadata.get("retcode", "")
            if retcode.lstrip("-").isdigit():
                return int(retcode)
    return int(RETCODE_BY_STATUS.get(error.code().name, EXCEPTION_ERROR))


class Codec:
    """JSON <-> protobuf for one route's request and response types."""

    def __init__(self, route: Route) -> None:
        self._request_class = route.request_class
        request = _descriptor(route.request_class)
        response = _descriptor(route.response_class)
        # Query-string values are all strings: lists and booleans need the field's help.
        self._repeated = _names(request, lambda f: f.is_repeated)
        self._booleans = _names(
            request, lambda f: f.type == FieldDescriptor.TYPE_BOOL and not f.is_repeated
        )
        # A `body` naming a field: for a unary RPC, the field the JSON body fills; for a
        # request stream, the bytes field that takes the uploaded file (`routes` checked it).
        named_body = route.body if route.body not in ("*", "") else None
        self.body_field = None if route.client_streaming else named_body
        self.upload_field = named_body if route.client_streaming else None
        self.filename_field = "filename" if "filename" in response.fields_by_name else None
        self._fix_response = _Fixers().message(response)
        if not route.server_streaming:
            ignored = set(response.fields_by_name) - set(ENVELOPE_FIELDS)
            if ignored:
                log.warning(
                    "%s: response fields %s have no place in the envelope",
                    route.rpc,
                    sorted(ignored),
                )

    def with_query(self, fields: dict[str, Any], query: MultiMapping[str]) -> dict[str, Any]:
        """Add the query-string parameters to `fields`; a key in both keeps the body's value."""
        for key in query:
            if key in fields:
                continue
            if key in self._repeated:
                fields[key] = query.getall(key)
            elif key in self._booleans:
                value = query[key]
                fields[key] = {"true": True, "1": True, "false": False, "0": False}.get(
                    value.lower(), value
                )
            else:
                fields[key] = query[key]
        return fields

    def request(self, fields: dict[str, Any]) -> Message:
        """The request message; unknown keys are ignored (FATE's clients add `conf_path` ...)."""
        try:
            return json_format.ParseDict(fields, self._request_class(), ignore_unknown_fields=True)
        except (json_format.ParseError, ValueError, TypeError) as error:
            # ParseDict's messages name the field ("Failed to parse limit field: ...").
            raise RequestFailed(EXCEPTION_ERROR, f"invalid request: {error}") from None

    def upload_chunk(self, data: bytes) -> Message:
        assert self.upload_field is not None
        return self._request_class(**{self.upload_field: data})

    def envelope(self, response: Message) -> dict[str, Any]:
        """FATE's envelope of a successful response."""
        body = json_format.MessageToDict(
            response,
            preserving_proto_field_name=True,
            always_print_fields_with_no_presence=True,
        )
        if self._fix_response is not None:
            self._fix_response(body)
        envelope: dict[str, Any] = {"retcode": 0, "retmsg": body.get("retmsg") or "success"}
        # A key is left out only when its message field is unset; an empty list stays `[]`.
        if "data" in body:
            envelope["data"] = body["data"]
        if "meta" in body:
            envelope["meta"] = body["meta"]
        if body.get("job_id"):
            envelope["jobId"] = body["job_id"]
        return envelope


def _descriptor(message_class: type[Message]) -> Descriptor:
    return cast(Descriptor, message_class.DESCRIPTOR)


def _names(message: Descriptor, keep: Callable[[FieldDescriptor], bool]) -> frozenset[str]:
    # ParseDict accepts a field by its proto name and by its JSON name.
    return frozenset(name for f in message.fields if keep(f) for name in (f.name, f.json_name))


# -- JSON numbers -------------------------------------------------------------------------
# json_format renders int64 as JSON strings and every number of a Struct as a double
# (`9999.0`); FATE sends numbers, and a party id of 9999.0 is not one. The fixer of a message
# type visits only the fields that can hold such values, and is None when there are none.

_Fix = Callable[[Any], Any]


class _Fixers:
    def __init__(self) -> None:
        self._made: dict[str, _Fix | None] = {}
        self._making: set[str] = set()

    def message(self, message: Descriptor) -> _Fix | None:
        name = message.full_name
        if name in _JSON_VALUE_TYPES:
            return _whole_numbers
        if name in _INT64_WRAPPERS:
            return int
        if name.startswith("google.protobuf."):
            return None
        if name in self._made:
            return self._made[name]
        if name in self._making:  # a recursive type: look the fixer up once it exists
            return lambda value: self._made[name](value)  # type: ignore[misc]
        self._making.add(name)
        fixes = [(f.name, fix) for f in message.fields if (fix := self._field(f)) is not None]
        self._making.discard(name)
        made = _fix_fields(tuple(fixes)) if fixes else None
        self._made[name] = made
        return made

    def _field(self, field: FieldDescriptor) -> _Fix | None:
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            entry = field.message_type
            assert entry is not None
            if entry.GetOptions().map_entry:
                value_fix = self._field(entry.fields_by_name["value"])
                return None if value_fix is None else _fix_map_values(value_fix)
            fix = self.message(entry)
        elif field.type in _INT64_TYPES:
            fix = int
        else:
            return None
        if fix is not None and field.is_repeated:
            return _fix_items(fix)
        return fix


def _fix_fields(fixes: tuple[tuple[str, _Fix], ...]) -> _Fix:
    def fix(obj: dict[str, Any]) -> dict[str, Any]:
        for name, fix_value in fixes:
            value = obj.get(name)
            if value is not None:
                obj[name] = fix_value(value)
        return obj

    return fix


def _fix_items(fix_item: _Fix) -> _Fix:
    return lambda items: [fix_item(item) for item in items]


def _fix_map_values(fix_value: _Fix) -> _Fix:
    return lambda mapping: {key: fix_value(value) for key, value in mapping.items()}


def _whole_numbers(value: Any) -> Any:
    """`value` with its whole-number floats made ints, in place (Structs can be large)."""
    pairs: Iterable[tuple[Any, Any]]
    if type(value) is dict:
        pairs = value.items()
    elif type(value) is list:
        pairs = enumerate(value)
    elif type(value) is float:
        return _whole(value)
    else:
        return value
    for key, item in pairs:
        kind = type(item)
        if kind is float:
            value[key] = _whole(item)
        elif kind is dict or kind is list:
            _whole_numbers(item)
    return value


def _whole(number: float) -> float | int:
    return (
        int(number) if number.is_integer() and -_SAFE_INTEGER < number < _SAFE_INTEGER else number
    )
