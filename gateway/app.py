"""The aiohttp application: FATE-Flow's `/v1/...` JSON API, transcoded onto the core's RPCs.

    app = await create_app("127.0.0.1:9360")   # reads the routes from the core's reflection
    web.run_app(app, port=9380)

Besides `/v1/openapi.json` (the routes' OpenAPI description, see `openapi`) and the board's
files under `/board/` (see `static`), one catch-all
aiohttp route hands every request to `Gateway.dispatch`, which finds the endpoint by path and
verb in a dict built at start-up and turns every failure into FATE's envelope: a client never
sees a stack trace or an HTML error page.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from typing import Any, Protocol
from urllib.parse import quote

import grpc
from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from multidict import MultiDict

from gateway import openapi
from gateway.reflection import fetch_files
from gateway.routes import PACKAGE, Route, build_routes
from gateway.static import Board
from gateway.transcoding import (
    EXCEPTION_ERROR,
    Codec,
    RequestFailed,
    envelope_bytes,
    error_envelope,
    failure_from_rpc_error,
    load_json_object,
)

log = logging.getLogger(__name__)

#: Bytes per upload message: the memory an upload holds, whatever the file's size.
CHUNK_SIZE = 1024 * 1024
#: Largest JSON body (DSLs and confs are large-ish; uploads stream and are not bounded by it).
MAX_BODY_SIZE = 64 * 1024 * 1024
#: Largest non-file field of a multipart form.
MAX_FORM_FIELD_SIZE = 1024 * 1024
#: As large as the core's own limits, so that a big DSL or model buffer gets through.
CHANNEL_OPTIONS = [
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
]

_TOKEN = re.compile(r"[A-Za-z0-9!#$&+.^_`|~-]+")


class Endpoint(Protocol):
    #: Whether errors must show in the HTTP status (the client takes a 200 for the file).
    streams_response: bool

    async def handle(self, request: web.Request) -> web.StreamResponse: ...


class Gateway:
    """The endpoints of one core, by path and verb."""

    def __init__(self, channel: grpc.aio.Channel, routes: list[Route]) -> None:
        self.routes = routes
        self._endpoints: dict[str, dict[str, Endpoint]] = {}
        for route in routes:
            self._endpoints.setdefault(route.path, {})[route.verb] = _endpoint(channel, route)

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        # FATE-Flow's Flask routes accept a trailing slash.
        methods = self._endpoints.get(path) or self._endpoints.get(path.rstrip("/"))
        if methods is None:
            return _error(404, EXCEPTION_ERROR, f"no endpoint {path}")
        endpoint = methods.get(request.method)
        if endpoint is None:
            allowed = ", ".join(sorted(methods))
            return _error(
                405,
                EXCEPTION_ERROR,
                f"{request.method} is not allowed on {path}; use {allowed}",
                headers={"Allow": allowed},
            )
        # JSON endpoints answer 200 whatever the retcode, as FATE-Flow does; streamed
        # downloads need an error status, or the client would save the envelope as the file.
        try:
            return await endpoint.handle(request)
        except RequestFailed as failure:
            status = failure.http_status if endpoint.streams_response else 200
            return _error(status, failure.retcode, failure.message)
        except grpc.aio.AioRpcError as error:
            rpc_failure = failure_from_rpc_error(error)
            status = rpc_failure.http_status if endpoint.streams_response else 200
            return _error(status, rpc_failure.retcode, rpc_failure.message)
        except web.HTTPException as error:  # raised by aiohttp itself: body too large ...
            return _error(error.status, EXCEPTION_ERROR, error.text or error.reason)
        except Exception:
            request_id = uuid.uuid4().hex[:12]
            log.exception("request %s: %s %s failed", request_id, request.method, path)
            status = 500 if endpoint.streams_response else 200
            return _error(
                status,
                EXCEPTION_ERROR,
                f"internal error in the HTTP gateway, request id {request_id}",
            )


def _error(
    status: int, retcode: int, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        status=status,
        body=envelope_bytes(error_envelope(retcode, message)),
        content_type="application/json",
        headers=headers,
    )


def _endpoint(channel: grpc.aio.Channel, route: Route) -> Endpoint:
    # The multi-callables are made once per route: per request, only the call itself remains.
    codec = Codec(route)
    serialize = route.request_class.SerializeToString
    deserialize = route.response_class.FromString
    if route.client_streaming:
        return _Upload(route, codec, channel.stream_unary(route.rpc, serialize, deserialize))
    if route.server_streaming:
        return _Download(route, codec, channel.unary_stream(route.rpc, serialize, deserialize))
    return _Unary(route, codec, channel.unary_unary(route.rpc, serialize, deserialize))


async def _request_fields(route: Route, codec: Codec, request: web.Request) -> dict[str, Any]:
    """The request as a dict: the JSON body (also on GET), plus the query-string parameters."""
    fields = load_json_object(await request.read())
    if codec.body_field is not None:
        fields = {codec.body_field: fields}
    if request.query_string:
        codec.with_query(fields, request.query)
    return fields


class _Unary:
    streams_response = False

    def __init__(self, route: Route, codec: Codec, rpc: Any) -> None:
        self._route, self._codec, self._rpc = route, codec, rpc

    async def handle(self, request: web.Request) -> web.StreamResponse:
        message = self._codec.request(await _request_fields(self._route, self._codec, request))
        response = await self._rpc(message)
        return web.Response(
            body=envelope_bytes(self._codec.envelope(response)), content_type="application/json"
        )


class _Download:
    """A server-streaming RPC: its chunks are the HTTP body of a file download."""

    streams_response = True

    def __init__(self, route: Route, codec: Codec, rpc: Any) -> None:
        self._route, self._codec, self._rpc = route, codec, rpc
        self._field = route.response_body

    async def handle(self, request: web.Request) -> web.StreamResponse:
        message = self._codec.request(await _request_fields(self._route, self._codec, request))
        call = self._rpc(message)
        try:
            # Wait for the first message before answering: until then an error can still
            # become a status line and an envelope.
            first = await call.read()
        except BaseException:
            call.cancel()
            raise
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        filename = (
            self._codec.filename_field
            and first is not grpc.aio.EOF
            and getattr(first, self._codec.filename_field)
        )
        if filename:
            response.headers["Content-Disposition"] = _attachment(filename)
        await response.prepare(request)
        try:
            chunk = first
            while chunk is not grpc.aio.EOF:
                data = getattr(chunk, self._field)
                if data:
                    await response.write(data)
                chunk = await call.read()
        except Exception as error:
            call.cancel()
            # Too late for a status: break the connection, so the client sees a failed
            # transfer instead of a file that looks complete and is not.
            log.warning("%s: download broken off after it started: %r", self._route.rpc, error)
            response.force_close()
            if request.transport is not None:
                request.transport.abort()
            return response
        await response.write_eof()
        return response


def _attachment(filename: str) -> str:
    # FATE's client takes everything after "filename=" as the name, quotes included: quote
    # only what must be quoted, and give other names in RFC 6266's filename* form as well.
    if _TOKEN.fullmatch(filename):
        return f"attachment; filename={filename}"
    ascii_name = filename.encode("ascii", "replace").decode().replace("\\", "_").replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


class _Upload:
    """A client-streaming RPC: settings first, then the uploaded file's bytes in chunks."""

    streams_response = False

    def __init__(self, route: Route, codec: Codec, rpc: Any) -> None:
        self._route, self._codec, self._rpc = route, codec, rpc

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self._codec.upload_field is not None and request.content_type.startswith("multipart/"):
            # What aiohttp's multipart reader raises on a body that breaks the format, and
            # what decoding a form field in an unknown or wrong charset raises.
            try:
                response = await self._multipart(request)
            except HttpProcessingError as error:
                raise RequestFailed(
                    EXCEPTION_ERROR, f"bad multipart body: {error.message}"
                ) from None
            except (ValueError, LookupError) as error:
                raise RequestFailed(EXCEPTION_ERROR, f"bad multipart body: {error}") from None
        else:
            # A JSON body (FATE's `use_local_data: 0`: the file is on the node): one message.
            fields = await _request_fields(self._route, self._codec, request)
            response = await self._rpc(iter((self._codec.request(fields),)))
        return web.Response(
            body=envelope_bytes(self._codec.envelope(response)), content_type="application/json"
        )

    async def _multipart(self, request: web.Request) -> Any:
        reader = await request.multipart()
        form: MultiDict[str] = MultiDict()
        call = None
        try:
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader):
                    raise RequestFailed(
                        EXCEPTION_ERROR, "nested multipart bodies are not supported"
                    )
                if part.filename is None:
                    if call is not None:
                        raise RequestFailed(
                            EXCEPTION_ERROR,
                            f"form field {part.name!r} comes after the file; send it before",
                        )
                    if part.name:
                        form.add(part.name, await _form_field(part))
                    continue
                if call is not None:
                    raise RequestFailed(EXCEPTION_ERROR, "send one file per request")
                call = await self._start(form, request)
                while chunk := await part.read_chunk(CHUNK_SIZE):
                    await call.write(self._codec.upload_chunk(chunk))
            if call is None:  # no file part: the settings alone
                call = await self._start(form, request)
            await call.done_writing()
            return await call
        except BaseException:
            if call is not None:
                call.cancel()
            raise

    async def _start(self, form: MultiDict[str], request: web.Request) -> Any:
        # The first message: the form fields seen so far and the query string, both strings
        # read by their field's type (`force=true` is a boolean); the form's win.
        fields = self._codec.with_query(self._codec.with_query({}, form), request.query)
        first = self._codec.request(fields)
        call = self._rpc()
        await call.write(first)
        return call


