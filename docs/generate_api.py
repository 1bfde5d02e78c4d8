"""Write docs/api.md, the reference of the `/v1` routes, from the protos (never by hand).

    python docs/generate_api.py          # rewrite docs/api.md
    python docs/generate_api.py --check  # fail if docs/api.md is stale (tests/test_docs.py)

protoc (the pinned grpcio-tools) compiles `protos/` into a descriptor set with source info, so
the comments of every service, method, message and field are at hand. The routes are the ones
the gateway serves: `gateway.routes.build_routes` reads them from the same descriptors.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import grpc_tools
from google.api import field_behavior_pb2
from google.protobuf import descriptor_pb2
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.routes import PACKAGE, Route, build_routes  # noqa: E402

PROTOS = ROOT / "protos"
OUT = ROOT / "docs" / "api.md"

# Paths in SourceCodeInfo: field numbers of descriptor.proto.
_MESSAGE_TYPE, _ENUM_TYPE, _SERVICE = 4, 5, 6
_FIELD, _NESTED_TYPE, _NESTED_ENUM, _METHOD, _ENUM_VALUE = 2, 3, 4, 2, 2

_F = descriptor_pb2.FieldDescriptorProto
_SCALARS = {
    _F.TYPE_DOUBLE: "double",
    _F.TYPE_FLOAT: "float",
    _F.TYPE_INT64: "int64",
    _F.TYPE_UINT64: "uint64",
    _F.TYPE_INT32: "int32",
    _F.TYPE_FIXED64: "fixed64",
    _F.TYPE_FIXED32: "fixed32",
    _F.TYPE_BOOL: "bool",
    _F.TYPE_STRING: "string",
    _F.TYPE_BYTES: "bytes",
    _F.TYPE_UINT32: "uint32",
    _F.TYPE_SFIXED32: "sfixed32",
    _F.TYPE_SFIXED64: "sfixed64",
    _F.TYPE_SINT32: "sint32",
    _F.TYPE_SINT64: "sint64",
}
#: Well-known types, as they look in JSON.
_WELL_KNOWN = {
    "google.protobuf.Struct": "object",
    "google.protobuf.Value": "any JSON value",
    "google.protobuf.ListValue": "array",
}
#: Response fields and the envelope key each becomes (gateway/transcoding.py `Codec.envelope`).
_ENVELOPE = {"data": "data", "meta": "meta", "retmsg": "retmsg", "job_id": "jobId"}


def descriptor_set() -> descriptor_pb2.FileDescriptorSet:
    """The protos under `protos/fateflow`, their imports first, with comments."""
    sources = sorted(str(p.relative_to(PROTOS)) for p in (PROTOS / "fateflow").rglob("*.proto"))
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "set.pb"
        args = [
            "protoc",
            f"-I{PROTOS}",
            f"-I{well_known}",
            f"--descriptor_set_out={out}",
            "--include_imports",
            "--include_source_info",
            *sources,
        ]
        if protoc.main(args) != 0:
            sys.exit("protoc failed")
        return descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())


def _comment(text: str) -> str:
    """A proto comment as one Markdown line (table cells cannot break lines)."""
    return " ".join(line.strip() for line in text.strip().splitlines()).replace("|", "\\|")


@dataclass
class _Message:
    proto: descriptor_pb2.DescriptorProto
    comment: str
    field_comments: list[str]


@dataclass
class _Enum:
    proto: descriptor_pb2.EnumDescriptorProto
    comment: str
    value_comments: list[str]


class Protos:
    """Messages, enums and comments of a descriptor set, by full name."""

    def __init__(self, files: Iterable[descriptor_pb2.FileDescriptorProto]) -> None:
        self.messages: dict[str, _Message] = {}
        self.enums: dict[str, _Enum] = {}
        self.method_comments: dict[str, str] = {}
        self.service_comments: dict[str, str] = {}
        for file in files:
            comments = {
                tuple(location.path): location.leading_comments or location.trailing_comments
                for location in file.source_code_info.location
            }
            for index, message in enumerate(file.message_type):
                self._message(file.package, message, (_MESSAGE_TYPE, index), comments)
            for index, enum in enumerate(file.enum_type):
                self._enum(file.package, enum, (_ENUM_TYPE, index), comments)
            for s_index, service in enumerate(file.service):
                name = f"{file.package}.{service.name}"
                self.service_comments[name] = _comment(comments.get((_SERVICE, s_index), ""))
                for m_index, method in enumerate(service.method):
                    path = (_SERVICE, s_index, _METHOD, m_index)
                    self.method_comments[f"/{name}/{method.name}"] = _comment(
                        comments.get(path, "")
                    )

    def _message(
        self,
        scope: str,
        message: descriptor_pb2.DescriptorProto,
        path: tuple[int, ...],
        comments: dict[tuple[int, ...], str],
    ) -> None:
        name = f"{scope}.{message.name}"
        self.messages[name] = _Message(
            message,
            _comment(comments.get(path, "")),
            [_comment(comments.get((*path, _FIELD, i), "")) for i in range(len(message.field))],
        )
        for index, nested in enumerate(message.nested_type):
            self._message(name, nested, (*path, _NESTED_TYPE, index), comments)
        for index, enum in enumerate(message.enum_type):
            self._enum(name, enum, (*path, _NESTED_ENUM, index), comments)

    def _enum(
        self,
        scope: str,
        enum: descriptor_pb2.EnumDescriptorProto,
        path: tuple[int, ...],
        comments: dict[tuple[int, ...], str],
    ) -> None:
        self.enums[f"{scope}.{enum.name}"] = _Enum(
            enum,
            _comment(comments.get(path, "")),
            [_comment(comments.get((*path, _ENUM_VALUE, i), "")) for i in range(len(enum.value))],
        )


def _anchor(full_name: str) -> str:
    return full_name.removeprefix(PACKAGE + ".").replace(".", "").lower()


def _short(full_name: str) -> str:
    return full_name.removeprefix(PACKAGE + ".")


class Writer:
    """Renders the routes; collects the messages and enums the routes' fields refer to."""

    def __init__(self, protos: Protos) -> None:
        self.protos = protos
        self.referenced: list[str] = []

    def _refer(self, full_name: str) -> str:
        if full_name not in self.referenced:
            self.referenced.append(full_name)
        return f"[{_short(full_name)}](#{_anchor(full_name)})"

    def type_of(self, field: descriptor_pb2.FieldDescriptorProto) -> str:
        if field.type in _SCALARS:
            shown = _SCALARS[field.type]
        else:
            type_name = field.type_name.lstrip(".")
            message = self.protos.messages.get(type_name)
            if message is not None and message.proto.options.map_entry:
                key, value = message.proto.field
                return f"map<{self.type_of(key)}, {self.type_of(value)}>"
            if type_name in _WELL_KNOWN:
                shown = f"{_WELL_KNOWN[type_name]} ({type_name.rsplit('.', 1)[1]})"
            elif type_name.startswith(PACKAGE + "."):
                shown = self._refer(type_name)
            else:
                shown = type_name
            if field.type == _F.TYPE_ENUM and type_name.startswith(PACKAGE + "."):
                shown = f"enum {shown}"
        if field.label == _F.LABEL_REPEATED:
            return f"list of {shown}"
        return shown

    def fields_table(self, message_name: str, skip: str = "", envelope: bool = False) -> list[str]:
        """A table of the message's fields; a `required` column only where one is required."""
        message = self.protos.messages[message_name]
        rows: list[tuple[str, str, str, str]] = []
        for field, comment in zip(message.proto.field, message.field_comments, strict=True):
            if field.name == skip:
                continue
            behaviors = field.options.Extensions[field_behavior_pb2.field_behavior]
            required = "yes" if field_behavior_pb2.REQUIRED in behaviors else ""
            name = f"`{field.name}`"
            if envelope and field.name in _ENVELOPE:
                name += f" → `{_ENVELOPE[field.name]}`"
            rows.append((name, self.type_of(field), required, comment))
        if not rows:
            return ["No fields."]
        first = "field → envelope key" if envelope else "field"
        if any(required for _, _, required, _ in rows):
            header = [f"| {first} | type | required | description |", "|---|---|---|---|"]
            return [*header, *(f"| {n} | {t} | {r} | {c} |" for n, t, r, c in rows)]
        header = [f"| {first} | type | description |", "|---|---|---|"]
        return [*header, *(f"| {n} | {t} | {c} |" for n, t, _, c in rows)]

    def route(self, route: Route) -> list[str]:
        request = route.request_class.DESCRIPTOR.full_name
        response = route.response_class.DESCRIPTOR.full_name
        lines = [
            f"### {route.verb} {route.path}",
            "",
            f"RPC `{route.rpc.lstrip('/').replace('/', '.')}`. "
            + self.protos.method_comments.get(route.rpc, ""),
            "",
        ]
        if route.client_streaming:
            lines += [
                f"Request `{_short(request)}`: a multipart form whose file part streams into "
                f"`{route.body}`; the other fields come from the query string and the form "
                "fields before the file. Without a file part, a JSON body of the fields.",
                "",
                *self.fields_table(request, skip=route.body),
            ]
        else:
            lines += [
                f"Request `{_short(request)}`: a JSON object of these fields "
                "(query-string parameters are taken too).",
                "",
                *self.fields_table(request),
            ]
        lines.append("")
        if route.server_streaming:
            lines += [
                f"Response: the file itself (`application/octet-stream`), the bytes of "
                f"`{route.response_body}` of each `{_short(response)}` message. An error is "
                "an HTTP error status with FATE's envelope.",
                "",
            ]
        else:
            lines += [
                f"Response `{_short(response)}`, in FATE's envelope:",
                "",
                *self.fields_table(response, envelope=True),
                "",
            ]
        return lines

    def message(self, full_name: str) -> list[str]:
        lines = [f"### {_short(full_name)}", ""]
        if full_name in self.protos.enums:
            enum = self.protos.enums[full_name]
            lines += [enum.comment, "", "| value | description |", "|---|---|"]
            for value, comment in zip(enum.proto.value, enum.value_comments, strict=True):
                lines.append(f"| `{value.name}` | {comment} |")
            return [*lines, ""]
        message = self.protos.messages[full_name]
        return [*lines, message.comment, "", *self.fields_table(full_name), ""]


