"""Control-plane forwarding: a `fateflow.party.v1` call travels core -> proxy -> proxy -> core.

A node calls another party with the ordinary `PartyService` stub on a channel to its *own*
proxy, naming the destination in the metadata key `DST_PARTY`. Each proxy forwards the call's
bytes unchanged: to its own core when the call is for its party, otherwise to the route of the
destination party. The caller's deadline travels with the call, and cancelling the caller
cancels every hop. A hop that fails is named in the error, with the party it was for.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import grpc
from grpc_status import rpc_status

from fateflow.party.v1 import party_service_pb2
from fateflow_grpc.config import NodeConfig
from fateflow_grpc.errors import FederatedError, InvalidArgument

#: Metadata keys of a forwarded call.
DST_PARTY = "fateflow-dst-party-id"
SRC_PARTY = "fateflow-src-party-id"
#: Only the scheduling service crosses the proxy; the public API never does.
FORWARDED_PREFIX = (
    "/" + party_service_pb2.DESCRIPTOR.services_by_name["PartyService"].full_name + "/"
)


class Router:
    """Channels to this party's core and to other parties' proxies, made once and reused."""

    def __init__(self, config: NodeConfig) -> None:
        self._config = config
        self._channels: dict[str, grpc.Channel] = {}
        self._lock = threading.Lock()

    def next_hop(self, dst_party_id: int) -> tuple[str, str]:
        """(address, description) of where a call for `dst_party_id` goes from this proxy."""
        if dst_party_id == self._config.party_id:
            return self._config.grpc_address, f"party {dst_party_id}'s core"
        route = self._config.route(dst_party_id)
        if route is None:
            raise FederatedError(
                f"party {self._config.party_id}'s proxy has no route to party {dst_party_id}",
                party_id=dst_party_id,
            )
        return route.address, f"party {dst_party_id}'s proxy"

    def channel(self, address: str) -> grpc.Channel:
        with self._lock:
            if address not in self._channels:
                self._channels[address] = grpc.insecure_channel(address)
            return self._channels[address]

    def close(self) -> None:
        with self._lock:
            for channel in self._channels.values():
                channel.close()
            self._channels.clear()


class ForwardingHandler(grpc.GenericRpcHandler):
    """Serves every PartyService method by forwarding its bytes one hop further."""

    def __init__(self, router: Router, own_party_id: int) -> None:
        self._router = router
        self._own = own_party_id

    def service(
        self, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[bytes, bytes] | None:
        method: str = handler_call_details.method
        if not method.startswith(FORWARDED_PREFIX):
            return None
        return grpc.unary_unary_rpc_method_handler(self._forwarder(method))

    def _forwarder(self, method: str) -> Callable[[bytes, grpc.ServicerContext], bytes]:
        def forward(request: bytes, context: grpc.ServicerContext) -> bytes:
            metadata = _metadata(context.invocation_metadata())
            dst = _party(metadata, DST_PARTY)
            address, hop = self._router.next_hop(dst)
            call: grpc.UnaryUnaryMultiCallable[bytes, bytes] = self._router.channel(
                address
            ).unary_unary(method)
            future = call.future(
                request, timeout=context.time_remaining(), metadata=tuple(metadata.items())
            )

            def cancel() -> None:  # the caller went away: so does every hop after this one
                future.cancel()

            context.add_callback(cancel)
            try:
                response: bytes = future.result()
                return response
            except grpc.RpcError as error:
                _relay(error, context, f"party {self._own}'s proxy -> {hop} at {address}")
                raise  # _relay aborts; never reached

        return forward


def _metadata(pairs: Sequence[tuple[str, str | bytes]]) -> dict[str, str]:
    return {
        key: value for key, value in pairs if isinstance(value, str) and key.startswith("fateflow-")
    }


def _party(metadata: dict[str, str], key: str) -> int:
    try:
        return int(metadata[key])
    except (KeyError, ValueError):
        raise InvalidArgument(f"a forwarded call needs the metadata {key} as a party id") from None


def _relay(error: grpc.RpcError, context: grpc.ServicerContext, hop: str) -> None:
    """Pass the next hop's error back unchanged, or name the hop when it could not be reached."""
    assert isinstance(error, grpc.Call)
    status = rpc_status.from_call(error)
    if status is not None:
        context.abort_with_status(rpc_status.to_status(status))
    code = error.code()
    details = error.details() or ""
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        details = f"{hop} failed: {details}"
    context.abort(code, details)
