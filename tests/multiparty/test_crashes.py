"""Nodes SIGKILLed mid-job: no party is left running, and a restarted initiator resumes."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest

from fateflow.v1 import job_service_pb2 as pb
from tests.multiparty.cluster import NodeProcess, start_parties, wait_for
from tests.multiparty.test_scheduling import FINAL, GUEST, HOST, chain, conf_v2, statuses, submit


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


def test_participant_killed_mid_job_ends_the_job_everywhere(
    parties: dict[int, NodeProcess],
) -> None:
    job_id = submit(parties[GUEST], chain(2), conf_v2(common={"noop_0": {"sleep_seconds": 30}}))
    watcher = Watcher(parties, job_id)
    wait_for(lambda: statuses(parties[HOST], job_id).get("host") == "running", 90, "the job to run")
    parties[HOST].kill()
    killed = time.monotonic()
    wait_for(
        lambda: statuses(parties[GUEST], job_id)["guest"] in FINAL, 60, "the guest to end the job"
    )
    # The heartbeat timeout is 5 s in these clusters; allow for a heartbeat round and slow CI.
    assert time.monotonic() - killed < 5 + 10
    assert statuses(parties[GUEST], job_id) == {"guest": "failed"}
    parties[HOST].start()
    wait_for(
        lambda: set(statuses(parties[HOST], job_id).values()) <= FINAL, 90, "the host to catch up"
    )
    assert statuses(parties[HOST], job_id) == {"host": "failed", "arbiter": "failed"}
    assert_no_forbidden_transition(watcher.stop())


def test_initiator_killed_mid_job_resumes_after_restart(parties: dict[int, NodeProcess]) -> None:
    job_id = submit(parties[GUEST], chain(3), conf_v2(common={"noop_1": {"sleep_seconds": 3}}))
    watcher = Watcher(parties, job_id)

    def noop_1_running() -> bool:
        rows = parties[GUEST].jobs().QueryTask(pb.QueryTaskRequest(job_id=job_id)).data
        return any(r.f_component_name == "noop_1" and r.f_party_status == "running" for r in rows)

    wait_for(noop_1_running, 30, "noop_1 to run")
    parties[GUEST].kill()
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
