"""The executor's warm pool: fast starts, real processes, outcomes, stops."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from fateflow_grpc.domain.executor import Executor
from fateflow_grpc.domain.worker_process import Outcome


def sleep_then(run: tuple[str, float, str]) -> None:
    """A task: wait, then succeed, fail or die, leaving a mark in a file."""
    path, seconds, how = run
    Path(path).write_text(str(os.getpid()))
    time.sleep(seconds)
    if how == "fail":
        raise ValueError("the task said no")
    if how == "die":
        os._exit(7)


class Outcomes:
    def __init__(self) -> None:
        self.seen: dict[str, Outcome] = {}
        self.changed = threading.Condition()

    def __call__(self, key: str, outcome: Outcome) -> None:
        with self.changed:
            self.seen[key] = outcome
            self.changed.notify_all()

    def wait(self, key: str, timeout: float = 30) -> Outcome:
        with self.changed:
            assert self.changed.wait_for(lambda: key in self.seen, timeout), f"{key} never ended"
            return self.seen[key]


@pytest.fixture
def executor() -> Iterator[tuple[Executor, Outcomes]]:
    outcomes = Outcomes()
    executor = Executor(sleep_then, outcomes, size=2)
    executor.warm_up()
    yield executor, outcomes
    executor.close()


def test_tasks_succeed_fail_and_die(executor: tuple[Executor, Outcomes], tmp_path: Path) -> None:
    pool, outcomes = executor
    for how in ("ok", "fail", "die"):
        pid = pool.start(how, (str(tmp_path / how), 0.0, how))
        assert pid != os.getpid()
    assert outcomes.wait("ok") == Outcome(True)
    assert outcomes.wait("fail") == Outcome(False, "ValueError: the task said no")
    assert outcomes.wait("die") == Outcome(False, "worker died with exit code 7")
    assert pool.running() == []


def test_each_task_gets_a_fresh_process(
    executor: tuple[Executor, Outcomes], tmp_path: Path
) -> None:
    pool, outcomes = executor
    pids = set()
    for index in range(4):
        pool.start(index, (str(tmp_path / str(index)), 0.0, "ok"))
        outcomes.wait(index)
        pids.add((tmp_path / str(index)).read_text())
    assert len(pids) == 4


def test_stop_terminates_the_process(executor: tuple[Executor, Outcomes], tmp_path: Path) -> None:
    pool, outcomes = executor
    pid = pool.start("long", (str(tmp_path / "long"), 60.0, "ok"))
    deadline = time.monotonic() + 10
    while not (tmp_path / "long").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert pool.stop("long")
    outcome = outcomes.wait("long")
    assert not outcome.ok and "stopped" in outcome.message
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not pool.stop("long")


def test_a_restart_ends_the_processes_a_killed_run_left(tmp_path: Path) -> None:
    """A node killed outright may leave processes behind: the next run ends those it recorded,
    and no other process, even one that now has a recorded pid."""
    record = tmp_path / "workers.json"
    leftover = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        started = psutil.Process(leftover.pid).create_time()
        # The bystander's pid, as if a recorded process had ended and its pid been reused.
        record.write_text(json.dumps({leftover.pid: started, bystander.pid: started - 10}))
        pool = Executor(sleep_then, Outcomes(), size=1, record=record)
        assert pool.end_leftovers() == 1
        assert not psutil.pid_exists(leftover.pid)  # ended, and reaped
        assert bystander.poll() is None
        assert not record.exists()
    finally:
        for process in (leftover, bystander):
            if process.poll() is None:
                process.kill()
                process.wait()


def test_the_record_names_the_workers_and_their_forkserver(tmp_path: Path) -> None:
    record = tmp_path / "workers.json"
    outcomes = Outcomes()
    pool = Executor(sleep_then, outcomes, size=1, record=record)
    pool.warm_up()
    try:
        pid = pool.start("task", (str(tmp_path / "task"), 60.0, "ok"))
        owned = {int(p): t for p, t in json.loads(record.read_text()).items()}
        worker = psutil.Process(pid)
        assert owned[pid] == worker.create_time()
        forkserver = worker.parent()
        assert forkserver is not None and owned[forkserver.pid] == forkserver.create_time()
        assert forkserver.pid != os.getpid()
    finally:
        pool.close()
    assert not record.exists()
