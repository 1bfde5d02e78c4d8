"""`fateflow standalone` as a user runs it: one process that starts parties 9999 and 10000.

Its ports are moved by a free offset, so tests run beside other nodes on this machine.
"""

from __future__ import annotations

import random
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from fateflow_grpc.config import NodeConfig
from fateflow_grpc.standalone import standalone_parties
from tests.multiparty.cluster import wait_for


@dataclass(frozen=True)
class Standalone:
    """A running `fateflow standalone`: its parties and where each keeps its files."""

    process: subprocess.Popen[bytes]
    parties: tuple[NodeConfig, ...]
    data_dir: Path
    #: The directory it runs in (where its server-side relative paths start).
    cwd: Path
    log: Path

    @property
    def guest(self) -> NodeConfig:
        return self.parties[0]

    @property
    def host(self) -> NodeConfig:
        return self.parties[1]

    def http(self, party: NodeConfig) -> str:
        return f"http://127.0.0.1:{party.http_port}"


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_offset() -> int:
    """An offset that moves every standalone port onto a free one."""
    for _ in range(100):
        offset = random.randrange(1000, 40000, 10)
        parties = standalone_parties(offset)
        ports = [p for c in parties for p in (c.http_port, c.grpc_port, c.proxy_port)]
        if all(map(_free, ports)):
            return offset
    raise AssertionError("no free ports for fateflow standalone")


def _serving(standalone: Standalone) -> bool:
    if standalone.process.poll() is not None:
        raise AssertionError(f"fateflow standalone exited: see {standalone.log}")
    for party in standalone.parties:
        try:
            with grpc.insecure_channel(f"127.0.0.1:{party.grpc_port}") as channel:
                health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(), timeout=1
                )
        except grpc.RpcError:
            return False
        if _free(party.http_port):  # the gateway starts after the core
            return False
    return True


@contextmanager
def run_standalone(cwd: Path) -> Iterator[Standalone]:
    """Run `fateflow standalone --data-dir var` in `cwd` until the block ends."""
    offset = free_port_offset()
    log = cwd / "standalone.log"
    with log.open("ab") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "fateflow_grpc",
                "standalone",
                "--data-dir",
                "var",
                "--port-offset",
                str(offset),
            ],
            cwd=cwd,
            stdout=output,
            stderr=output,
        )
    standalone = Standalone(process, standalone_parties(offset), cwd / "var", cwd, log)
    try:
        wait_for(lambda: _serving(standalone), 60, f"fateflow standalone to start ({log})")
        yield standalone
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
