"""A node's registration as a replica of its party: one live process per replica name."""

from __future__ import annotations

import socket
import subprocess

import pytest

from fateflow_grpc.errors import FailedPrecondition
from fateflow_grpc.node import Node
from fateflow_grpc.storage import replicas
from fateflow_grpc.storage.database import Database
from fateflow_grpc.storage.models import Replica, now_ms


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
