"""`fateflow`: run a node, one of its parts, or a standalone of several parties on this machine.

fateflow node --config node.yaml [--no-gateway] [--no-proxy]
                                      core + gateway + proxy of one party (a replica of a
                                      party runs without the party's one proxy)
fateflow core|gateway|proxy --config node.yaml
fateflow standalone [--parties 9999,10000] [--data-dir var] [--port-offset N]
                                      every local party at one address (HTTP 9380, gRPC 9360)
fateflow demo [--data-dir var] [--port-offset N]
                                      the hetero LR example, from upload to AUC, on a standalone
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

from fateflow_grpc import demo
from fateflow_grpc.config import NodeConfig
from fateflow_grpc.errors import FateFlowError
from fateflow_grpc.node import Node
from fateflow_grpc.ports import check_ports_free
from fateflow_grpc.server import create_server
from fateflow_grpc.standalone import launcher
from fateflow_grpc.storage.database import create_database
from gateway.server import serve
from party_proxy.server import create_proxy_server

log = logging.getLogger("fateflow")


@contextlib.contextmanager
def _binding(address: str) -> Iterator[None]:
    """grpc says only RuntimeError when a port is taken; say which one."""
    try:
        yield
    except RuntimeError as error:
        raise OSError(f"cannot listen on {address}: is something else using that port?") from error


@contextlib.contextmanager
def _core(config: NodeConfig) -> Iterator[None]:
    config.data_dir.mkdir(parents=True, exist_ok=True)
    database = create_database(config.database)
    # The table store's own database, when it has one (shared with other nodes).
    tables = (
        None if config.table_database == config.database else create_database(config.table_database)
    )
    node = Node(config, database, tables)
    with _binding(config.grpc_address):
        server, port = create_server(node)
    node.start()  # recovery first: no request may start a task it would take for an orphan
    server.start()
    where = config.core_address or f"{config.host}:{port}"  # port 0 picked one
    log.info("party %s: gRPC core on %s", config.party_id, where)
    try:
        yield
    finally:
        server.stop(grace=5).wait()
        node.close()
        database.dispose()
        if tables is not None:
            tables.dispose()


@contextlib.contextmanager
def _proxy(config: NodeConfig) -> Iterator[None]:
    with _binding(f"{config.host}:{config.proxy_port} or {config.local_proxy_address}"):
        proxy = create_proxy_server(config)
    proxy.start()
    log.info(
        "party %s: proxy on %s:%s, local endpoint %s",
        config.party_id,
        config.host,
        proxy.public_port,
        config.local_proxy_address,
    )
    try:
        yield
    finally:
        proxy.stop(grace=5).wait()


async def _serve_until_signal(config: NodeConfig, with_gateway: bool) -> None:
    """Run the gateway (if asked) until SIGINT or SIGTERM; the gRPC servers run on their threads."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    waits: list[asyncio.Task[object]] = [asyncio.create_task(stop.wait())]
    if with_gateway:
        waits.append(asyncio.create_task(serve(config.grpc_address, config.host, config.http_port)))
    done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        task.result()  # a gateway that failed to start fails the node


def run(config: NodeConfig, parts: set[str]) -> None:
    listeners = (
        ("core", "gRPC", config.grpc_port),
        ("gateway", "HTTP", config.http_port),
        ("proxy", "proxy", config.proxy_port),
    )
    check_ports_free(
        config.host,
        {kind: port for part, kind, port in listeners if part in parts},
        f"party {config.party_id}",
    )
    with contextlib.ExitStack() as stack:
        # The proxy first: a recovering core reports to other parties through it.
        if "proxy" in parts:
            stack.enter_context(_proxy(config))
        if "core" in parts:
            stack.enter_context(_core(config))
        asyncio.run(_serve_until_signal(config, with_gateway="gateway" in parts))


def _parties(text: str) -> tuple[int, ...]:
    try:
        return launcher.parse_parties(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="fateflow", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("node", "run one party's node: core, gateway and proxy"),
        ("core", "run only the gRPC core"),
        ("gateway", "run only the HTTP gateway (the core must be reachable)"),
        ("proxy", "run only the party proxy"),
    ):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--config", type=Path, help="node config YAML (default: party 9999)")
        if name == "node":
            sub.add_argument(
                "--no-gateway",
                action="store_true",
                help="run the core and the proxy only (fateflow standalone serves HTTP for all)",
            )
            sub.add_argument(
                "--no-proxy",
                action="store_true",
                help="run the core and the gateway only: a replica of a party whose proxy runs "
                "on its own (fateflow proxy)",
            )
    for name, help_text in (
        ("standalone", "run several parties on this machine, all served at one address"),
        ("demo", "run the hetero LR example on a standalone, started if need be"),
    ):
        sub = commands.add_parser(name, help=help_text)
        if name == "standalone":
            sub.add_argument(
                "--parties",
                type=_parties,
                default=launcher.DEFAULT_PARTIES,
                help="the local party ids, the first keeping the tables (default: 9999,10000)",
            )
        sub.add_argument("--data-dir", type=Path, default=Path("var"), help="default: ./var")
        sub.add_argument(
            "--port-offset", type=int, default=0, help="add N to every port (default: 0)"
        )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        if args.command == "standalone":
            launcher.run(args.data_dir, args.parties, args.port_offset)
            return
        if args.command == "demo":
            demo.demo(args.data_dir, args.port_offset)
            return
        config = NodeConfig.load(args.config) if args.config else NodeConfig()
        parts = {"core", "gateway", "proxy"} if args.command == "node" else {args.command}
        if getattr(args, "no_gateway", False):
            parts.discard("gateway")
        if getattr(args, "no_proxy", False):
            parts.discard("proxy")
        run(config, parts)
    except FateFlowError as error:
        sys.exit(f"fateflow: {error.message}")
    except (OSError, launcher.StandaloneError) as error:
        sys.exit(f"fateflow: {error}")
