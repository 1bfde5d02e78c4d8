"""Slot reservation at a party: FIFO start of jobs depends on it never getting stuck."""

from __future__ import annotations

from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.node import Node
from fateflow_grpc.status import JobStatus
from fateflow_grpc.storage.database import Database
from tests.services.rows import JOB_ID, add_job

GUEST = PartyRole("guest", 9999)


def test_a_reservation_asked_again_keeps_its_slot(node: Node, node_database: Database) -> None:
    """An initiator whose reservation round broke off asks again: a job that holds its slot
    already must get it, or it (and every job queued after it) would wait for ever."""
    add_job(node_database, status=JobStatus.WAITING)
    assert node.participant.update_job(GUEST, JOB_ID, JobStatus.READY, 0)
    assert node.participant.update_job(GUEST, JOB_ID, JobStatus.READY, 0)
    assert node.participant.update_job(GUEST, JOB_ID, JobStatus.RUNNING, 0)
    # Running is not ready: a late reservation does not move the job back.
    assert not node.participant.update_job(GUEST, JOB_ID, JobStatus.READY, 0)