async def _form_field(part: BodyPartReader) -> str:
    data = bytearray()
    while chunk := await part.read_chunk(64 * 1024):
        data += chunk
        if len(data) > MAX_FORM_FIELD_SIZE:
            raise RequestFailed(EXCEPTION_ERROR, f"form field {part.name!r} is too large")
    return data.decode(part.get_charset("utf-8"))


async def create_app(
    core_target: str, *, startup_timeout: float = 30.0, max_body_size: int = MAX_BODY_SIZE
) -> web.Application:
    """The gateway in front of the core at `core_target` (host:port).

    Waits up to `startup_timeout` seconds for the core's reflection service, and fails with
    `gateway.reflection.ReflectionError` if it does not answer. The gRPC channel is made in
    the running event loop and closed on the app's cleanup.
    """
    channel = grpc.aio.insecure_channel(core_target, options=CHANNEL_OPTIONS)
    try:
        routes = build_routes(await fetch_files(channel, PACKAGE, startup_timeout))
        gateway = Gateway(channel, routes)
    except BaseException:
        await channel.close()
        raise
    app = web.Application(client_max_size=max_body_size)
    app[GATEWAY] = gateway
    document = json.dumps(openapi.openapi_document(routes)).encode()

    async def serve_openapi(_: web.Request) -> web.Response:
        return web.Response(body=document, content_type="application/json")

    app.router.add_get(openapi.PATH, serve_openapi, allow_head=False)
    Board().add_routes(app)
    app.router.add_route("*", "/{path:.*}", gateway.dispatch)

    async def close_channel(_: web.Application) -> None:
        await channel.close()

    app.on_cleanup.append(close_channel)
    log.info("gateway: %d routes to the core at %s", len(routes), core_target)
    return app


#: Where an app keeps its `Gateway` (tests read the route table from it).
GATEWAY = web.AppKey("gateway", Gateway)
