"""The party proxy's server factory.

    proxy = create_proxy_server(config)   # binds the public port (port 0 picks one) and the
    proxy.start()                          # local endpoint; proxy.public_port says which port
    proxy.stop(grace=5).wait()

A proxy listens twice, on two gRPC servers that share its mailbox and its routes:

- the **public port** (`host:proxy_port`, TLS as `proxy_tls` says) is the one other parties
  reach. It takes objects pushed for this party and the `fateflow.party.v1` calls for it,
  each with a valid proof of the party that sent it (`security.py`); as a relay
  (`proxy_relay`), those for a party it has a route to; and the public API only when
  `proxy_public_api` is set.
- the **local endpoint** (`proxy_local_address`, by default a Unix socket in the data
  directory, so that only this node's own processes can open it) serves this node's core and
  tasks: their calls and objects for other parties, which it signs and routes, their pulls
  from the mailbox, and the cleaning of a job's mailbox. What comes in there is this party's,
  which is why no other party can reach it: the public port never serves Pull, CleanJob or
  OpenJob.
"""

from __future__ import annotations

import threading
from concurrent import futures

import grpc

from fateflow.proxy.v1 import proxy_service_pb2, proxy_service_pb2_grpc
from fateflow_grpc.config import NodeConfig
from fateflow_grpc.interceptor import ErrorInterceptor
from fateflow_grpc.server_base import SERVER_OPTIONS, add_health_and_reflection
from party_proxy import security
from party_proxy.mailbox import Mailbox
from party_proxy.objects import LocalProxyServicer, PublicProxyServicer
from party_proxy.routing import ForwardingHandler, Router
from party_proxy.security import Signer

_SERVICE = proxy_service_pb2.DESCRIPTOR.services_by_name["ProxyService"].full_name
#: Threads of each server. Pulls wait for their objects on a thread each, so the local
#: endpoint has room for many tasks waiting at once.
PUBLIC_THREADS = 32
LOCAL_THREADS = 128


class ProxyServer:
    """The proxy's two servers, started and stopped together."""

    def __init__(
        self,
        public: grpc.Server,
        local: grpc.Server,
        public_port: int,
        router: Router,
        mailbox: Mailbox,
    ):
        self._servers = (public, local)
        self.public_port = public_port
        self._router = router
        self._mailbox = mailbox

    def start(self) -> None:
        for server in self._servers:
            server.start()

    def stop(self, grace: float | None) -> threading.Event:
        """Stop both servers; the event is set once both have."""
        self._mailbox.close()
        events = [server.stop(grace) for server in self._servers]
        done = threading.Event()

        def wait() -> None:
            for event in events:
                event.wait()
            self._router.close()
            done.set()

        threading.Thread(target=wait, daemon=True).start()
        return done


def _server(threads: int) -> grpc.Server:
    return grpc.server(
        futures.ThreadPoolExecutor(max_workers=threads),
        interceptors=[ErrorInterceptor()],
        options=SERVER_OPTIONS,
    )


def create_proxy_server(config: NodeConfig, address: str | None = None) -> ProxyServer:
    """Build the proxy; `address` overrides the public port's `host:proxy_port`."""
    router = Router(config)
    signer = Signer.for_node(config)
    mailbox = Mailbox(config.mailbox_path, config.mailbox_memory_bytes)

    public = _server(PUBLIC_THREADS)
    proxy_service_pb2_grpc.add_ProxyServiceServicer_to_server(
        PublicProxyServicer(router, mailbox, signer), public
    )
    public.add_generic_rpc_handlers(
        (ForwardingHandler(router, signer, local=False, public_api=config.proxy_public_api),)
    )
    add_health_and_reflection(public, [_SERVICE])
    port = security.add_public_port(
        public, address or f"{config.host}:{config.proxy_port}", config.proxy_tls
    )

    local = _server(LOCAL_THREADS)
    proxy_service_pb2_grpc.add_ProxyServiceServicer_to_server(
        LocalProxyServicer(router, mailbox, signer), local
    )
    local.add_generic_rpc_handlers(
        (ForwardingHandler(router, signer, local=True, public_api=False),)
    )
    add_health_and_reflection(local, [_SERVICE])
    local.add_insecure_port(config.local_proxy_address)
    return ProxyServer(public, local, port, router, mailbox)
