"""Control-plane forwarding: a `fateflow.party.v1` call travels core -> proxy -> proxy -> core.

A node calls another party with the ordinary `PartyService` stub on a channel to its *own*
proxy's local endpoint, naming the destination in the metadata key `DST_PARTY`. Each proxy
forwards the call's bytes unchanged: to its own core when the call is for its party, otherwise
to the route of the destination party. The caller's deadline travels with the call, and
cancelling the caller cancels every hop. A hop that fails is named in the error, with the party
it was for.

The source proxy attaches a proof of origin to what it sends (`security.Signer`), and the
destination proxy accepts a call on its public port only with a valid proof from the party it
claims to come from. A proxy in between passes the call and its proof on unchanged, and only
when it is configured to relay (`proxy_relay`) and its routing table has a route to the
destination. The public API (`fateflow.v1`) is forwarded from the public port to the core only
when the config says so (`proxy_public_api`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
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
from fateflow_grpc.errors import FederatedError, InvalidArgument, PermissionDenied
from fateflow_grpc.forwarding import cancel_with, relay, timeout_of
from party_proxy import security
from party_proxy.security import DST_PARTY, SRC_PARTY, Metadata, Signer

#: The scheduling service, the one service every proxy forwards between parties.
FORWARDED_PREFIX = (
    "/" + party_service_pb2.DESCRIPTOR.services_by_name["PartyService"].full_name + "/"
)
CHANNEL_OPTIONS: list[tuple[str, object]] = [
    # Room for large DSLs and confs in one control call, as the core allows.
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    # A party that restarts is reached again within a second, not after gRPC's default
    # reconnection backoff (up to two minutes), during which every call fails at once.
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 1000),
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


@dataclass(frozen=True)
class Hop:
    """One address where the next hop of a call is served."""

    channel: grpc.Channel
    #: The hop as a person reads it, for errors.
    name: str
    party_id: int
    #: Its place among the addresses of its party's route.
    index: int


class Router:
    """Channels to this party's core and to other parties' proxies, made once and reused.

    A party may be served at several addresses: the cores of its replicas (the route of this
    proxy's own party), or several proxies of another party. A call goes to the one that
    answered last, and on to the next when that one is unavailable.
    """

    def __init__(self, config: NodeConfig) -> None:
        self._config = config
        self._channels: dict[tuple[int, int], grpc.Channel] = {}
        #: Party id -> the index of the address that answered last.
        self._preferred: dict[int, int] = {}
        self._lock = threading.Lock()

    @property
    def party_id(self) -> int:
        return self._config.party_id

    def relay_hops(self, src: int, dst: int) -> list[Hop]:
        """The next hops of a call from party `src` to party `dst` that reached this proxy's
        public port: only a relay passes calls on, and never one claiming to be its own."""
        own = self._config.party_id
        if not self._config.proxy_relay:
            raise PermissionDenied(
                f"party {own}'s proxy takes calls for party {own} only, not for party {dst}: "
                "it does not relay (proxy_relay)",
                party_id=dst,
            )
        if src == own:
            raise PermissionDenied(
                f"a call claiming to come from party {own} arrived from outside party {own}",
                party_id=src,
            )
        return self.hops(dst)

    def relay_hop(self, src: int, dst: int) -> Hop:
        return self.relay_hops(src, dst)[0]

    def next_hop(self, dst_party_id: int) -> Hop:
        """Where a call for `dst_party_id` goes from this proxy, when it cannot go on to
        another address (a stream): the address that answered last."""
        return self.hops(dst_party_id)[0]

    def hops(self, dst_party_id: int) -> list[Hop]:
        """Every address a call for `dst_party_id` may take from this proxy, the one that
        answered last first."""
        addresses = self._addresses(dst_party_id)
        own = dst_party_id == self._config.party_id
        what = f"party {dst_party_id}'s {'core' if own else 'proxy'}"
        with self._lock:
            first = self._preferred.get(dst_party_id, 0) % len(addresses)
        order = [*range(first, len(addresses)), *range(first)]
        return [
            Hop(self._channel(dst_party_id, i), f"{what} at {addresses[i]}", dst_party_id, i)
            for i in order
        ]

    def unavailable(self, hop: Hop) -> None:
        """`hop` could not be reached: the next call for its party tries the next address."""
        count = len(self._addresses(hop.party_id))
        with self._lock:
            if self._preferred.get(hop.party_id, 0) % count == hop.index:
                self._preferred[hop.party_id] = (hop.index + 1) % count

    def _addresses(self, party_id: int) -> tuple[str, ...]:
        route = self._config.route(party_id)
        if party_id == self._config.party_id:
            own = self._config.routes.get(party_id)
            return own.targets if own is not None else (self._config.grpc_address,)
        if route is None:
            raise FederatedError(
                f"party {self._config.party_id}'s proxy has no route to party {party_id}",
                party_id=party_id,
            )
        return route.targets

    def _channel(self, party_id: int, index: int) -> grpc.Channel:
        with self._lock:
            if (party_id, index) not in self._channels:
                address = self._addresses(party_id)[index]
                route = self._config.route(party_id)
                if party_id == self._config.party_id or route is None:
                    channel = grpc.insecure_channel(address, options=CHANNEL_OPTIONS)
                else:
                    channel = security.channel(replace(route, address=address), CHANNEL_OPTIONS)
                self._channels[party_id, index] = channel
            return self._channels[party_id, index]

    def close(self) -> None:
        with self._lock:
            for channel in self._channels.values():
                channel.close()
            self._channels.clear()


class ForwardingHandler(grpc.GenericRpcHandler):
    """Serves every PartyService method by forwarding its bytes one hop further.

    `local` handlers serve this node's own core (the local endpoint): they attach the proof of
    origin to what leaves for another party. The others serve the public port: a call for this
    party must carry a valid proof of its source; a call for another party is relayed as it
    came, proof included, when this proxy relays.
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
            metadata = forwarded_metadata(context.invocation_metadata())
            dst = _party(metadata, DST_PARTY)
            fields = security.call_fields(method, request)
            if self._local:
                # Whatever the local caller said, the call leaves as this party's, signed.
                outgoing = self._signer.metadata(dst, fields)
                hops = self._router.hops(dst)
            elif dst == own:
                self._signer.prove(context, _party(metadata, SRC_PARTY), fields)
                outgoing = metadata
                hops = self._router.hops(dst)
            else:
                outgoing = metadata
                hops = self._router.relay_hops(_party(metadata, SRC_PARTY), dst)
            return _unary_with_failover(
                self._router, hops, method, request, outgoing, context, f"party {own}'s proxy"
            )

        return forward


def _unary_with_failover(
    router: Router,
    hops: list[Hop],
    method: str,
    request: bytes,
    metadata: Metadata,
    context: grpc.ServicerContext,
    here: str,
) -> bytes:
    """Make a unary call at the first of `hops` that is available; its answer or error back."""
    for position, hop in enumerate(hops):
        call: grpc.UnaryUnaryMultiCallable[bytes, bytes] = hop.channel.unary_unary(method)
        future = call.future(request, timeout=timeout_of(context), metadata=metadata)
        cancel_with(context, future)
        try:
            response: bytes = future.result()
            return response
        except grpc.RpcError as error:
            assert isinstance(error, grpc.Call)
            if error.code() == grpc.StatusCode.UNAVAILABLE and position < len(hops) - 1:
                router.unavailable(hop)
                continue
            relay(error, context, f"{here} -> {hop.name}")
    raise AssertionError("relay aborts the call; never reached")


def _core_forwarder(
    router: Router, method: str, client_streaming: bool, server_streaming: bool
) -> grpc.RpcMethodHandler[Any, Any]:
    """Pass a public API call to this party's core, whatever its kind of streaming."""

    def metadata(context: grpc.ServicerContext) -> tuple[tuple[str, str | bytes], ...]:
        return tuple((k, v) for k, v in context.invocation_metadata() if not k.startswith("grpc-"))

    if not client_streaming and not server_streaming:

        def unary(request: bytes, context: grpc.ServicerContext) -> bytes:
            hops = router.hops(router.party_id)
            return _unary_with_failover(
                router, hops, method, request, metadata(context), context, "the proxy"
            )

        return grpc.unary_unary_rpc_method_handler(unary)
    if client_streaming:

        def upload(requests: Iterator[bytes], context: grpc.ServicerContext) -> bytes:
            hop = router.next_hop(router.party_id)  # a stream read once cannot go elsewhere
            try:
                call: grpc.StreamUnaryMultiCallable[bytes, bytes] = hop.channel.stream_unary(method)
                response: bytes = call(
                    requests, timeout=timeout_of(context), metadata=metadata(context)
                )
                return response
            except grpc.RpcError as error:
                _note_unavailable(router, hop, error)
                relay(error, context, hop.name)
                raise

        return grpc.stream_unary_rpc_method_handler(upload)

    def download(request: bytes, context: grpc.ServicerContext) -> Iterator[bytes]:
        hop = router.next_hop(router.party_id)
        call: grpc.UnaryStreamMultiCallable[bytes, bytes] = hop.channel.unary_stream(method)
        responses = call(request, timeout=timeout_of(context), metadata=metadata(context))
        cancel_with(context, responses)
        try:
            yield from responses
        except grpc.RpcError as error:
            _note_unavailable(router, hop, error)
            relay(error, context, hop.name)

    return grpc.unary_stream_rpc_method_handler(download)


def _note_unavailable(router: Router, hop: Hop, error: grpc.RpcError) -> None:
    """A stream cannot be sent twice; its sender's retry goes to the next address."""
    if isinstance(error, grpc.Call) and error.code() == grpc.StatusCode.UNAVAILABLE:
        router.unavailable(hop)


def forwarded_metadata(pairs: Sequence[tuple[str, str | bytes]]) -> Metadata:
    """Our keys of a call's metadata, its proof included, to pass on unchanged."""
    return tuple((key, value) for key, value in pairs if key.startswith("fateflow-"))


def _party(metadata: Metadata, key: str) -> int:
    value = dict(metadata).get(key)
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return int(value)
    except ValueError:
        raise InvalidArgument(f"a forwarded call needs the metadata {key} as a party id") from None
