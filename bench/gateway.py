"""What the HTTP gateway adds to `/v1/job/query`, against the same `QueryJob` RPC called directly.

    python bench/gateway.py [--requests 2000] [--concurrency 16]

Starts the real core (`python -m fateflow_grpc core`, on a free port, over a fresh SQLite
database holding some job rows) and the gateway (`python -m gateway --port 0`) as subprocesses,
then measures from this process:

- the gateway, sequentially, with a keep-alive HTTP/1.1 client (http.client: synchronous, like
  the gRPC stub it is compared with), and concurrently with aiohttp's client;
- the core, sequentially, with a synchronous gRPC stub.

The sequential runs alternate in rounds, so that a machine that slows down or speeds up during
the run weighs on both. Prints a table, then one JSON line of the figures. A figure is never a
failure: the exit status says only whether the measurement could run.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import aiohttp
import grpc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fateflow.v1 import job_service_pb2, job_service_pb2_grpc  # noqa: E402

JOB_ID = "202401010000000000100"
QUERY = {"job_id": JOB_ID, "role": "guest", "party_id": "9999"}
ROUNDS = 4
#: No phase runs longer than this, whatever the machine.
PHASE_SECONDS = 8.0


def insert_jobs(database_url: str, count: int) -> bool:
    """Job rows for the core to find, written before it starts; False if storage is not there."""
    try:
        from fateflow_grpc.storage import jobs
        from fateflow_grpc.storage.database import create_database
        from fateflow_grpc.storage.models import Job
    except ImportError as error:
        print(f"storage not available ({error}); querying a job id with no rows")
        return False
    database = create_database(database_url)
    try:
        with database.session() as session:
            for n in range(count):
                jobs.create_job(
                    session,
                    Job(
                        f_job_id=f"2024010100000000{n:05d}",
                        f_role="guest",
                        f_party_id="9999",
                        f_initiator_role="guest",
                        f_initiator_party_id="9999",
                        f_status="success",  # ended: a starting core leaves it alone
                        f_is_initiator=True,
                        f_progress=100,
                        f_roles={"guest": [9999], "host": [10000], "arbiter": [10000]},
                        f_dsl={"components": {"reader_0": {"module": "Reader"}}},
                        f_runtime_conf={"initiator": {"role": "guest", "party_id": 9999}},
                    ),
                )
    finally:
        database.dispose()
    return True


def start(stack: ExitStack, args: list[str], ready: str, stream: str) -> tuple[re.Match[str], int]:
    """Start a subprocess; wait (30 s at most) for a line of `stream` matching `ready`.

    Returns the match and the process id.
    """
    process = subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE if stream == "stdout" else subprocess.DEVNULL,
        stderr=subprocess.PIPE if stream == "stderr" else subprocess.DEVNULL,
        text=True,
    )
    stack.callback(_stop, process)
    pipe = process.stdout if stream == "stdout" else process.stderr
    assert pipe is not None
    seen = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = pipe.readline()
        if not line:
            break
        seen.append(line)
        if match := re.search(ready, line):
            # Keep draining the pipe, so that a chatty process never blocks on it.
            threading.Thread(target=pipe.read, daemon=True).start()
            return match, process.pid
    raise SystemExit(f"{' '.join(args)} did not start:\n{''.join(seen[-20:])}")


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


def cpu_seconds(pid: int) -> float | None:
    """CPU time a process has used (Linux); None where /proc cannot tell."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(call: Callable[[], Any], count: int) -> list[float]:
    latencies = []
    deadline = time.perf_counter() + PHASE_SECONDS / ROUNDS
    for _ in range(count):
        began = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - began)
        if began > deadline:
            break
    return latencies


