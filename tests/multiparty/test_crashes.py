"""Nodes SIGKILLed mid-job: their task processes die with them, no job is lost (a restarted
party's components run again, at every party, as new task versions), no party is left running.
The figures of docs/reliability.md come from these tests."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pytest

from fateflow.v1 import job_service_pb2 as pb
from tests.multiparty.cluster import NodeProcess, start_parties, upload, wait_for
from tests.multiparty.test_scheduling import (
    FINAL,
    GUEST,
    HOST,
    chain,
    conf_v2,
    statuses,
    submit,
    wait_final,
)


class Watcher:
    """Polls every party's job rows and keeps each row's sequence of statuses."""

    def __init__(self, parties: dict[int, NodeProcess], job_id: str) -> None:
        self.parties, self.job_id = parties, job_id
        self.seen: dict[tuple[int, str], list[str]] = {}
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()

    def _poll(self) -> None:
        while not self.stopped.is_set():
            for party, node in self.parties.items():
                try:
                    rows = statuses(node, self.job_id)
                except grpc.RpcError:
                    continue  # that node is down right now
                for role, status in rows.items():
                    history = self.seen.setdefault((party, role), [])
                    if not history or history[-1] != status:
                        history.append(status)
            time.sleep(0.05)

    def stop(self) -> dict[tuple[int, str], list[str]]:
        self.stopped.set()
        self.thread.join()
        return self.seen


def assert_no_forbidden_transition(seen: dict[tuple[int, str], list[str]]) -> None:
    for row, history in seen.items():
        for before, after in itertools.pairwise(history):
            assert before not in FINAL, f"{row} left the end status {before} for {after}: {history}"
            assert not (before == "running" and after in ("waiting", "ready")), f"{row}: {history}"


@pytest.fixture
def parties(tmp_path: Path) -> Iterator[dict[int, NodeProcess]]:
    nodes = start_parties(tmp_path, [GUEST, HOST])
    yield nodes
    for node in nodes.values():
        node.stop()


def test_participant_killed_mid_job_without_retries_ends_the_job_everywhere(
    parties: dict[int, NodeProcess],
) -> None:
    conf = conf_v2(common={"noop_0": {"sleep_seconds": 30}}, job={"auto_retries": 0})
    job_id = submit(parties[GUEST], chain(2), conf)
    watcher = Watcher(parties, job_id)
    # Its task, not only its job: a job the host marked running may not have started everywhere
    # yet, and a job that has not started waits for a party that is down.
    wait_for(lambda: in_a_worker(parties[HOST], job_id, "noop_0"), 90, "noop_0 to run at the host")
    parties[HOST].kill()
    # Silent for the heartbeat timeout (5 s in these clusters), its task is lost; no retry.
    wait_for(
        lambda: statuses(parties[GUEST], job_id)["guest"] in FINAL, 60, "the guest to end the job"
    )
    assert statuses(parties[GUEST], job_id) == {"guest": "failed"}
    parties[HOST].start()
    wait_for(
        lambda: set(statuses(parties[HOST], job_id).values()) <= FINAL, 90, "the host to catch up"
    )
    assert statuses(parties[HOST], job_id) == {"host": "failed", "arbiter": "failed"}
    assert_no_forbidden_transition(watcher.stop())


def in_a_worker(node: NodeProcess, job_id: str, component: str) -> bool:
    """Whether the host's first version of the component runs in a worker: a task is `running`
    as soon as its party has it, and in a worker once a replica has claimed it, just after."""
    rows = node.jobs().QueryTask(pb.QueryTaskRequest(job_id=job_id, component_name=component))
    return any(
        row.f_role == "host"
        and row.f_task_version == 0
        and row.f_party_status == "running"
        and row.f_run_pid
        for row in rows.data
    )


def task_status(node: NodeProcess, job_id: str, component: str) -> dict[tuple[str, int], str]:
    """(role, version) -> party status of a component's tasks at that node."""
    rows = node.jobs().QueryTask(pb.QueryTaskRequest(job_id=job_id, component_name=component))
    return {(row.f_role, row.f_task_version): row.f_party_status for row in rows.data}


