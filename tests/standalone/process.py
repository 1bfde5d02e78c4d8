"""`fateflow standalone` as a user runs it: one process serving its local parties at one address.

Its ports are moved by a free offset, so tests run beside other nodes on this machine.
"""

from __future__ import annotations

import json
import random
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from fateflow_grpc.standalone.launcher import DEFAULT_PARTIES, Layout, standalone_layout
from tests.multiparty.cluster import wait_for


@dataclass(frozen=True)
class Standalone:
    """A running `fateflow standalone`: where it listens and keeps its files."""

    process: subprocess.Popen[bytes]
    layout: Layout
    #: The directory it runs in (where its server-side relative paths start).
    cwd: Path
    log: Path

    @property
    def http(self) -> str:
        return self.layout.http_url

    @property
    def grpc_address(self) -> str:
        return self.layout.grpc_address

    @property
    def data_dir(self) -> Path:
        return self.layout.data_dir

    def channel(self) -> grpc.Channel:
        return grpc.insecure_channel(self.grpc_address)

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST a JSON body to `/v1/<path>`; FATE's envelope."""
        request = urllib.request.Request(
            f"{self.http}/v1/{path}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            answer: dict[str, Any] = json.load(response)
        return answer


def _free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_offset(parties: tuple[int, ...] = DEFAULT_PARTIES) -> int:
    """An offset that moves every port of a standalone of `parties` onto a free one."""
    for _ in range(100):
        offset = random.randrange(1000, 40000, 10)
        if all(_free(port) for port, _ in standalone_layout(Path(), parties, offset).ports()):
            return offset
    raise AssertionError("no free ports for fateflow standalone")


def _serving(standalone: Standalone) -> bool:
    if standalone.process.poll() is not None:
        raise AssertionError(f"fateflow standalone exited: see {standalone.log}")
    try:
        with standalone.channel() as channel:
            health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
    except grpc.RpcError:
        return False
    return not _free(standalone.layout.http_port)  # the gateway starts after the front


@contextmanager
def run_standalone(cwd: Path, parties: tuple[int, ...] = DEFAULT_PARTIES) -> Iterator[Standalone]:
    """Run `fateflow standalone --data-dir var --parties ...` in `cwd` until the block ends."""
    offset = free_port_offset(parties)
    log = cwd / "standalone.log"
    with log.open("ab") as output:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "fateflow_grpc", "standalone", "--data-dir", "var"),
                *("--parties", ",".join(map(str, parties)), "--port-offset", str(offset)),
            ],
            cwd=cwd,
            stdout=output,
            stderr=output,
        )
    standalone = Standalone(process, standalone_layout(cwd / "var", parties, offset), cwd, log)
    try:
        wait_for(lambda: _serving(standalone), 120, f"fateflow standalone to start ({log})")
        yield standalone
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
