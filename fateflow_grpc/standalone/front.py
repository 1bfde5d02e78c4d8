"""The standalone's one gRPC address: the public `fateflow.v1` services of every local party.

    server, port = create_front([LocalCore(9999, "unix:var/9999/core.sock"), ...], "127.0.0.1:9360")
    server.start()

Like the HTTP gateway, the front sits apart, over the parties' cores: it serves no RPC of its
own. Each call goes where its rule says (`rules.py`): to one core, its bytes passed on
unchanged both ways, or to every core, the answers merged. What a core answers with an error
comes back unchanged (status and `ErrorInfo`, so FATE's retcodes stay right); a core that does
not answer is named (UNAVAILABLE). Streams pass through as they come, so an upload, an export
or a download holds one message at a time; job logs are re-packed into one archive on disk.
"""

from __future__ import annotations

import io
import itertools
import logging
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.message import Message
from grpc_status import rpc_status

from fateflow.v1 import job_service_pb2
from fateflow_grpc.errors import InvalidArgument, NotFound
from fateflow_grpc.forwarding import cancel_with, relay, timeout_of
from fateflow_grpc.interceptor import ErrorInterceptor
from fateflow_grpc.server_base import SERVER_OPTIONS, add_health_and_reflection
from fateflow_grpc.standalone import rules
from fateflow_grpc.standalone.rules import (
    ARCHIVE,
    EVERY,
    FIRST,
    KEEPER,
    SUM,
    Destination,
    Initiator,
    Merge,
    Method,
    Party,
    Rows,
)

log = logging.getLogger(__name__)

#: As large as the cores' own limits, for large DSLs, confs and model buffers.
CHANNEL_OPTIONS = [
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
]
#: Pieces of the merged job log archive sent to the client.
CHUNK_SIZE = 1 << 20
_QUERY_JOB = "/fateflow.v1.JobService/QueryJob"


@dataclass(frozen=True)
class LocalCore:
    """A local party and where its core serves gRPC."""

    party_id: int
    address: str


class _Core:
    def __init__(self, core: LocalCore) -> None:
        self.party_id = core.party_id
        self.channel = grpc.insecure_channel(core.address, options=CHANNEL_OPTIONS)
        #: How errors name this core when it cannot be reached.
        self.hop = f"party {core.party_id}'s node ({core.address})"


#: One party's answer to a call sent to every party: its response's bytes, or its error.
_Answer = tuple[_Core, bytes | grpc.RpcError]


def _code(error: grpc.RpcError) -> grpc.StatusCode:
    assert isinstance(error, grpc.Call)
    code: grpc.StatusCode = error.code()
    return code


def _metadata(context: grpc.ServicerContext) -> tuple[tuple[str, str | bytes], ...]:
    return tuple((k, v) for k, v in context.invocation_metadata() if not k.startswith("grpc-"))


