"""What a node says to other parties' nodes, as the domain sees it: the `Parties` protocol.

The scheduler and the participant logic call other parties only through this protocol; the node
gives them an implementation that speaks `fateflow.party.v1` through the party proxies
(`fateflow_grpc/party_client.py`). Every method raises `FederatedError` naming the party when
it cannot be reached, and relays the remote party's own errors otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from fateflow_grpc.errors import FateFlowError
from fateflow_grpc.status import JobStatus, TaskStatus


@dataclass(frozen=True, order=True)
class PartyRole:
    """A party in one of its roles of a job (one party id may play several roles)."""

    role: str
    party_id: int


@dataclass(frozen=True, order=True)
class TaskRef:
    """One version of one component's task at one party."""

    job_id: str
    component_name: str
    task_version: int
    role: str
    party_id: int

    @property
    def task_id(self) -> str:
        return f"{self.job_id}_{self.component_name}"

    @property
    def party(self) -> PartyRole:
        return PartyRole(self.role, self.party_id)


@dataclass(frozen=True)
class TaskState:
    """A task's status at its party, and why it failed when it did."""

    task: TaskRef
    party_status: TaskStatus
    message: str = ""


@dataclass(frozen=True)
class NodeInfo:
    """Who a node is and what it runs, as it says itself."""

    party_id: int
    version: str


@dataclass(frozen=True)
class Reach:
    """Whether a party answered: what it said and how long it took, or why it did not."""

    party_id: int
    info: NodeInfo | None
    latency_ms: float = 0.0
    error: str = ""


class Parties(Protocol):
    def create_job(
        self,
        party: PartyRole,
        job_id: str,
        dsl: dict[str, Any],
        conf: dict[str, Any],
        train_conf: dict[str, Any],
    ) -> None: ...

    def update_job(
        self, party: PartyRole, job_id: str, status: JobStatus | None, progress: int
    ) -> bool: ...

    def start_task(self, task: TaskRef) -> None: ...

    def stop_job(self, party: PartyRole, job_id: str, status: JobStatus) -> None: ...

    def report_task(self, initiator_party_id: int, state: TaskState) -> None: ...

    def collect_tasks(self, party: PartyRole, job_id: str) -> tuple[JobStatus, list[TaskState]]: ...

    def get_job_status(self, initiator_party_id: int, job_id: str) -> tuple[JobStatus, int]: ...

    def get_node_info(self, party_id: int, timeout_s: float) -> NodeInfo: ...


def reach(parties: Parties, party_ids: Iterable[int], timeout_s: float) -> list[Reach]:
    """Ask every party who it is, all at once: a party that does not answer costs
    `timeout_s` at most, not once per party."""
    ids = list(party_ids)

    def ask(party_id: int) -> Reach:
        start = time.perf_counter()
        try:
            info = parties.get_node_info(party_id, timeout_s)
        except FateFlowError as error:
            return Reach(party_id, None, error=error.message)
        latency_ms = (time.perf_counter() - start) * 1000
        if info.party_id != party_id:
            return Reach(party_id, info, latency_ms, f"answered as party {info.party_id}")
        return Reach(party_id, info, latency_ms)

    if not ids:
        return []
    with ThreadPoolExecutor(max_workers=min(len(ids), 16)) as pool:
        return list(pool.map(ask, ids))