@pytest.mark.slow
def test_a_participant_killed_mid_task_reruns_it_when_back(parties: dict[int, NodeProcess]) -> None:
    conf = conf_v2(common={"noop_0": {"sleep_seconds": 5}}, job={"auto_retry_delay": 0})
    job_id = submit(parties[GUEST], chain(2), conf)
    watcher = Watcher(parties, job_id)
    wait_for(lambda: in_a_worker(parties[HOST], job_id, "noop_0"), 90, "noop_0 to run at the host")
    killed = time.monotonic()
    parties[HOST].kill_with_its_processes()  # the worker running noop_0 among them
    parties[HOST].start()
    assert wait_final(parties, job_id, timeout=90) == {
        GUEST: {"guest": "success"},
        HOST: {"host": "success", "arbiter": "success"},
    }
    at_host = task_status(parties[HOST], job_id, "noop_0")
    assert at_host[("host", 0)] == "failed" and at_host[("host", 1)] == "success"
    schedule = parties[GUEST].data_dir / "logs" / job_id / "fate_flow_schedule.log"
    assert "noop_0 version 0 ended" in schedule.read_text()
    assert_no_forbidden_transition(watcher.stop())
    print(
        f"\nhost killed during a 5 s task: the job succeeded {time.monotonic() - killed:.1f} s later"
    )


@pytest.mark.slow
def test_a_failed_job_reruns_from_what_did_not_succeed(parties: dict[int, NodeProcess]) -> None:
    """No retries: the host's crash fails the job. Once the host is back, fateflow-client's
    rerun_job (FATE 1.6+'s /v1/job/rerun) runs it again from the component that failed."""
    conf = conf_v2(common={"noop_1": {"sleep_seconds": 5}}, job={"auto_retries": 0})
    job_id = submit(parties[GUEST], chain(3), conf)
    wait_for(lambda: in_a_worker(parties[HOST], job_id, "noop_1"), 90, "noop_1 to run at the host")
    parties[HOST].kill_with_its_processes()
    wait_for(lambda: statuses(parties[GUEST], job_id)["guest"] == "failed", 60, "the job to fail")
    parties[HOST].start()
    wait_final(parties, job_id)
    answers = []

    def rerun() -> bool:
        answers.append(client(parties[GUEST], "-f", "rerun_job", "-j", job_id))
        return answers[-1]["retcode"] != 104  # 104: the host is not reached yet

    rerun_at = time.monotonic()
    wait_for(rerun, 30, "the rerun to reach every party")
    assert answers[-1] == {
        "retcode": 0,
        "retmsg": "rerun job success",
        "data": ["noop_1", "noop_2"],
    }
    assert wait_final(parties, job_id, timeout=120) == {
        GUEST: {"guest": "success"},
        HOST: {"host": "success", "arbiter": "success"},
    }
    at_host = {c: task_status(parties[HOST], job_id, c) for c in ("noop_0", "noop_1", "noop_2")}
    assert at_host["noop_0"] == {("host", 0): "success", ("arbiter", 0): "success"}
    assert at_host["noop_1"][("host", 1)] == at_host["noop_2"][("host", 1)] == "success"
    print(f"\nrerun_job after the host's crash: success {time.monotonic() - rerun_at:.1f} s later")
    again = client(parties[GUEST], "-f", "rerun_job", "-j", job_id)
    assert again["retcode"] == 103 and "succeeded" in again["retmsg"]


