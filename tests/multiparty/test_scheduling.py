"""Jobs across guest 9999, host 10000 and arbiter 10000, each party its own node process, every
call through the parties' proxies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import struct_pb2

from fateflow.v1 import job_service_pb2 as pb
from tests.multiparty.cluster import FINAL, NodeProcess, start_parties, wait_for

GUEST, HOST = 9999, 10000
ROLES = {"guest": [GUEST], "host": [HOST], "arbiter": [HOST]}


def chain(length: int) -> dict[str, Any]:
    components: dict[str, Any] = {}
    for index in range(length):
        component: dict[str, Any] = {"module": "Noop", "output": {"data": ["data"]}}
        if index:
            component["input"] = {"data": {"data": [f"noop_{index - 1}.data"]}}
        components[f"noop_{index}"] = component
    return {"components": components}


def conf_v2(
    common: dict[str, Any] | None = None,
    host: dict[str, Any] | None = None,
    job: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "dsl_version": 2,
        "initiator": {"role": "guest", "party_id": GUEST},
        "role": ROLES,
        "job_parameters": {"common": {"work_mode": 1, **(job or {})}},
        "component_parameters": {
            "common": common or {},
            "role": {"host": {"0": host or {}}},
        },
    }


def struct(value: dict[str, Any]) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    result.update(value)
    return result


@pytest.fixture(scope="module")
def parties(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[int, NodeProcess]]:
    nodes = start_parties(tmp_path_factory.mktemp("parties"), [GUEST, HOST])
    yield nodes
    for node in nodes.values():
        node.stop()


def submit(node: NodeProcess, dsl: dict[str, Any], conf: dict[str, Any]) -> str:
    response = node.jobs().SubmitJob(
        pb.SubmitJobRequest(job_dsl=struct(dsl), job_runtime_conf=struct(conf))
    )
    return str(response.job_id)


def statuses(node: NodeProcess, job_id: str) -> dict[str, str]:
    rows = node.jobs().QueryJob(pb.QueryJobRequest(job_id=job_id)).data
    return {row.f_role: row.f_status for row in rows}


def wait_final(
    parties: dict[int, NodeProcess], job_id: str, timeout: float = 60
) -> dict[int, dict[str, str]]:
    def ended() -> bool:
        return all(set(statuses(node, job_id).values()) <= FINAL for node in parties.values())

    wait_for(ended, timeout, f"job {job_id} to end everywhere")
    return {party: statuses(node, job_id) for party, node in parties.items()}


def test_v2_job_runs_to_success_everywhere(parties: dict[int, NodeProcess]) -> None:
    job_id = submit(parties[GUEST], chain(3), conf_v2())
    assert set(statuses(parties[GUEST], job_id)) == {"guest"}  # queryable as soon as submitted
    assert wait_final(parties, job_id) == {
        GUEST: {"guest": "success"},
        HOST: {"host": "success", "arbiter": "success"},
    }
    tasks = parties[HOST].jobs().QueryTask(pb.QueryTaskRequest(job_id=job_id)).data
    assert {(t.f_role, t.f_component_name, t.f_party_status) for t in tasks} == {
        (role, f"noop_{i}", "success") for role in ("host", "arbiter") for i in range(3)
    }
    (guest,) = parties[GUEST].jobs().QueryJob(pb.QueryJobRequest(job_id=job_id)).data
    assert guest.f_progress == 100
    assert guest.HasField("f_end_time") and guest.f_elapsed >= 0
    log = parties[HOST].data_dir / "logs" / job_id / "arbiter" / str(HOST) / "noop_2" / "INFO.log"
    assert "noop done" in log.read_text()


def test_v1_job_runs_to_success_everywhere(parties: dict[int, NodeProcess]) -> None:
    conf = {
        "initiator": {"role": "guest", "party_id": GUEST},
        "job_parameters": {"work_mode": 1},
        "role": ROLES,
        "role_parameters": {
            "guest": {"args": {"data": {"train_data": [{"name": "t", "namespace": "n"}]}}},
            "host": {"args": {"data": {"train_data": [{"name": "t", "namespace": "n"}]}}},
            "arbiter": {"args": {"data": {"train_data": [{"name": "t", "namespace": "n"}]}}},
        },
        "algorithm_parameters": {"noop_1": {"sleep_seconds": 0.1}},
    }
    job_id = submit(parties[GUEST], chain(2), conf)
    assert wait_final(parties, job_id) == {
        GUEST: {"guest": "success"},
        HOST: {"host": "success", "arbiter": "success"},
    }


def test_failing_task_fails_the_job_everywhere(parties: dict[int, NodeProcess]) -> None:
    job_id = submit(parties[GUEST], chain(3), conf_v2(host={"noop_1": {"fail": True}}))
    final = wait_final(parties, job_id)
    assert final == {GUEST: {"guest": "failed"}, HOST: {"host": "failed", "arbiter": "failed"}}
    tasks = (
        parties[HOST]
        .jobs()
        .QueryTask(pb.QueryTaskRequest(job_id=job_id, component_name="noop_2"))
        .data
    )
    assert {t.f_party_status for t in tasks} == {"canceled"}


def test_crashing_task_fails_the_job_everywhere(parties: dict[int, NodeProcess]) -> None:
    job_id = submit(parties[GUEST], chain(2), conf_v2(host={"noop_0": {"crash": True}}))
    assert wait_final(parties, job_id)[GUEST] == {"guest": "failed"}
    assert set(statuses(parties[HOST], job_id).values()) == {"failed"}


def test_stop_cancels_everywhere_and_ends_task_processes(parties: dict[int, NodeProcess]) -> None:
    job_id = submit(parties[GUEST], chain(2), conf_v2(common={"noop_0": {"sleep_seconds": 60}}))

    def running_pids() -> list[int]:
        rows = parties[HOST].jobs().QueryTask(pb.QueryTaskRequest(job_id=job_id)).data
        return [row.f_run_pid for row in rows if row.f_party_status == "running" and row.f_run_pid]

    wait_for(lambda: len(running_pids()) == 2, 30, "the host's tasks to run")
    pids = running_pids()
    parties[GUEST].jobs().StopJob(pb.StopJobRequest(job_id=job_id))
    final = wait_final(parties, job_id, timeout=30)
    assert final == {
        GUEST: {"guest": "canceled"},
        HOST: {"host": "canceled", "arbiter": "canceled"},
    }
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    # The initiator's rows of every party's tasks end too, so the whole job can be cleaned.
    rows = parties[GUEST].jobs().QueryTask(pb.QueryTaskRequest(job_id=job_id)).data
    assert {(row.f_party_status, row.f_status) for row in rows} <= {
        ("canceled", "canceled"),
        ("success", "success"),
    }, rows
    parties[GUEST].jobs().CleanJob(pb.CleanJobRequest(job_id=job_id))


def test_timeout_ends_the_job_as_timeout(parties: dict[int, NodeProcess]) -> None:
    job_id = submit(
        parties[GUEST],
        chain(1),
        conf_v2(common={"noop_0": {"sleep_seconds": 60}}, job={"timeout": 1}),
    )
    assert wait_final(parties, job_id, timeout=30) == {
        GUEST: {"guest": "timeout"},
        HOST: {"host": "timeout", "arbiter": "timeout"},
    }


@pytest.mark.parametrize(
    ("dsl", "conf", "words"),
    [
        ({"components": {"x_0": {"module": "Nope"}}}, conf_v2(), "Nope"),
        (chain(1), {**conf_v2(), "role": {**ROLES, "host": [10001]}}, "10001"),
        (chain(1), {**conf_v2(), "role": {"guest": [GUEST], "host": []}}, "host"),
        (
            {
                "components": {
                    "noop_0": {"module": "Noop", "input": {"data": {"data": ["noop_1.data"]}}},
                    "noop_1": {"module": "Noop", "input": {"data": {"data": ["noop_0.data"]}}},
                }
            },
            conf_v2(),
            "noop_0",
        ),
        (chain(1), conf_v2(common={"noop_0": {"speed": 3}}), "speed"),
    ],
    ids=["unknown-module", "party-without-route", "role-without-parties", "cycle", "unknown-key"],
)
def test_invalid_jobs_are_refused_before_anything_is_created(
    parties: dict[int, NodeProcess], dsl: dict[str, Any], conf: dict[str, Any], words: str
) -> None:
    before = len(parties[GUEST].jobs().ListJobs(pb.ListJobsRequest()).data)
    with pytest.raises(grpc.RpcError) as caught:
        submit(parties[GUEST], dsl, conf)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert words in caught.value.details()
    assert len(parties[GUEST].jobs().ListJobs(pb.ListJobsRequest()).data) == before


def test_party_that_refuses_fails_the_submission_cleanly(tmp_path: Path) -> None:
    """The host does not accept the test module: the guest's job is failed, nothing runs."""
    nodes = start_parties(tmp_path, [GUEST, HOST], {HOST: {"test_components": False}})
    try:
        with pytest.raises(grpc.RpcError) as caught:
            submit(nodes[GUEST], chain(1), conf_v2())
        assert "party 10000" in caught.value.details()
        rows = nodes[GUEST].jobs().ListJobs(pb.ListJobsRequest()).data
        assert [row.f_status for row in rows] == ["failed"]
        assert not nodes[HOST].jobs().ListJobs(pb.ListJobsRequest()).data
    finally:
        for node in nodes.values():
            node.stop()


