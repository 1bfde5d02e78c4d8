"""`fateflow standalone`: the local parties' nodes, and the one address that serves them all.

    layout = standalone_layout(Path("var"), (9999, 10000, 10001))
    with running(layout) as standalone:      # nodes started, front serving on layout.grpc_address
        ...                                  # stopped when the block ends

Each local party is a node process of its own (`fateflow node --no-gateway`), as on its own
machine: its database, logs, models, model store, worker pool, mailbox and proxy under
`<data dir>/<party id>`. Its core listens on a Unix socket there; its proxy on TCP
`9370 + 100 i` (i: its place in `--parties`), routed to the other parties' proxies and proving
its party with a secret made for the run. So scheduling calls and federation objects between
local parties cross the proxies and the wire codec, as in a cluster. Their tables are one
table store (`<data dir>/tables`, meta rows in `<data dir>/tables.db`, the node config's
`table_dir` and `table_database_url`), so a table uploaded once is every party's.

This process serves them at one address, as FATE's standalone FATE-Flow does: the front
(`front.py`, gRPC on 9360) and, in `run`, the HTTP gateway in front of it (9380).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from fateflow_grpc.config import NodeConfig
from fateflow_grpc.standalone.front import LocalCore, create_front
from fateflow_grpc.storage.database import create_database
from gateway.server import serve

log = logging.getLogger("fateflow.standalone")

DEFAULT_PARTIES = (9999, 10000)
HOST = "127.0.0.1"
HTTP_PORT, GRPC_PORT, PROXY_PORT = 9380, 9360, 9370
#: Each party's proxy port is this much above the one of the party before it.
PROXY_PORT_STEP = 100
#: How long the nodes may take to start (a loaded machine, a first run that migrates).
START_TIMEOUT_S = 120.0
POLL_S = 0.2


class StandaloneError(Exception):
    """Something the user can act on, said in one line."""


@dataclass(frozen=True)
class Layout:
    """Where a standalone listens and keeps its files; the first party keeps the tables."""

    parties: tuple[NodeConfig, ...]
    data_dir: Path
    http_port: int = HTTP_PORT
    grpc_port: int = GRPC_PORT
    host: str = HOST

    @property
    def grpc_address(self) -> str:
        return f"{self.host}:{self.grpc_port}"

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    def ports(self) -> list[tuple[int, str]]:
        """Every TCP port it listens on, with what each is for."""
        return [
            (self.http_port, "the standalone's HTTP port"),
            (self.grpc_port, "the standalone's gRPC port"),
            *((party.proxy_port, f"party {party.party_id}'s proxy port") for party in self.parties),
        ]


def parse_parties(text: str) -> tuple[int, ...]:
    """`9999,10000,10001` as party ids: positive, distinct, at least one."""
    try:
        ids = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"--parties takes party ids separated by commas, not {text!r}") from None
    if any(party_id <= 0 for party_id in ids) or len(set(ids)) != len(ids):
        raise ValueError(f"--parties takes distinct positive party ids, not {text!r}")
    return ids


def standalone_layout(
    data_dir: Path, party_ids: tuple[int, ...] = DEFAULT_PARTIES, port_offset: int = 0
) -> Layout:
    """The standalone of `party_ids` keeping its files in `data_dir`, every port moved by
    `port_offset` (to run beside another one)."""
    base = data_dir.absolute()
    parties = tuple(
        NodeConfig(
            party_id=party_id,
            host=HOST,
            core_address=f"unix:{base / str(party_id) / 'core.sock'}",
            proxy_port=PROXY_PORT + PROXY_PORT_STEP * index + port_offset,
            data_dir=base / str(party_id),
            table_dir=base / "tables",
            table_database_url=f"sqlite:///{base / 'tables.db'}",
            # FATE's confs name server-side files relative to where it runs
            # (`examples/data/...` with use_local_data 0): allow the current directory.
            server_file_dirs=(Path.cwd(),),
        )
        for index, party_id in enumerate(party_ids)
    )
    return Layout(parties, base, HTTP_PORT + port_offset, GRPC_PORT + port_offset)


def check_ports_free(layout: Layout) -> None:
    """Say which port is taken before anything starts, rather than after a node fails to."""
    for port, what in layout.ports():
        with socket.socket() as probe:
            # As the servers do: a port whose last connections are closing is free to them.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((layout.host, port))
            except OSError:
                raise StandaloneError(
                    f"port {port} ({what}) is in use by another program: stop it, or move "
                    "every port with --port-offset N"
                ) from None


def _write_node_config(party: NodeConfig, layout: Layout, secret: str) -> Path:
    party.data_dir.mkdir(parents=True, exist_ok=True)
    path = party.data_dir / "node.yaml"
    path.touch(mode=0o600)  # it holds the shared secret
    path.chmod(0o600)
    others = [other for other in layout.parties if other.party_id != party.party_id]
    assert party.table_dir is not None
    path.write_text(
        yaml.safe_dump(
            {
                "party_id": party.party_id,
                "host": party.host,
                "core_address": party.core_address,
                "proxy_port": party.proxy_port,
                "data_dir": str(party.data_dir),
                "table_dir": str(party.table_dir),
                "table_database_url": party.table_database_url,
                "routes": {other.party_id: {"address": other.proxy_address} for other in others},
                "party_secrets": {other.party_id: secret for other in others},
                "server_file_dirs": [str(d) for d in party.server_file_dirs],
                # The parties serve no HTTP of their own: their jobs' links open the front's board.
                "board_url": f"{layout.http_url}/board",
            },
            sort_keys=False,
        )
    )
    return path


def _serving(address: str) -> bool:
    with grpc.insecure_channel(address) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=2
            )
        except grpc.RpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


@dataclass(frozen=True)
class PartyNode:
    """A local party's node process."""

    config: NodeConfig
    process: subprocess.Popen[bytes]
    #: Where its output goes; None: this process's terminal.
    log_file: Path | None

    def where_to_look(self) -> str:
        return f"see {self.log_file}" if self.log_file else "see its output above"


