"""Control-plane forwarding: a `fateflow.party.v1` call travels core -> proxy -> proxy -> core.

A node calls another party with the ordinary `PartyService` stub on a channel to its *own*
proxy's local endpoint, naming the destination in the metadata key `DST_PARTY`. Each proxy
forwards the call's bytes unchanged: to its own core when the call is for its party, otherwise
to the route of the destination party. The caller's deadline travels with the call, and
cancelling the caller cancels every hop. A hop that fails is named in the error, with the party
it was for.

The source proxy signs what it sends (`security.Signer`) and the destination proxy accepts a
call on its public port only from a proven party; a proxy in between (a default route) passes
the call and its signature on unchanged. The public API (`fateflow.v1`) is forwarded from the
public port to the core only when the config says so (`proxy_public_api`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import grpc

from fateflow.party.v1 import party_service_pb2
from fateflow.v1 import (
    data_service_pb2,
    job_service_pb2,
    model_service_pb2,
    node_service_pb2,
    table_service_pb2,
    tracking_service_pb2,
)
from fateflow_grpc.config import NodeConfig
from fateflow_grpc.errors import FederatedError, InvalidArgument
from fateflow_grpc.forwarding import cancel_with, relay, timeout_of
from party_proxy import security
from party_proxy.security import DST_PARTY, SRC_PARTY, Signer

#: The scheduling service, the one service every proxy forwards between parties.
FORWARDED_PREFIX = (
    "/" + party_service_pb2.DESCRIPTOR.services_by_name["PartyService"].full_name + "/"
)
#: Room for large DSLs and confs in one control call, as the core allows.
CHANNEL_OPTIONS: list[tuple[str, object]] = [
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
]


def _public_methods() -> dict[str, tuple[bool, bool]]:
    """'/service/method' -> (client streaming, server streaming) of the public API.

    The public API has no bidirectional stream, so each method is one of the other three kinds.
    """
    methods = {}
    for module in (
        job_service_pb2,
        data_service_pb2,
        tracking_service_pb2,
        model_service_pb2,
        table_service_pb2,
        node_service_pb2,
    ):
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                methods[f"/{service.full_name}/{method.name}"] = (
                    method.client_streaming,
                    method.server_streaming,
                )
    return methods


class Router:
    """Channels to this party's core and to other parties' proxies, made once and reused."""

    def __init__(self, config: NodeConfig) -> None:
        self._config = config
        self._channels: dict[int, grpc.Channel] = {}
        self._lock = threading.Lock()

    @property
    def party_id(self) -> int:
        return self._config.party_id

    def next_hop(self, dst_party_id: int) -> tuple[grpc.Channel, str]:
        """The channel a call for `dst_party_id` takes from this proxy, and the hop's name."""
        if dst_party_id == self._config.party_id:
            return self._channel(dst_party_id), (
                f"party {dst_party_id}'s core at {self._config.grpc_address}"
            )
        route = self._config.route(dst_party_id)
        if route is None:
            raise FederatedError(
                f"party {self._config.party_id}'s proxy has no route to party {dst_party_id}",
                party_id=dst_party_id,
            )
        return self._channel(dst_party_id), f"party {dst_party_id}'s proxy at {route.address}"

    def _channel(self, party_id: int) -> grpc.Channel:
        with self._lock:
            if party_id not in self._channels:
                route = self._config.route(party_id)
                if party_id == self._config.party_id or route is None:
                    channel = grpc.insecure_channel(
                        self._config.grpc_address, options=CHANNEL_OPTIONS
                    )
                else:
                    channel = security.channel(route, CHANNEL_OPTIONS)
                self._channels[party_id] = channel
            return self._channels[party_id]

    def close(self) -> None:
        with self._lock:
            for channel in self._channels.values():
                channel.close()
            self._channels.clear()