def client(node: NodeProcess, *args: str) -> dict[str, Any]:
    """fateflow-client's answer, as it prints it."""
    done = subprocess.run(
        [sys.executable, "-m", "fateflow_grpc.client_cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "FATEFLOW_ADDRESS": f"http://127.0.0.1:{node.http_port}"},
    )
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def test_initiator_killed_mid_job_resumes_after_restart(parties: dict[int, NodeProcess]) -> None:
    job_id = submit(parties[GUEST], chain(3), conf_v2(common={"noop_1": {"sleep_seconds": 3}}))
    watcher = Watcher(parties, job_id)

    def noop_1_running() -> bool:
        rows = parties[GUEST].jobs().QueryTask(pb.QueryTaskRequest(job_id=job_id)).data
        return any(r.f_component_name == "noop_1" and r.f_party_status == "running" for r in rows)

    wait_for(noop_1_running, 30, "noop_1 to run")
    killed = time.monotonic()
    parties[GUEST].kill_with_its_processes()
    parties[GUEST].start()
    wait_for(
        lambda: all(set(statuses(n, job_id).values()) <= FINAL for n in parties.values()),
        60,
        "the job to end everywhere",
    )
    assert statuses(parties[GUEST], job_id) == {"guest": "success"}
    assert statuses(parties[HOST], job_id) == {"host": "success", "arbiter": "success"}
    tasks = parties[HOST].jobs().QueryTask(pb.QueryTaskRequest(job_id=job_id)).data
    versions = {
        (t.f_component_name, t.f_task_version) for t in tasks if t.f_party_status == "success"
    }
    # noop_0 had finished: it kept its result. noop_1 ran again, as version 1.
    assert ("noop_0", 0) in versions and ("noop_1", 1) in versions and ("noop_2", 0) in versions
    assert_no_forbidden_transition(watcher.stop())
    print(
        f"\nguest killed during a 3 s task: the job succeeded {time.monotonic() - killed:.1f} s later"
    )


def test_jobs_over_the_limit_wait_in_fifo_order(tmp_path: Path) -> None:
    nodes = start_parties(tmp_path, [GUEST, HOST], {HOST: {"max_running_jobs": 1}})
    try:
        slow = conf_v2(common={"noop_0": {"sleep_seconds": 3}})
        first, second, third = (submit(nodes[GUEST], chain(1), slow) for _ in range(3))
        # Generous: on a loaded 2-core machine the first start can take a while.
        wait_for(lambda: statuses(nodes[GUEST], first)["guest"] == "running", 90, "the first job")
        assert statuses(nodes[GUEST], second)["guest"] == "waiting"
        assert statuses(nodes[GUEST], third)["guest"] == "waiting"
        wait_for(
            lambda: statuses(nodes[GUEST], third)["guest"] in FINAL, 60, "the third job to end"
        )
        rows = {
            job: nodes[HOST].jobs().QueryJob(pb.QueryJobRequest(job_id=job, role="host")).data[0]
            for job in (first, second, third)
        }
        assert all(row.f_status == "success" for row in rows.values())
        assert rows[first].f_end_time <= rows[second].f_start_time
        assert rows[second].f_end_time <= rows[third].f_start_time
    finally:
        for node in nodes.values():
            node.stop()


def test_jobs_submitted_at_once_all_run(tmp_path: Path) -> None:
    """Submitted from many threads, a job's slots used to be reserved before every party had
    the job: the reservation broke off holding a slot, and the queue stopped for good."""
    nodes = start_parties(tmp_path, [GUEST, HOST])
    try:
        with ThreadPoolExecutor(8) as pool:
            many = list(pool.map(lambda _: submit(nodes[GUEST], chain(1), conf_v2()), range(50)))
        wait_for(
            lambda: all(statuses(nodes[GUEST], job)["guest"] in FINAL for job in many),
            180,
            "every job to end",
        )
        assert {statuses(nodes[GUEST], job)["guest"] for job in many} == {"success"}
    finally:
        for node in nodes.values():
            node.stop()


# --- a real HeteroLR job, each of its three parties killed in turn ------------------------------

ARBITER = 10001
THREE = {GUEST: "guest", HOST: "host", ARBITER: "arbiter"}


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[int, NodeProcess]]:
    """Guest, host and a separate arbiter, each its own node; the breast tables uploaded."""
    nodes = start_parties(tmp_path_factory.mktemp("three"), list(THREE))
    upload(nodes[GUEST], "breast_hetero_guest")
    upload(nodes[HOST], "breast_hetero_host")
    yield nodes
    for node in nodes.values():
        node.stop()


