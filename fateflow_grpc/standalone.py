"""`fateflow standalone`: parties 9999 and 10000 on this machine, each its own node process.

with standalone_nodes(Path("var")) as nodes:    # [(NodeConfig, Popen)], stopped at the end
    ...
"""

from __future__ import annotations

import contextlib
import dataclasses
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

#: DESIGN §5: the two parties of `fateflow standalone`, each routed to the other's proxy.
STANDALONE_PARTIES = (
    NodeConfig(party_id=9999, http_port=9380, grpc_port=9360, proxy_port=9370),
    NodeConfig(party_id=10000, http_port=9480, grpc_port=9460, proxy_port=9470),
)


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


def run(base_dir: Path, port_offset: int = 0) -> None:
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
