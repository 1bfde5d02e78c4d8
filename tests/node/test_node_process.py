"""`fateflow node` as a real process: core, gateway and proxy on real sockets; and its client."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from fateflow_grpc.client_cli import FUNCTIONS


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def post(url: str, body: object) -> dict[str, object]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        result: dict[str, object] = json.loads(answer.read())
        return result


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, int]]:
    http, grpc_port, proxy = free_ports(3)
    data_dir = tmp_path_factory.mktemp("node")
    config = data_dir / "node.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "party_id": 9999,
                "http_port": http,
                "grpc_port": grpc_port,
                "proxy_port": proxy,
                "data_dir": str(data_dir),
            }
        )
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "fateflow_grpc", "node", "--config", str(config)],
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            post(f"http://127.0.0.1:{http}/v1/job/list/job", {"limit": 1})
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"node did not start: {process.communicate()[1]}")
            time.sleep(0.1)
    yield {"http": http, "grpc": grpc_port, "proxy": proxy}
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0, process.communicate()[1]
    assert (data_dir / "fateflow.db").exists()


def test_gateway_answers_fate_envelope(node: dict[str, int]) -> None:
    answer = post(f"http://127.0.0.1:{node['http']}/v1/job/query", {"job_id": "1"})
    assert answer == {"retcode": 0, "retmsg": "no job could be found", "data": []}


@pytest.mark.parametrize("part", ["grpc", "proxy"])
def test_core_and_proxy_are_serving(node: dict[str, int], part: str) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{node[part]}") as channel:
        answer = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=5
        )
    assert answer.status == health_pb2.HealthCheckResponse.SERVING


def client(node: dict[str, int], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fateflow_grpc.client_cli", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "FATEFLOW_ADDRESS": f"http://127.0.0.1:{node['http']}"},
    )


def test_client_prints_fate_answers(node: dict[str, int]) -> None:
    done = client(node, "-f", "query_job", "-j", "1")
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith("}\n\n")
    assert json.loads(done.stdout) == {"retcode": 0, "retmsg": "no job could be found", "data": []}
    done = client(node, "-f", "table_info", "-n", "experiment", "-t", "missing")
    info = json.loads(done.stdout)
    assert info["retcode"] == 0
    assert info["data"]["count"] == 0 and info["data"]["exist"] is False


def test_client_names_a_missing_flag(node: dict[str, int]) -> None:
    done = client(node, "-f", "table_info", "-n", "experiment")
    assert done.returncode == 2
    assert "-t (table_name)" in done.stderr


def test_client_help_lists_functions() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "fateflow_grpc.client_cli", "--help"], capture_output=True, text=True
    )
    for name, function in FUNCTIONS.items():
        assert name in done.stdout and function.path in done.stdout


def test_client_without_a_node_says_connection_refused(tmp_path: Path) -> None:
    (port,) = free_ports(1)
    done = client({"http": port}, "-f", "query_job", "-j", "1")
    assert json.loads(done.stdout)["retcode"] == 100
    assert "Connection refused" in done.stdout


def test_second_node_on_taken_ports_fails_clearly(node: dict[str, int], tmp_path: Path) -> None:
    config = tmp_path / "node.yaml"
    config.write_text(yaml.safe_dump({"grpc_port": node["grpc"], "data_dir": str(tmp_path)}))
    done = subprocess.run(
        [sys.executable, "-m", "fateflow_grpc", "core", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 1
    assert f"port {node['grpc']} (party 9999's gRPC port) is in use by another program" in (
        done.stderr
    )