@dataclass(frozen=True)
class Running:
    layout: Layout
    nodes: tuple[PartyNode, ...]


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def running(layout: Layout, log_to_files: bool = False) -> Iterator[Running]:
    """Start every party's node, wait until each serves, then serve the front; stop all of
    them when the block ends. With `log_to_files`, a node logs to `<its data dir>/node.log`."""
    check_ports_free(layout)
    layout.data_dir.mkdir(parents=True, exist_ok=True)
    # The shared table database, made before the nodes start so that they do not race to
    # create its schema.
    create_database(layout.parties[0].table_database).dispose()
    secret = secrets.token_hex(32)
    nodes: list[PartyNode] = []
    # A SIGTERM stops the nodes as Ctrl-C does, rather than leaving them running.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    front = None
    try:
        for party in layout.parties:
            config_path = _write_node_config(party, layout, secret)
            command = [sys.executable, "-m", "fateflow_grpc", "node", "--config", str(config_path)]
            log_file = party.data_dir / "node.log" if log_to_files else None
            with contextlib.ExitStack() as files:
                output = files.enter_context(log_file.open("ab")) if log_file else None
                process = subprocess.Popen([*command, "--no-gateway"], stdout=output, stderr=output)
            nodes.append(PartyNode(party, process, log_file))
        _wait_until_serving(nodes)
        try:
            server, _, front = create_front(
                [LocalCore(node.config.party_id, node.config.grpc_address) for node in nodes],
                layout.grpc_address,
            )
        except RuntimeError as error:  # all grpc says of a port taken since it was checked
            raise StandaloneError(f"cannot listen on {layout.grpc_address}: {error}") from None
        server.start()
        try:
            yield Running(layout, tuple(nodes))
        finally:
            server.stop(grace=5).wait()
    finally:
        for node in nodes:
            if node.process.poll() is None:
                node.process.terminate()
        for node in nodes:
            node.process.wait()
        if front is not None:
            front.close()
        signal.signal(signal.SIGTERM, previous)


def _wait_until_serving(nodes: list[PartyNode]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    for node in nodes:
        party_id = node.config.party_id
        while not _serving(node.config.grpc_address):
            if node.process.poll() is not None:
                raise StandaloneError(
                    f"party {party_id}'s node exited while starting: {node.where_to_look()}"
                )
            if time.monotonic() > deadline:
                raise StandaloneError(
                    f"party {party_id}'s node did not answer in {START_TIMEOUT_S:g} s: "
                    f"{node.where_to_look()}"
                )
            time.sleep(POLL_S)


def describe(layout: Layout) -> str:
    """What a user needs to know of a standalone: its addresses, and where its files are."""
    parties = ", ".join(str(party.party_id) for party in layout.parties)
    lines = [
        f"fateflow standalone: parties {parties} at one address",
        f"  HTTP  {layout.http_url}/v1",
        f"  gRPC  {layout.grpc_address}",
        f"  tables {layout.data_dir / 'tables'} (every party's; kept by party "
        f"{layout.parties[0].party_id})",
    ]
    lines += [
        f"  party {party.party_id}: proxy {party.proxy_address}, data {party.data_dir}"
        for party in layout.parties
    ]
    return "\n".join(lines)


async def _serve(standalone: Running) -> None:
    """The HTTP gateway in front of the front, until SIGINT or SIGTERM; says when a party's
    node exits (the others keep serving)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    layout = standalone.layout

    async def watch() -> None:
        exited: set[int] = set()
        while len(exited) < len(standalone.nodes):
            for node in standalone.nodes:
                code = node.process.poll()
                if code is not None and node.config.party_id not in exited:
                    exited.add(node.config.party_id)
                    log.error(
                        "party %s's node exited (status %s); the other parties keep serving: %s",
                        node.config.party_id,
                        code,
                        node.where_to_look(),
                    )
            await asyncio.sleep(POLL_S)
        raise StandaloneError("every party's node exited")

    tasks: list[asyncio.Task[object]] = [
        asyncio.create_task(stop.wait()),
        asyncio.create_task(serve(layout.grpc_address, layout.host, layout.http_port)),
        asyncio.create_task(watch()),
    ]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        task.result()


def run(data_dir: Path, party_ids: tuple[int, ...], port_offset: int = 0) -> None:
    """Run a standalone until Ctrl-C or SIGTERM."""
    layout = standalone_layout(data_dir, party_ids, port_offset)
    try:
        with running(layout) as standalone:
            print(describe(layout), flush=True)
            asyncio.run(_serve(standalone))
    except KeyboardInterrupt:
        pass