def render() -> str:
    files = list(descriptor_set().file)
    protos = Protos(files)
    routes = build_routes(files)
    writer = Writer(protos)
    lines = [
        "# The /v1 HTTP API",
        "",
        "<!-- Generated by docs/generate_api.py from protos/; do not edit by hand. -->",
        "",
        "Every route below is served by the HTTP gateway (`http_port`, 9380 by default) and is "
        "one RPC of the gRPC core (`grpc_port`, 9360 by default), bound by the "
        "`google.api.http` rule of its proto method. Requests are JSON objects; unknown keys are "
        "ignored, as FATE's clients send extra ones. Answers are FATE's envelope: `retcode` "
        "(0 on success), `retmsg`, and the response fields named below as `data`, `meta` and "
        "`jobId`; an error is an envelope with a non-zero `retcode` and HTTP 200 (file "
        "downloads answer an HTTP error status instead).",
        "",
        "JSON forms: `int64` fields are JSON numbers, enums their value names, `object` any "
        "JSON object. A field marked required is checked by the core, which refuses the call "
        "with a message naming it.",
        "",
        "A running gateway also describes these routes as OpenAPI 3.1, without the "
        "descriptions: `curl http://127.0.0.1:9380/v1/openapi.json`.",
        "",
        f"{len(routes)} routes.",
        "",
    ]
    by_service: dict[str, list[Route]] = {}
    for route in routes:
        by_service.setdefault(route.rpc.split("/")[1], []).append(route)
    lines += ["| method | path | RPC |", "|---|---|---|"]
    for route in routes:
        anchor = f"{route.verb} {route.path}".lower().replace(" ", "-")
        anchor = "".join(c for c in anchor if c.isalnum() or c in "-_")
        lines.append(
            f"| {route.verb} | [`{route.path}`](#{anchor}) | "
            f"`{route.rpc.lstrip('/').replace('/', '.')}` |"
        )
    lines.append("")
    for service, service_routes in by_service.items():
        lines += [f"## {_short(service)}", "", protos.service_comments.get(service, ""), ""]
        for route in service_routes:
            lines += writer.route(route)
    lines += ["## Messages and enums", ""]
    done = 0
    while done < len(writer.referenced):  # rendering a message may refer to more
        lines += writer.message(writer.referenced[done])
        done += 1
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    text = render()
    if "--check" in sys.argv:
        if not OUT.exists() or OUT.read_text() != text:
            sys.exit("docs/api.md is stale; run python docs/generate_api.py")
        print("docs/api.md is fresh")
        return
    OUT.write_text(text)
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
