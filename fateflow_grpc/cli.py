"""`fateflow`: run a node, one of its parts, or two standalone parties on this machine.

fateflow node --config node.yaml      core + gateway + proxy of one party, in one process
fateflow core|gateway|proxy --config node.yaml
fateflow standalone [--port-offset N] parties 9999 and 10000 on DESIGN §5's ports (+ N)
fateflow demo [--port-offset N]       the hetero LR example on those parties, from upload to AUC
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import yaml

from fateflow_grpc.config import NodeConfig
from fateflow_grpc.errors import FateFlowError
from fateflow_grpc.node import Node
from fateflow_grpc.server import create_server
from fateflow_grpc.storage.database import create_database
from gateway.server import serve
from party_proxy.server import create_proxy_server

log = logging.getLogger("fateflow")

#: DESIGN §5: the two parties of `fateflow standalone`, each routed to the other's proxy.
STANDALONE_PARTIES = (
    NodeConfig(party_id=9999, http_port=9380, grpc_port=9360, proxy_port=9370),
    NodeConfig(party_id=10000, http_port=9480, grpc_port=9460, proxy_port=9470),
)


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
    node = Node(config, database)
    with _binding(config.grpc_address):
        server, port = create_server(node)
    node.start()  # recovery first: no request may start a task it would take for an orphan
    server.start()
    log.info("party %s: gRPC core on %s:%s", config.party_id, config.host, port)
    try:
        yield
    finally:
        server.stop(grace=5).wait()
        node.close()
        database.dispose()


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
    with contextlib.ExitStack() as stack:
        # The proxy first: a recovering core reports to other parties through it.
        if "proxy" in parts:
            stack.enter_context(_proxy(config))
        if "core" in parts:
            stack.enter_context(_core(config))
        asyncio.run(_serve_until_signal(config, with_gateway="gateway" in parts))


def standalone_parties(port_offset: int = 0) -> tuple[NodeConfig, ...]:
    """The two standalone parties, every port moved by `port_offset` (to run beside others)."""
    return tuple(
        dataclasses.replace(
            party,
            http_port=party.http_port + port_offset,
            grpc_port=party.grpc_port + port_offset,
            proxy_port=party.proxy_port + port_offset,
        )
        for party in STANDALONE_PARTIES
    )


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _check_ports_free(parties: tuple[NodeConfig, ...]) -> None:
    """Say which port is taken before any node starts, rather than after one fails to."""
    for party in parties:
        for kind, port in (
            ("HTTP", party.http_port),
            ("gRPC", party.grpc_port),
            ("proxy", party.proxy_port),
        ):
            if not _port_free(party.host, port):
                raise OSError(
                    f"port {port} (party {party.party_id}'s {kind} port) is in use by another "
                    "program: stop it, or move every port with --port-offset N"
                )


def _write_node_config(party: NodeConfig, parties: tuple[NodeConfig, ...], secret: str) -> Path:
    party_dir = party.data_dir
    party_dir.mkdir(parents=True, exist_ok=True)
    config_path = party_dir / "node.yaml"
    config_path.touch(mode=0o600)  # it holds the shared secret
    config_path.chmod(0o600)
    others = [other for other in parties if other is not party]
    config_path.write_text(
        yaml.safe_dump(
            {
                "party_id": party.party_id,
                "http_port": party.http_port,
                "grpc_port": party.grpc_port,
                "proxy_port": party.proxy_port,
                "data_dir": str(party_dir),
                "routes": {other.party_id: {"address": other.proxy_address} for other in others},
                "party_secrets": {other.party_id: secret for other in others},
                # FATE's confs name server-side files relative to where it runs
                # (`examples/data/...` with use_local_data 0): allow the current directory.
                "server_file_dirs": [str(Path.cwd())],
            }
        )
    )
    return config_path


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def standalone_nodes(
    base_dir: Path, port_offset: int = 0, log_to_files: bool = False
) -> Iterator[list[tuple[NodeConfig, subprocess.Popen[bytes]]]]:
    """Start each standalone party as its own `fateflow node` process, as separate machines
    would, and stop them when the block ends. Each party keeps its files in
    `<base_dir>/<party id>`; with `log_to_files` a node logs to `node.log` there instead of
    this terminal."""
    parties = tuple(
        dataclasses.replace(party, data_dir=base_dir.absolute() / str(party.party_id))
        for party in standalone_parties(port_offset)
    )
    _check_ports_free(parties)
    # The two proxies prove their party to each other with a secret shared for this run.
    secret = secrets.token_hex(32)
    nodes: list[tuple[NodeConfig, subprocess.Popen[bytes]]] = []
    # A SIGTERM stops the nodes as Ctrl-C does, rather than leaving them running.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        for party in parties:
            config_path = _write_node_config(party, parties, secret)
            command = [
                sys.executable,
                "-m",
                "fateflow_grpc",
                "node",
                "--config",
                str(config_path),
            ]
            with contextlib.ExitStack() as files:
                output = None
                if log_to_files:
                    output = files.enter_context((party.data_dir / "node.log").open("ab"))
                nodes.append((party, subprocess.Popen(command, stdout=output, stderr=output)))
            print(
                f"party {party.party_id}: http://{party.host}:{party.http_port}/v1 "
                f"gRPC {party.host}:{party.grpc_port} proxy {party.host}:{party.proxy_port} "
                f"data {party.data_dir}",
                flush=True,
            )
        yield nodes
    finally:
        for _, process in nodes:
            if process.poll() is None:
                process.terminate()
        for _, process in nodes:
            process.wait()
        signal.signal(signal.SIGTERM, previous)


def standalone(base_dir: Path, port_offset: int = 0) -> None:
    """Run the two standalone parties until Ctrl-C or until one of them exits."""
    with standalone_nodes(base_dir, port_offset) as nodes:
        processes = [process for _, process in nodes]
        try:
            while all(p.poll() is None for p in processes):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
    failed = [p.args for p in processes if p.returncode not in (0, -signal.SIGTERM)]
    if failed:
        sys.exit(f"a party's node exited with an error: {failed}")


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
    for name, help_text in (
        ("standalone", "run parties 9999 and 10000 on this machine"),
        ("demo", "run the hetero LR example on parties 9999 and 10000, started if need be"),
    ):
        sub = commands.add_parser(name, help=help_text)
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
            standalone(args.data_dir, args.port_offset)
            return
        if args.command == "demo":
            from fateflow_grpc import demo  # it imports this module

            demo.demo(args.data_dir, args.port_offset)
            return
        config = NodeConfig.load(args.config) if args.config else NodeConfig()
        parts = {"core", "gateway", "proxy"} if args.command == "node" else {args.command}
        run(config, parts)
    except FateFlowError as error:
        sys.exit(f"fateflow: {error.message}")
    except OSError as error:
        sys.exit(f"fateflow: {error}")