class ForwardingHandler(grpc.GenericRpcHandler):
    """Serves every PartyService method by forwarding its bytes one hop further.

    `local` handlers serve this node's own core (the local endpoint): they sign what leaves
    for another party. The others serve the public port: a call for this party must prove its
    source, a call for another party is passed on as it came.
    """

    def __init__(self, router: Router, signer: Signer, *, local: bool, public_api: bool) -> None:
        self._router = router
        self._signer = signer
        self._local = local
        self._public_api = _public_methods() if public_api and not local else {}

    def service(
        self, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        method: str = handler_call_details.method
        if method.startswith(FORWARDED_PREFIX):
            return grpc.unary_unary_rpc_method_handler(self._forwarder(method))
        if method in self._public_api:
            return _core_forwarder(self._router, method, *self._public_api[method])
        return None

    def _forwarder(self, method: str) -> Callable[[bytes, grpc.ServicerContext], bytes]:
        own = self._router.party_id

        def forward(request: bytes, context: grpc.ServicerContext) -> bytes:
            metadata = _metadata(context.invocation_metadata())
            dst = _party(metadata, DST_PARTY)
            fields = security.call_fields(method, request)
            outgoing: tuple[tuple[str, str | bytes], ...]
            if self._local:
                # Whatever the local caller said, the call leaves as this party's, signed.
                outgoing = self._signer.metadata(dst, fields)
            else:
                if dst == own:
                    self._signer.prove(context, _party(metadata, SRC_PARTY), fields)
                outgoing = tuple(metadata.items())
            channel, hop = self._router.next_hop(dst)
            call: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(method)
            future = call.future(request, timeout=timeout_of(context), metadata=outgoing)
            cancel_with(context, future)
            try:
                response: bytes = future.result()
                return response
            except grpc.RpcError as error:
                relay(error, context, f"party {own}'s proxy -> {hop}")
                raise  # relay aborts; never reached

        return forward


def _core_forwarder(
    router: Router, method: str, client_streaming: bool, server_streaming: bool
) -> grpc.RpcMethodHandler[Any, Any]:
    """Pass a public API call to this party's core, whatever its kind of streaming."""
    channel, hop = router.next_hop(router.party_id)

    def metadata(context: grpc.ServicerContext) -> tuple[tuple[str, str | bytes], ...]:
        return tuple((k, v) for k, v in context.invocation_metadata() if not k.startswith("grpc-"))

    if not client_streaming and not server_streaming:

        def unary(request: bytes, context: grpc.ServicerContext) -> bytes:
            try:
                call: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(method)
                response: bytes = call(
                    request, timeout=timeout_of(context), metadata=metadata(context)
                )
                return response
            except grpc.RpcError as error:
                relay(error, context, hop)
                raise

        return grpc.unary_unary_rpc_method_handler(unary)
    if client_streaming:

        def upload(requests: Iterator[bytes], context: grpc.ServicerContext) -> bytes:
            try:
                call: grpc.StreamUnaryMultiCallable[bytes, bytes] = channel.stream_unary(method)
                response: bytes = call(
                    requests, timeout=timeout_of(context), metadata=metadata(context)
                )
                return response
            except grpc.RpcError as error:
                relay(error, context, hop)
                raise

        return grpc.stream_unary_rpc_method_handler(upload)

    def download(request: bytes, context: grpc.ServicerContext) -> Iterator[bytes]:
        call: grpc.UnaryStreamMultiCallable[bytes, bytes] = channel.unary_stream(method)
        responses = call(request, timeout=timeout_of(context), metadata=metadata(context))
        cancel_with(context, responses)
        try:
            yield from responses
        except grpc.RpcError as error:
            relay(error, context, hop)

    return grpc.unary_stream_rpc_method_handler(download)


def _metadata(pairs: Sequence[tuple[str, str | bytes]]) -> dict[str, str]:
    return {
        key: value for key, value in pairs if isinstance(value, str) and key.startswith("fateflow-")
    }


def _party(metadata: dict[str, str], key: str) -> int:
    try:
        return int(metadata[key])
    except (KeyError, ValueError):
        raise InvalidArgument(f"a forwarded call needs the metadata {key} as a party id") from None
