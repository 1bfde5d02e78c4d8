"""A node as a replica of its party: one live process per replica name, and no task run on
once its lease has run out."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from fateflow_grpc.config import NodeConfig
from fateflow_grpc.domain.parties import TaskRef
from fateflow_grpc.errors import FailedPrecondition
from fateflow_grpc.node import Node
from fateflow_grpc.status import TaskStatus
from fateflow_grpc.storage import jobs, replicas, tasks
from fateflow_grpc.storage.database import Database
from fateflow_grpc.storage.models import Replica, now_ms
from tests.multiparty.cluster import wait_for
from tests.services.rows import JOB_ID, add_job


def previous_run(node: Node, host: str, pid: int) -> Replica:
    return Replica(
        f_name=node.config.replica,
        f_party_id="9999",
        f_host=host,
        f_pid=pid,
        f_address="127.0.0.1:9360",
        f_free_slots=1,
        f_lease_until=now_ms() + 60_000,
        f_create_time=now_ms(),
    )


def test_a_name_live_on_another_machine_is_refused(node: Node, node_database: Database) -> None:
    with node_database.session() as session:
        replicas.register(session, previous_run(node, "another-machine", 1))
    with pytest.raises(FailedPrecondition, match="is running at another-machine") as raised:
        node.replica.register()
    assert "replica_name of its own" in raised.value.message


def test_a_restart_after_a_crash_takes_its_name_back(node: Node, node_database: Database) -> None:
    """The previous run was killed: its lease still runs, but its process is gone."""
    dead = subprocess.Popen(["true"])
    dead.wait()
    with node_database.session() as session:
        replicas.register(session, previous_run(node, socket.gethostname(), dead.pid))
    node.replica.register()
    with node_database.session() as session:
        (live,) = replicas.live_replicas(session, "9999")
    assert live.f_name == node.config.replica and live.f_pid != dead.pid


@pytest.fixture
def node_config(tmp_path: Path) -> NodeConfig:
    return NodeConfig(
        party_id=9999,
        data_dir=tmp_path / "node",
        grpc_port=0,
        test_components=True,
        heartbeat_interval_s=0.5,
        # Long: on a loaded machine a heartbeat may come late; the test ends the lease itself.
        replica_lease_s=30.0,
    )


def test_a_replica_whose_lease_ran_out_stops_its_task_and_goes_on(
    node: Node, node_database: Database
) -> None:
    """Its lease ran out (the others may run its tasks again now): its worker must not run on."""
    add_job(node_database)
    again = TaskRef(JOB_ID, "noop_0", 1, "guest", 9999)
    with node_database.session() as session:
        job = jobs.get_job(session, jobs.JobKey(JOB_ID, "guest", "9999"))
        assert job is not None
        job.f_runtime_conf = {
            **job.f_runtime_conf,
            "component_parameters": {"common": {"noop_0": {"sleep_seconds": 60}}},
        }
    node.participant.executor.warm_up()
    node.replica.register()
    node.replica.start()
    node.participant.start_task(again)
    # The replica claims it just after: the start answers first.
    wait_for(lambda: node.participant.executor.running() == [again], 30, "the task to run")
    key = tasks.TaskKey(JOB_ID, again.task_id, 1, "guest", "9999")
    with node_database.session() as session:
        row = tasks.get_task(session, key)
        assert row is not None and row.f_holder == node.config.replica
    with node_database.session() as session:  # as if its heartbeats had not reached the database
        replica = replicas.get_replica(session, node.config.replica)
        assert replica is not None
        replica.f_lease_until = now_ms() - 1

    def released() -> bool:
        with node_database.session() as session:
            row = tasks.get_task(session, key)
            assert row is not None
            return row.f_holder is None

    wait_for(released, 60, "the task to be let go of")
    # Its own reaper may let the task go (the database says its lease ran out) a moment before
    # its heartbeat learns so and stops the worker.
    wait_for(lambda: not node.participant.executor.running(), 30, "its worker to stop")
    with node_database.session() as session:
        row = tasks.get_task(session, key)
        assert row is not None and row.f_party_status == TaskStatus.FAILED

    def registered_again() -> bool:
        """With a lease that runs (its heartbeat registers it once it has let go)."""
        with node_database.session() as session:
            live = [r.f_name for r in replicas.live_replicas(session, "9999")]
        return live == [node.config.replica]

    wait_for(registered_again, 60, "the replica to register again")
