"""ProxyService: federation objects, as the public port and the local endpoint serve them.

The public port takes objects pushed by other parties' proxies for this party, each with a
valid proof of its sender, into the mailbox; a relay (`proxy_relay`) streams the objects for
other parties on, proof included, to the next hop its routing table names. The local endpoint
serves this node's own tasks: a push for another party streams on to that party's proxy as it
comes in (nothing is stored on the sending side: the task retries the whole push, with the
same message id, when a hop fails), a push for this party (one of its roles to another, such
as host to arbiter) goes straight to the mailbox; pulls read the mailbox (a large payload is
handed over as a file to read: the reader is on this node); the core cleans a job's mailbox
when the job ends, and opens it again when the job is rerun.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NoReturn

import grpc

from fateflow.proxy.v1 import proxy_service_pb2 as pb
from fateflow.proxy.v1 import proxy_service_pb2_grpc
from fateflow_grpc.errors import InvalidArgument, PermissionDenied
from fateflow_grpc.forwarding import relay, timeout_of
from party_proxy import security
from party_proxy.mailbox import Mailbox, check_header
from party_proxy.routing import Hop, Router, forwarded_metadata
from party_proxy.security import Metadata, Signer

#: Payloads from this size on go to a local reader that accepts files as a file.
HAND_OFF_FROM = 1024 * 1024


def _header(requests: Iterator[pb.PushRequest]) -> pb.ObjectHeader:
    first = next(requests, None)
    if first is None or not first.HasField("header"):
        raise InvalidArgument("a push starts with the object's header")
    check_header(first.header)
    return first.header


def _chunks(requests: Iterator[pb.PushRequest]) -> Iterator[bytes]:
    for request in requests:
        if not request.HasField("chunk"):
            raise InvalidArgument("a push has one header, then only chunks")
        yield request.chunk


def _failed(
    router: Router, hop: Hop, error: grpc.RpcError, context: grpc.ServicerContext
) -> NoReturn:
    """The next hop's error, named, back to the sender, who pushes again under the same message
    id: to the next address, when this one is down."""
    if isinstance(error, grpc.Call) and error.code() == grpc.StatusCode.UNAVAILABLE:
        router.unavailable(hop)
    relay(error, context, f"party {router.party_id}'s proxy -> {hop.name}")
    raise AssertionError("relay aborts the call; never reached")


def _send_on(
    router: Router,
    hop: Hop,
    header: pb.ObjectHeader,
    requests: Iterator[pb.PushRequest],
    metadata: Metadata,
    context: grpc.ServicerContext,
) -> pb.PushResponse:
    """Stream a push on to the next hop as it comes in."""
    stub = proxy_service_pb2_grpc.ProxyServiceStub(hop.channel)  # type: ignore[no-untyped-call]

    def stream() -> Iterator[pb.PushRequest]:
        yield pb.PushRequest(header=header)
        yield from requests

    try:
        # A blocking call (a future costs milliseconds more per object): if the sender goes
        # away, its stream ends in error, and so does this one, which reads from it.
        response: pb.PushResponse = stub.Push(
            stream(), timeout=timeout_of(context), metadata=metadata
        )
        return response
    except grpc.RpcError as error:
        _failed(router, hop, error, context)


def _send_whole_on(
    router: Router,
    hop: Hop,
    request: pb.PushObjectRequest,
    metadata: Metadata,
    context: grpc.ServicerContext,
) -> pb.PushObjectResponse:
    """Send an object pushed whole on to the next hop."""
    stub = proxy_service_pb2_grpc.ProxyServiceStub(hop.channel)  # type: ignore[no-untyped-call]
    try:
        response: pb.PushObjectResponse = stub.PushObject(
            request, timeout=timeout_of(context), metadata=metadata
        )
        return response
    except grpc.RpcError as error:
        _failed(router, hop, error, context)


class PublicProxyServicer(proxy_service_pb2_grpc.ProxyServiceServicer):
    """The public port: objects other parties push to this one, or through it when it relays."""

    def __init__(self, router: Router, mailbox: Mailbox, signer: Signer) -> None:
        self._router = router
        self._own = router.party_id
        self._mailbox = mailbox
        self._signer = signer

    def Push(
        self, request_iterator: Iterator[pb.PushRequest], context: grpc.ServicerContext
    ) -> pb.PushResponse:
        header = _header(request_iterator)
        src, dst = header.key.src_party_id, header.key.dst_party_id
        if dst != self._own:
            hop = self._router.relay_hop(src, dst)
            metadata = forwarded_metadata(context.invocation_metadata())
            return _send_on(self._router, hop, header, request_iterator, metadata, context)
        # The object's own key names its sender; that is the party the proof must be from.
        self._signer.prove(context, src, security.header_fields(header))
        duplicate = self._mailbox.receive(header, _chunks(request_iterator))
        return pb.PushResponse(message_id=header.message_id, duplicate=duplicate)

    def PushObject(
        self, request: pb.PushObjectRequest, context: grpc.ServicerContext
    ) -> pb.PushObjectResponse:
        header = request.header
        check_header(header)
        src, dst = header.key.src_party_id, header.key.dst_party_id
        if dst != self._own:
            hop = self._router.relay_hop(src, dst)
            metadata = forwarded_metadata(context.invocation_metadata())
            return _send_whole_on(self._router, hop, request, metadata, context)
        self._signer.prove(context, src, security.header_fields(header))
        duplicate = self._mailbox.receive(header, (request.payload,))
        return pb.PushObjectResponse(message_id=header.message_id, duplicate=duplicate)

    def Pull(
        self, request: pb.PullRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.PullResponse]:
        raise PermissionDenied("objects are pulled only by this party's own tasks")

    def CleanJob(
        self, request: pb.CleanJobRequest, context: grpc.ServicerContext
    ) -> pb.CleanJobResponse:
        raise PermissionDenied("only this party's own core cleans its mailboxes")

    def OpenJob(
        self, request: pb.OpenJobRequest, context: grpc.ServicerContext
    ) -> pb.OpenJobResponse:
        raise PermissionDenied("only this party's own core opens its mailboxes")


class LocalProxyServicer(proxy_service_pb2_grpc.ProxyServiceServicer):
    """The local endpoint: this node's own tasks and core."""

    def __init__(self, router: Router, mailbox: Mailbox, signer: Signer) -> None:
        self._router = router
        self._own = router.party_id
        self._mailbox = mailbox
        self._signer = signer

    def Push(
        self, request_iterator: Iterator[pb.PushRequest], context: grpc.ServicerContext
    ) -> pb.PushResponse:
        header = _header(request_iterator)
        self._check_sender(header)
        dst = header.key.dst_party_id
        if dst == self._own:
            duplicate = self._mailbox.receive(header, _chunks(request_iterator))
            return pb.PushResponse(message_id=header.message_id, duplicate=duplicate)
        metadata = self._signer.metadata(dst, security.header_fields(header))
        hop = self._router.next_hop(dst)
        return _send_on(self._router, hop, header, request_iterator, metadata, context)

    def PushObject(
        self, request: pb.PushObjectRequest, context: grpc.ServicerContext
    ) -> pb.PushObjectResponse:
        header = request.header
        check_header(header)
        self._check_sender(header)
        dst = header.key.dst_party_id
        if dst == self._own:
            duplicate = self._mailbox.receive(header, (request.payload,))
            return pb.PushObjectResponse(message_id=header.message_id, duplicate=duplicate)
        metadata = self._signer.metadata(dst, security.header_fields(header))
        return _send_whole_on(self._router, self._router.next_hop(dst), request, metadata, context)

    def _check_sender(self, header: pb.ObjectHeader) -> None:
        if header.key.src_party_id != self._own:
            raise PermissionDenied(
                f"a task of party {self._own} sends as party {self._own}, "
                f"not as party {header.key.src_party_id}",
                party_id=header.key.src_party_id,
            )

    def Pull(
        self, request: pb.PullRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.PullResponse]:
        if request.key.dst_party_id != self._own:
            raise PermissionDenied(
                f"party {self._own}'s tasks read party {self._own}'s mailbox only",
                party_id=request.key.dst_party_id,
            )
        entry = self._mailbox.take(request.job_id, request.key, request.timeout_ms / 1000)
        try:
            yield pb.PullResponse(header=entry.header)
            if request.accept_file and entry.header.size >= HAND_OFF_FROM:
                # Reading a file is several times faster than a stream of chunks in Python.
                yield pb.PullResponse(payload_file=str(self._mailbox.hand_off(entry)))
            else:
                for chunk in self._mailbox.read(entry):
                    yield pb.PullResponse(chunk=chunk)
        except BaseException:
            self._mailbox.put_back(entry)  # the reader went away: the object waits for its retry
            raise
        self._mailbox.delivered(entry)

    def CleanJob(
        self, request: pb.CleanJobRequest, context: grpc.ServicerContext
    ) -> pb.CleanJobResponse:
        return pb.CleanJobResponse(removed_objects=self._mailbox.clean(request.job_id))

    def OpenJob(
        self, request: pb.OpenJobRequest, context: grpc.ServicerContext
    ) -> pb.OpenJobResponse:
        self._mailbox.open(request.job_id)
        return pb.OpenJobResponse()
