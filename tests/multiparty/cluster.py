"""Parties as real `fateflow node` processes on loopback, each with its core, gateway and proxy."""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import psutil
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from fateflow.v1 import job_service_pb2 as pb
from fateflow.v1 import job_service_pb2_grpc


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@dataclass
class NodeProcess:
    party_id: int
    data_dir: Path
    settings: dict[str, Any] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    #: What `fateflow` runs: a whole node by default; a replica of a party runs
    #: `("node", "--no-proxy")`, its party's proxy `("proxy",)`.
    command: tuple[str, ...] = ("node",)
    #: Its log file (several processes may share a data directory).
    log_name: str = "node.log"

    def __post_init__(self) -> None:
        self.http_port, self.grpc_port, self.proxy_port = free_ports(3)
        self.data_dir.mkdir(parents=True, exist_ok=True)

    @property
    def proxy_address(self) -> str:
        return f"127.0.0.1:{self.proxy_port}"

    @property
    def local_proxy_address(self) -> str:
        """The proxy's local endpoint, where this party's tasks reach it."""
        return f"unix:{self.data_dir.resolve() / 'proxy.sock'}"

    @property
    def config_path(self) -> Path:
        return self.data_dir / self.log_name.replace(".log", ".yaml")

    @property
    def log_path(self) -> Path:
        return self.data_dir / self.log_name

    def write_config(
        self, routes: dict[int, str | list[str]], party_secrets: dict[int, str] | None = None
    ) -> Path:
        self._written = (routes, party_secrets)
        path = self.config_path
        config = {
            "party_id": self.party_id,
            "http_port": self.http_port,
            "grpc_port": self.grpc_port,
            "proxy_port": self.proxy_port,
            "data_dir": str(self.data_dir),
            "routes": {
                party: {"addresses": address} if isinstance(address, list) else {"address": address}
                for party, address in routes.items()
            },
            "party_secrets": party_secrets or {},
            "test_components": True,
            "heartbeat_interval_s": 0.5,
            "heartbeat_timeout_s": 5.0,
            **self.settings,
        }
        path.write_text(yaml.safe_dump(config))
        return path

    def start(self, timeout: float = 30) -> None:
        self.launch()
        self.wait_serving(timeout)

    def launch(self) -> None:
        """Start the process, without waiting for it to serve."""
        log = open(self.log_path, "ab")  # noqa: SIM115 - the process owns it
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "fateflow_grpc",
                self.command[0],
                "--config",
                str(self.config_path),
                *self.command[1:],
            ],
            stdout=log,
            stderr=log,
        )

    def wait_serving(self, timeout: float = 30) -> None:
        wait_for(self._serving, timeout, f"party {self.party_id} to start ({self.log_path})")

    def _serving(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"party {self.party_id} exited: see {self.log_path}")
        # The proxy's local endpoint, not its public port: that one may require a certificate.
        core = [] if self.command[0] == "proxy" else [f"127.0.0.1:{self.grpc_port}"]
        for address in (*core, self.local_proxy_address):
            try:
                with grpc.insecure_channel(address) as channel:
                    health_pb2_grpc.HealthStub(channel).Check(
                        health_pb2.HealthCheckRequest(), timeout=1
                    )
            except grpc.RpcError:
                return False
        if not core:
            return True
        # The gateway starts last; tests upload through it right away.
        try:
            socket.create_connection(("127.0.0.1", self.http_port), timeout=1).close()
        except OSError:
            return False
        return True

    def restart(self) -> None:
        """Stop, write the config again (with the settings as they are now), start."""
        self.stop()
        self.write_config(*self._written)
        self.start()

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def kill_with_its_processes(self) -> list[psutil.Process]:
        """SIGKILL the node and wait until every process it had started (its forkserver, its
        task workers) has ended too, without its help; returns them."""
        assert self.process is not None
        started = psutil.Process(self.process.pid).children(recursive=True)
        self.kill()
        wait_for(lambda: not any(map(_alive, started)), 30, "the node's processes to end")
        return started

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def channel(self) -> grpc.Channel:
        return grpc.insecure_channel(f"127.0.0.1:{self.grpc_port}")

    def jobs(self) -> job_service_pb2_grpc.JobServiceStub:
        return job_service_pb2_grpc.JobServiceStub(self.channel())


def _alive(process: psutil.Process) -> bool:
    """Running, and not a zombie waiting to be reaped (it runs nothing)."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def start_parties(
    base: Path, party_ids: list[int], settings: dict[int, dict[str, Any]] | None = None
) -> dict[int, NodeProcess]:
    nodes = {p: NodeProcess(p, base / str(p), (settings or {}).get(p, {})) for p in party_ids}
    # One secret per pair of parties, known to both: their proxies prove their party with it.
    shared = {frozenset(pair): secrets.token_hex(16) for pair in itertools.combinations(nodes, 2)}
    for node in nodes.values():
        others = [p for p in nodes if p != node.party_id]
        node.write_config(
            {p: nodes[p].proxy_address for p in others},
            {p: shared[frozenset((p, node.party_id))] for p in others},
        )
    for node in nodes.values():
        node.start()
    return nodes


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: FATE's end statuses.
FINAL = frozenset({"success", "failed", "canceled", "timeout"})


def two_party_example(name: str, version: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """An example job's DSL and conf for two nodes, guest 9999 and host 10000: the host plays
    the arbiter too, as in FATE's own examples (ours give the arbiter a party of its own)."""
    dsl: dict[str, Any] = json.loads((EXAMPLES / name / f"dsl_v{version}.json").read_text())
    conf: dict[str, Any] = json.loads((EXAMPLES / name / f"conf_v{version}.json").read_text())
    conf["role"]["arbiter"] = [10000]
    return dsl, conf


async def _upload(node: NodeProcess, table: str, csv: Path | None) -> dict[str, Any]:
    path = EXAMPLES / "data" / f"{table}.csv" if csv is None else csv
    query = {
        "file": path.name,
        "head": "1",
        "partition": "4",
        "work_mode": "1",
        "namespace": "experiment",
        "table_name": table,
        "drop": "1",
    }
    form = aiohttp.FormData()
    form.add_field(
        "file", path.open("rb"), filename=path.name, content_type="application/octet-stream"
    )
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"http://127.0.0.1:{node.http_port}/v1/data/upload", params=query, data=form
        ) as response,
    ):
        answer: dict[str, Any] = await response.json()
        return answer


def upload(node: NodeProcess, table: str, csv: Path | None = None) -> None:
    """Upload a CSV (an example table by default) into experiment.<table> through the gateway,
    as FATE's client does, and wait for the upload job to succeed."""
    answer = asyncio.run(_upload(node, table, csv))
    assert answer["retcode"] == 0, answer
    job_id = answer["jobId"]

    def done() -> bool:
        rows = (
            node.jobs().QueryJob(pb.QueryJobRequest(job_id=job_id, role="local", party_id=0)).data
        )
        return bool(rows) and rows[0].f_status in FINAL

    wait_for(done, 60, f"the upload of {table}")
    (row,) = node.jobs().QueryJob(pb.QueryJobRequest(job_id=job_id, role="local", party_id=0)).data
    assert row.f_status == "success"
