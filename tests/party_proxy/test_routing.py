"""The proxy's routes to a party served at several addresses: the cores of the party's
replicas. Real servers on loopback: a call goes to a core that is up, whichever is down."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest

from fateflow.party.v1 import party_service_pb2 as pb
from fateflow_grpc.config import NodeConfig, Route
from party_proxy.routing import FORWARDED_PREFIX
from party_proxy.security import DST_PARTY
from party_proxy.server import ProxyServer, create_proxy_server
from tests.multiparty.cluster import free_ports

METHOD = f"{FORWARDED_PREFIX}GetJobStatus"


class Core(grpc.GenericRpcHandler):
    """A core that answers GetJobStatus with its own name as the job's status."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.calls = 0

    def service(
        self, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[bytes, bytes] | None:
        if handler_call_details.method != METHOD:
            return None

        def answer(request: bytes, context: grpc.ServicerContext) -> bytes:
            self.calls += 1
            return pb.GetJobStatusResponse(status=self.name).SerializeToString()

        return grpc.unary_unary_rpc_method_handler(answer)


def serve(core: Core, port: int) -> grpc.Server:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((core,))
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    return server


@pytest.fixture
def ports() -> list[int]:
    return free_ports(3)


@pytest.fixture
def proxy(tmp_path: Path, ports: list[int]) -> Iterator[tuple[ProxyServer, NodeConfig]]:
    config = NodeConfig(
        party_id=9999,
        data_dir=tmp_path,
        proxy_port=0,
        routes={
            9999: Route(
                f"127.0.0.1:{ports[0]}",
                addresses=(f"127.0.0.1:{ports[0]}", f"127.0.0.1:{ports[1]}"),
            )
        },
    )
    server = create_proxy_server(config)
    server.start()
    yield server, config
    server.stop(grace=None).wait()


def status_through(config: NodeConfig) -> str:
    with grpc.insecure_channel(config.local_proxy_address) as channel:
        call = channel.unary_unary(METHOD)
        answer = call(
            pb.GetJobStatusRequest(job_id="1").SerializeToString(),
            metadata=((DST_PARTY, "9999"),),
            timeout=10,
        )
    return pb.GetJobStatusResponse.FromString(answer).status


def test_calls_go_to_a_replica_that_is_up_and_stay_there(
    proxy: tuple[ProxyServer, NodeConfig], ports: list[int]
) -> None:
    _, config = proxy
    a, b = Core("a"), Core("b")
    server_b = serve(b, ports[1])  # the first address has nothing behind it
    try:
        assert [status_through(config) for _ in range(3)] == ["b", "b", "b"]
        server_a = serve(a, ports[0])
        # The proxy's channel to a, refused a moment ago, tries again within a second.
        time.sleep(1.5)
        try:
            # The address that answered keeps the calls while it answers.
            assert status_through(config) == "b"
            server_b.stop(grace=None).wait()
            assert [status_through(config) for _ in range(2)] == ["a", "a"]
        finally:
            server_a.stop(grace=None).wait()
    finally:
        server_b.stop(grace=None).wait()
    assert (a.calls, b.calls) == (2, 4)


def test_with_every_replica_down_the_error_names_the_last_one_tried(
    proxy: tuple[ProxyServer, NodeConfig], ports: list[int]
) -> None:
    _, config = proxy
    with pytest.raises(grpc.RpcError) as raised:
        status_through(config)
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    assert f"party 9999's core at 127.0.0.1:{ports[1]} failed" in raised.value.details()