class Front(grpc.GenericRpcHandler):
    """Serves every public RPC by its rule; the first core is the table keeper."""

    def __init__(self, cores: Sequence[LocalCore]) -> None:
        if not cores:
            raise InvalidArgument("a standalone front needs at least one local party")
        self._cores = {core.party_id: _Core(core) for core in cores}
        self._keeper = self._cores[cores[0].party_id]
        self._methods = rules.methods()

    def close(self) -> None:
        for core in self._cores.values():
            core.channel.close()

    def service(
        self, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        method = self._methods.get(handler_call_details.method)
        if method is None:
            return None
        if method.client_streaming:
            return grpc.stream_unary_rpc_method_handler(self._streamed_request(method))
        if method.server_streaming:
            return grpc.unary_stream_rpc_method_handler(self._streamed_response(method))
        return grpc.unary_unary_rpc_method_handler(self._unary(method))

    # --- where a request goes -------------------------------------------------------------------

    def _party(self, party_id: int) -> _Core:
        core = self._cores.get(party_id)
        if core is None:
            served = ", ".join(map(str, self._cores))
            raise NotFound(
                f"party {party_id} is not served here: this standalone runs parties {served} "
                "(fateflow standalone --parties names them)",
                party_id=party_id,
            )
        return core

    def _resolve(self, destination: Destination) -> Destination:
        """A party filter naming a party that is not local asks every party."""
        if isinstance(destination, Party) and destination.or_every:
            return destination if destination.party_id in self._cores else EVERY
        return destination

    def _one(self, destination: Destination, context: grpc.ServicerContext) -> _Core:
        """The core a single-party destination names."""
        if isinstance(destination, Party):
            return self._party(destination.party_id)
        if isinstance(destination, Initiator):
            return self._initiator(destination.job_id, context)
        assert destination is KEEPER, destination
        return self._keeper

    def _initiator(self, job_id: str, context: grpc.ServicerContext) -> _Core:
        """The core holding the job's initiator row; else one holding the job, which says
        where its initiator is; else the keeper, which says that no such job exists (or that
        the request names none)."""
        if not job_id:
            return self._keeper
        query = job_service_pb2.QueryJobRequest(job_id=job_id).SerializeToString()
        holders = []
        for core, answer in self._every(_QUERY_JOB, query, context):
            if not isinstance(answer, bytes):
                if _code(answer) != grpc.StatusCode.NOT_FOUND:
                    relay(answer, context, core.hop)
                continue
            rows = job_service_pb2.QueryJobResponse.FromString(answer).data
            if any(row.f_is_initiator for row in rows):
                return core
            if rows:
                holders.append(core)
        return holders[0] if holders else self._keeper

    def _every(self, path: str, request: bytes, context: grpc.ServicerContext) -> list[_Answer]:
        """Send the call to every core at once; their answers in party order."""
        pending = []
        for core in self._cores.values():
            call: grpc.UnaryUnaryMultiCallable[bytes, bytes] = core.channel.unary_unary(path)
            future = call.future(request, timeout=timeout_of(context), metadata=_metadata(context))
            cancel_with(context, future)
            pending.append((core, future))
        answers: list[_Answer] = []
        for core, future in pending:
            try:
                answers.append((core, future.result()))
            except grpc.RpcError as error:
                answers.append((core, error))
        return answers

    # --- unary calls --------------------------------------------------------------------------

    def _unary(self, method: Method) -> Callable[[bytes, grpc.ServicerContext], bytes]:
        def handle(request: bytes, context: grpc.ServicerContext) -> bytes:
            parsed = method.request_class.FromString(request)
            for party_id in method.rule.involves(parsed):
                self._party(party_id)  # refuses a party that is not local, by name
            destination = self._resolve(method.rule.route(parsed))
            if destination is EVERY:
                answers = self._answered(
                    self._every(method.path, request, context), parsed, context
                )
                return _merge(method, method.rule.merge, parsed, answers)
            core = self._one(destination, context)
            call: grpc.UnaryUnaryMultiCallable[bytes, bytes] = core.channel.unary_unary(method.path)
            future = call.future(request, timeout=timeout_of(context), metadata=_metadata(context))
            cancel_with(context, future)
            try:
                response: bytes = future.result()
            except grpc.RpcError as error:
                relay(error, context, core.hop)
                raise  # relay aborts; never reached
            return response

        return handle

    def _answered(
        self, answers: list[_Answer], request: Message, context: grpc.ServicerContext
    ) -> list[tuple[int, bytes]]:
        """The parties' answers that are not NOT_FOUND. Another error of a party ends the call
        with that error; when every party said NOT_FOUND, the call ends with the first one's."""
        found = []
        for core, answer in answers:
            if isinstance(answer, bytes):
                found.append((core.party_id, answer))
            elif _code(answer) != grpc.StatusCode.NOT_FOUND:
                relay(answer, context, core.hop)
        if not found:
            core, error = answers[0]
            assert isinstance(error, grpc.RpcError)
            self._not_found(error, request, context)
        return found

    def _not_found(
        self, error: grpc.RpcError, request: Message, context: grpc.ServicerContext
    ) -> None:
        """Relay a NOT_FOUND that every party gave; its message names the job asked for."""
        assert isinstance(error, grpc.Call)
        status = rpc_status.from_call(error)
        job_id = getattr(request, "job_id", "")
        if status is not None and job_id and job_id not in status.message:
            served = ", ".join(map(str, self._cores))
            status.message = f"{status.message} (job {job_id}, at every local party: {served})"
            context.abort_with_status(rpc_status.to_status(status))
        relay(error, context, self._keeper.hop)

    # --- streamed requests: uploads and imports -----------------------------------------------

    def _streamed_request(
        self, method: Method
    ) -> Callable[[Iterator[bytes], grpc.ServicerContext], bytes]:
        def handle(requests: Iterator[bytes], context: grpc.ServicerContext) -> bytes:
            # The first message carries the settings, and says where the stream goes.
            first = next(requests, None)
            settings = method.request_class.FromString(first or b"")
            core = self._one(method.rule.route(settings), context)
            call: grpc.StreamUnaryMultiCallable[bytes, bytes] = core.channel.stream_unary(
                method.path
            )
            try:
                response: bytes = call(
                    requests if first is None else itertools.chain((first,), requests),
                    timeout=timeout_of(context),
                    metadata=_metadata(context),
                )
            except grpc.RpcError as error:
                relay(error, context, core.hop)
                raise
            return response

        return handle

    # --- streamed responses: downloads, exports and job logs ----------------------------------

    def _streamed_response(
        self, method: Method
    ) -> Callable[[bytes, grpc.ServicerContext], Iterator[bytes]]:
        def handle(request: bytes, context: grpc.ServicerContext) -> Iterator[bytes]:
            parsed = method.request_class.FromString(request)
            destination = self._resolve(method.rule.route(parsed))
            if destination is not EVERY:
                yield from self._stream_from(
                    self._one(destination, context), method, request, context
                )
            elif method.rule.merge is ARCHIVE:
                yield from self._merged_archive(method, parsed, request, context)
            else:
                yield from self._first_stream(method, parsed, request, context)

        return handle

    def _open(
        self, core: _Core, method: Method, request: bytes, context: grpc.ServicerContext
    ) -> Iterator[bytes]:
        call: grpc.UnaryStreamMultiCallable[bytes, bytes] = core.channel.unary_stream(method.path)
        responses = call(request, timeout=timeout_of(context), metadata=_metadata(context))
        cancel_with(context, responses)
        return responses

    def _stream_from(
        self, core: _Core, method: Method, request: bytes, context: grpc.ServicerContext
    ) -> Iterator[bytes]:
        try:
            yield from self._open(core, method, request, context)
        except grpc.RpcError as error:
            relay(error, context, core.hop)

    def _started(
        self, method: Method, request: bytes, context: grpc.ServicerContext
    ) -> Iterator[tuple[_Core, grpc.RpcError | Iterator[bytes]]]:
        """Each core's stream once its first message came, or its error, in party order; a
        core's stream is opened when the one before has been read."""
        for core in self._cores.values():
            responses = self._open(core, method, request, context)
            try:
                first = next(responses, None)
            except grpc.RpcError as error:
                if _code(error) != grpc.StatusCode.NOT_FOUND:
                    relay(error, context, core.hop)
                yield core, error
                continue
            yield core, iter(()) if first is None else itertools.chain((first,), responses)

    def _first_stream(
        self, method: Method, parsed: Message, request: bytes, context: grpc.ServicerContext
    ) -> Iterator[bytes]:
        """The stream of the first party that has one."""
        refused: list[_Answer] = []
        for core, started in self._started(method, request, context):
            if isinstance(started, grpc.RpcError):
                refused.append((core, started))
                continue
            try:
                yield from started
            except grpc.RpcError as error:
                relay(error, context, core.hop)
            return
        self._answered(refused, parsed, context)

    def _merged_archive(
        self, method: Method, parsed: Message, request: bytes, context: grpc.ServicerContext
    ) -> Iterator[bytes]:
        """Every party's job log archive, re-packed as one (FATE's standalone keeps one log
        directory for all the parties of a job), on disk while it is built."""
        assert isinstance(parsed, job_service_pb2.DownloadJobLogRequest)
        with tempfile.TemporaryFile() as archive:
            refused: list[_Answer] = []
            with tarfile.open(fileobj=archive, mode="w:gz") as merged:
                for core, started in self._started(method, request, context):
                    if isinstance(started, grpc.RpcError):
                        refused.append((core, started))
                        continue
                    try:
                        _repack(started, merged)
                    except grpc.RpcError as error:
                        relay(error, context, core.hop)
            if len(refused) == len(self._cores):
                self._answered(refused, parsed, context)
            archive.seek(0)
            filename = f"job_{parsed.job_id}_log.tar.gz"
            while chunk := archive.read(CHUNK_SIZE):
                yield job_service_pb2.DownloadJobLogResponse(
                    filename=filename, chunk=chunk
                ).SerializeToString()
                filename = ""


# --- merges ------------------------------------------------------------------------------------


def _merge(
    method: Method, merge: Merge, request: Message, answers: list[tuple[int, bytes]]
) -> bytes:
    """One answer from the answers of several parties (none of them an error), as bytes."""
    if merge is FIRST:
        first: bytes = answers[0][1]
        return first
    responses: list[tuple[int, Any]] = [
        (party, method.response_class.FromString(answer)) for party, answer in answers
    ]
    merged = responses[0][1]
    if merge is SUM:
        merged.data = sum(response.data for _, response in responses)
    elif isinstance(merge, Rows):
        _merge_rows(merge, request, responses, {party for party, _ in answers})
    else:
        raise AssertionError(f"{method.path}: merge {merge} of unary answers")
    serialized: bytes = merged.SerializeToString()
    return serialized


def _merge_rows(
    merge: Rows, request: Any, responses: list[tuple[int, Any]], parties: set[int]
) -> None:
    """Put every party's rows into the first response, in order, as `merge` says."""
    rows = [
        row for party, response in responses for row in response.data if _about(row, party, parties)
    ]
    if merge.order:
        rows.sort(key=lambda row: tuple(getattr(row, f) for f in merge.order))
        if merge.newest_first:
            rows.reverse()
    limit = getattr(request, merge.limit) if merge.limit else 0
    if limit > 0:
        rows = rows[:limit]
    first = responses[0][1]
    # The message of an answer that found something ("success") over "nothing found".
    with_rows = [response for _, response in responses if len(response.data)]
    if with_rows:
        first.retmsg = with_rows[0].retmsg
    del first.data[:]
    first.data.extend(rows)


def _about(row: Message, party: int, parties: set[int]) -> bool:
    """Whether `party`'s copy of `row` is the one to show: rows about a local party come from
    that party (the initiator keeps rows of every party's tasks, which they update)."""
    owner = getattr(row, "f_party_id", None)
    if owner is None or not owner.isdigit() or int(owner) not in parties:
        return True
    return int(owner) == party


class _Chunks(io.RawIOBase):
    """The archive chunks of a job log stream as a file, for `tarfile` to read in turn."""

    def __init__(self, responses: Iterator[bytes]) -> None:
        self._responses = responses
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            response = next(self._responses, None)
            if response is None:
                return 0
            self._pending = job_service_pb2.DownloadJobLogResponse.FromString(response).chunk
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def _repack(responses: Iterator[bytes], merged: tarfile.TarFile) -> None:
    """Add every member of one party's archive to the merged one, a member at a time."""
    with tarfile.open(fileobj=io.BufferedReader(_Chunks(responses)), mode="r|gz") as archive:
        for member in archive:
            merged.addfile(member, archive.extractfile(member) if member.isfile() else None)


def create_front(cores: Sequence[LocalCore], address: str) -> tuple[grpc.Server, int, Front]:
    """The front's server bound to `address` (port 0 picks one): its server, port and handler
    (to close once the server has stopped)."""
    front = Front(cores)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=32),
        interceptors=[ErrorInterceptor()],
        options=SERVER_OPTIONS,
    )
    server.add_generic_rpc_handlers((front,))
    add_health_and_reflection(server, rules.public_service_names())
    port = server.add_insecure_port(address)
    return server, port, front