def client(node: NodeProcess, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "fateflow_grpc.client_cli",
            "--address",
            f"http://127.0.0.1:{node.http_port}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def test_the_client_submits_follows_and_downloads_a_job(
    parties: dict[int, NodeProcess], tmp_path: Path
) -> None:
    (tmp_path / "dsl.json").write_text(json.dumps(chain(2)))
    (tmp_path / "conf.json").write_text(json.dumps(conf_v2()))
    submitted = client(
        parties[GUEST],
        "-f",
        "submit_job",
        "-c",
        str(tmp_path / "conf.json"),
        "-d",
        str(tmp_path / "dsl.json"),
    )
    assert submitted["retcode"] == 0, submitted
    job_id = submitted["jobId"]
    assert submitted["data"]["model_info"]["model_version"] == job_id
    assert (
        submitted["data"]["model_info"]["model_id"] == "arbiter-10000#guest-9999#host-10000#model"
    )
    assert f"job_id={job_id}" in submitted["data"]["board_url"]
    wait_final(parties, job_id)

    (row,) = client(parties[GUEST], "-f", "query_job", "-j", job_id)["data"]
    assert row["f_status"] == "success" and "f_dsl" not in row and "f_runtime_conf" not in row
    tasks = client(parties[GUEST], "-f", "query_task", "-j", job_id, "-r", "host")["data"]
    assert {t["f_component_name"] for t in tasks} == {"noop_0", "noop_1"}

    config = client(
        parties[GUEST],
        "-f",
        "job_config",
        "-j",
        job_id,
        "-r",
        "guest",
        "-p",
        str(GUEST),
        "-o",
        str(tmp_path),
    )
    directory = tmp_path / f"job_{job_id}_config"
    assert config["directory"] == str(directory)
    assert json.loads((directory / "dsl.json").read_text()) == chain(2)
    assert json.loads((directory / "model_info.json").read_text())["model_version"] == job_id

    logs = client(parties[HOST], "-f", "job_log", "-j", job_id, "-o", str(tmp_path))
    assert logs["retcode"] == 0, logs
    assert (
        "noop done"
        in (Path(logs["directory"]) / "host" / str(HOST) / "noop_1" / "INFO.log").read_text()
    )

    stop = client(parties[GUEST], "-f", "stop_job", "-j", job_id)
    assert stop["retcode"] == 103 and "already ended" in stop["retmsg"]


def test_the_client_names_what_submit_needs(
    parties: dict[int, NodeProcess], tmp_path: Path
) -> None:
    (tmp_path / "conf.json").write_text(json.dumps(conf_v2()))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "fateflow_grpc.client_cli",
            "-f",
            "submit_job",
            "-c",
            str(tmp_path / "conf.json"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "-d (dsl)" in done.stderr