def hetero_lr_job() -> tuple[dict[str, Any], dict[str, Any]]:
    """Reader, DataTransform, Intersection, HeteroLR (a few iterations, FATE's shortest key)."""
    components: dict[str, Any] = {
        "reader_0": {"module": "Reader", "output": {"data": ["data"]}},
        "data_transform_0": {
            "module": "DataTransform",
            "input": {"data": {"data": ["reader_0.data"]}},
            "output": {"data": ["data"], "model": ["model"]},
        },
        "intersection_0": {
            "module": "Intersection",
            "input": {"data": {"data": ["data_transform_0.data"]}},
            "output": {"data": ["data"]},
        },
        "hetero_lr_0": {
            "module": "HeteroLR",
            "input": {"data": {"train_data": ["intersection_0.data"]}},
            "output": {"data": ["data"], "model": ["model"]},
        },
    }

    def table(name: str) -> dict[str, Any]:
        return {"reader_0": {"table": {"name": name, "namespace": "experiment"}}}

    conf = {
        "dsl_version": 2,
        "initiator": {"role": "guest", "party_id": GUEST},
        "role": {"guest": [GUEST], "host": [HOST], "arbiter": [ARBITER]},
        "job_parameters": {"common": {"work_mode": 1, "auto_retry_delay": 0}},
        "component_parameters": {
            "common": {
                "hetero_lr_0": {
                    "max_iter": 4,
                    "early_stop": "diff",
                    "tol": 1e-12,
                    "encrypt_param": {"key_length": 1024},
                }
            },
            "role": {
                "guest": {
                    "0": {
                        **table("breast_hetero_guest"),
                        "data_transform_0": {"with_label": True, "label_name": "y"},
                    }
                },
                "host": {
                    "0": {**table("breast_hetero_host"), "data_transform_0": {"with_label": False}}
                },
            },
        },
    }
    return {"components": components}, conf


@pytest.mark.slow
@pytest.mark.parametrize("victim", [HOST, ARBITER, GUEST], ids=["host", "arbiter", "guest"])
def test_a_party_killed_during_hetero_lr_and_restarted_loses_nothing(
    three: dict[int, NodeProcess], victim: int
) -> None:
    dsl, conf = hetero_lr_job()
    job_id = submit(three[GUEST], dsl, conf)
    role = THREE[victim]
    log = three[ARBITER].data_dir / "logs" / job_id / "arbiter" / str(ARBITER) / "hetero_lr_0"

    def training() -> bool:
        return (log / "INFO.log").exists() and "iteration 0" in (log / "INFO.log").read_text()

    wait_for(training, 120, "HeteroLR's first iteration")
    assert task_status(three[victim], job_id, "hetero_lr_0")[(role, 0)] == "running"
    killed = time.monotonic()
    three[victim].kill_with_its_processes()
    three[victim].start()
    final = wait_final(three, job_id, timeout=300)
    recovered = time.monotonic() - killed
    assert final == {party: {r: "success"} for party, r in THREE.items()}
    for party, r in THREE.items():
        versions = task_status(three[party], job_id, "hetero_lr_0")
        assert versions[(r, max(v for _, v in versions))] == "success"
        assert max(v for _, v in versions) >= 1, f"hetero_lr_0 did not run again at {r}"
    print(f"\n{role} killed during HeteroLR: the job succeeded {recovered:.1f} s after the kill")