async def concurrent(url: str, concurrency: int, count: int) -> tuple[float, list[float]]:
    """Requests/s and latencies of `count` requests sent by `concurrency` workers."""
    body = json.dumps(QUERY).encode()
    headers = {"Content-Type": "application/json"}
    latencies: list[float] = []
    remaining = concurrency * 20  # the warm-up
    deadline = time.perf_counter() + PHASE_SECONDS

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal remaining
        while remaining > 0 and time.perf_counter() < deadline:
            remaining -= 1
            began = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
            latencies.append(time.perf_counter() - began)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))  # warm-up
        remaining, latencies, began = count, [], time.perf_counter()
        deadline = began + PHASE_SECONDS
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    return len(latencies) / elapsed, latencies


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(fraction * len(ordered)), len(ordered) - 1)] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="per sequential run")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--jobs", type=int, default=200, help="job rows to insert")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        data_dir = Path(tmp) / "node"
        data_dir.mkdir()
        rows = insert_jobs(f"sqlite:///{data_dir / 'fateflow.db'}", args.jobs)
        config = Path(tmp) / "node.yaml"
        config.write_text(f"grpc_port: 0\ndata_dir: {data_dir}\nworkers: 1\n")
        core_ready, _ = start(
            stack,
            ["-m", "fateflow_grpc", "core", "--config", str(config)],
            r"gRPC core on \S+:(\d+)",
            "stderr",
        )
        core_port = core_ready.group(1)
        core = f"127.0.0.1:{core_port}"
        gateway_ready, gateway_pid = start(
            stack,
            ["-m", "gateway", "--core", core, "--port", "0", "--log-level", "WARNING"],
            r"listening on http://\S+:(\d+)",
            "stdout",
        )
        gateway_port = gateway_ready.group(1)

        connection = http.client.HTTPConnection("127.0.0.1", int(gateway_port))
        body = json.dumps(QUERY).encode()
        headers = {"Content-Type": "application/json"}

        def via_gateway() -> Any:
            connection.request("POST", "/v1/job/query", body=body, headers=headers)
            return json.loads(connection.getresponse().read())

        channel = stack.enter_context(grpc.insecure_channel(core))
        stub = job_service_pb2_grpc.JobServiceStub(channel)
        request = job_service_pb2.QueryJobRequest(job_id=JOB_ID, role="guest", party_id=9999)

        def via_grpc() -> Any:
            return stub.QueryJob(request)

        answer = via_gateway()
        direct = via_grpc()
        if answer.get("retcode") != 0:
            raise SystemExit(f"the gateway answered {answer}")
        found = len(answer.get("data", []))
        assert found == len(direct.data)

        per_round = max(args.requests // ROUNDS, 1)
        timed(via_gateway, 300)  # warm-up
        timed(via_grpc, 300)
        gateway_latencies: list[float] = []
        grpc_latencies: list[float] = []
        began = time.perf_counter()
        gateway_cpu: float | None = 0.0
        for _ in range(ROUNDS):
            cpu_before = cpu_seconds(gateway_pid)
            gateway_latencies += timed(via_gateway, per_round)
            cpu_after = cpu_seconds(gateway_pid)
            if gateway_cpu is not None and cpu_before is not None and cpu_after is not None:
                gateway_cpu += cpu_after - cpu_before
            else:
                gateway_cpu = None
            grpc_latencies += timed(via_grpc, per_round)
        connection.close()
        concurrent_rps, concurrent_latencies = asyncio.run(
            concurrent(
                f"http://127.0.0.1:{gateway_port}/v1/job/query", args.concurrency, args.requests
            )
        )
        total = time.perf_counter() - began

    figures = {
        "gateway_p50_ms": percentile(gateway_latencies, 0.50),
        "gateway_p99_ms": percentile(gateway_latencies, 0.99),
        "grpc_p50_ms": percentile(grpc_latencies, 0.50),
        "grpc_p99_ms": percentile(grpc_latencies, 0.99),
        "gateway_rps": len(gateway_latencies) / sum(gateway_latencies),
        "grpc_rps": len(grpc_latencies) / sum(grpc_latencies),
        "gateway_concurrent_rps": concurrent_rps,
        "gateway_concurrent_p50_ms": percentile(concurrent_latencies, 0.50),
        "gateway_concurrent_p99_ms": percentile(concurrent_latencies, 0.99),
    }
    if gateway_cpu is not None:
        # What the gateway process itself burns per request, whatever the waits around it.
        figures["gateway_cpu_ms_per_request"] = gateway_cpu / len(gateway_latencies) * 1000
    figures["added_p50_ms"] = figures["gateway_p50_ms"] - figures["grpc_p50_ms"]
    figures["added_p99_ms"] = figures["gateway_p99_ms"] - figures["grpc_p99_ms"]
    figures = {key: round(value, 3) for key, value in figures.items()}

    print(
        f"\nPOST /v1/job/query: {found} row(s) per answer"
        f"{'' if rows else ' (no rows: storage not available)'}; "
        f"{len(gateway_latencies)} + {len(grpc_latencies)} sequential requests, "
        f"{len(concurrent_latencies)} at concurrency {args.concurrency}; "
        f"{os.cpu_count()} CPUs; measured in {total:.1f} s\n"
    )
    print(f"{'path':<34}{'p50 ms':>9}{'p99 ms':>9}{'req/s':>9}")
    for name, prefix in (
        ("HTTP gateway, sequential", "gateway"),
        ("gRPC direct, sequential", "grpc"),
    ):
        print(
            f"{name:<34}{figures[f'{prefix}_p50_ms']:>9.3f}{figures[f'{prefix}_p99_ms']:>9.3f}"
            f"{figures[f'{prefix}_rps']:>9.0f}"
        )
    print(
        f"{f'HTTP gateway, {args.concurrency} concurrent':<34}"
        f"{figures['gateway_concurrent_p50_ms']:>9.3f}{figures['gateway_concurrent_p99_ms']:>9.3f}"
        f"{figures['gateway_concurrent_rps']:>9.0f}"
    )
    print(
        f"\nadded by the gateway: {figures['added_p50_ms']:.3f} ms at p50 "
        f"({figures['gateway_p50_ms'] / figures['grpc_p50_ms']:.2f}x), "
        f"{figures['added_p99_ms']:.3f} ms at p99"
    )
    if "gateway_cpu_ms_per_request" in figures:
        print(f"gateway process CPU: {figures['gateway_cpu_ms_per_request']:.3f} ms per request")
    print()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
