"""This node as one replica of its party: its lease in the database, and the work it claims.

Every node is a replica, alone on its SQLite database by default, or one of several `fateflow
node`s of a party on one PostgreSQL or MySQL database (docs/operations.md). At each heartbeat,
on threads of their own, it:

- renews the replica's lease (`t_replica`). A replica that cannot renew it stops its task
  workers before the lease runs out (a watchdog of its own sees to it, whatever the database
  does), so that the task's next attempt, which another replica may start once the lease has
  run out, never runs beside it;
- fails the tasks held by replicas that are gone (their lease ran out), and tells the jobs'
  initiators, whose schedulers run them again (`auto_retries`);
- stops the workers of tasks that ended meanwhile at another replica (a stop, a new version);
- claims the started tasks no replica runs, while it has the most free slots.

Which replica schedules which job is the scheduler's claim (`Scheduler._claim`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import psutil

from fateflow_grpc.domain.participant import Participant
from fateflow_grpc.errors import FailedPrecondition
from fateflow_grpc.storage import replicas
from fateflow_grpc.storage.database import Database
from fateflow_grpc.storage.models import Replica, Task, now_ms

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplicaSettings:
    name: str
    party_id: int
    #: Where its core serves gRPC.
    address: str
    heartbeat_interval_s: float
    lease_s: float


class ReplicaRunner:
    def __init__(
        self,
        settings: ReplicaSettings,
        database: Database,
        participant: Participant,
        lose_data_job: Callable[[Task, str], None],
    ) -> None:
        self._settings = settings
        self._database = database
        self._participant = participant
        self._lose_data_job = lose_data_job
        self._closed = threading.Event()
        #: When the lease was last renewed (monotonic clock): it runs until then + lease_s.
        self._renewed = 0.0
        self._threads = [
            threading.Thread(target=target, name=f"replica-{name}", daemon=True)
            for target, name in (
                (self._keep_lease, "lease"),
                (self._watch, "watchdog"),
                (self._loop, "work"),
            )
        ]

    @property
    def name(self) -> str:
        return self._settings.name

    def register(self) -> None:
        """Take this replica's row; refused while another live process has its name."""
        host, pid = socket.gethostname(), os.getpid()
        with self._database.session() as session:
            previous = replicas.get_replica(session, self.name)
            if previous is not None and previous.f_lease_until >= now_ms():
                elsewhere = previous.f_host != host
                if elsewhere or (previous.f_pid != pid and _running_since(previous)):
                    raise FailedPrecondition(
                        f"replica {self.name} of party {self._settings.party_id} is running at "
                        f"{previous.f_host} (process {previous.f_pid}): give each replica a "
                        "replica_name of its own",
                        replica=self.name,
                    )
            self._renewed = time.monotonic()
            replicas.register(
                session,
                Replica(
                    f_name=self.name,
                    f_party_id=str(self._settings.party_id),
                    f_host=host,
                    f_pid=pid,
                    f_address=self._settings.address,
                    f_free_slots=self._participant.free_slots(),
                    f_lease_until=self._lease_until(),
                    f_create_time=now_ms(),
                ),
            )

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop heartbeating and claiming."""
        self._closed.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(10)

    def leave(self) -> None:
        """End the lease now, once this replica's workers have stopped: the others take its
        jobs over at once, and fail the tasks it held (which then run again)."""
        try:
            with self._database.session() as session:
                replicas.remove(session, self.name)
        except Exception:  # its lease runs out anyway
            log.exception("replica %s: could not end its lease", self.name)

    def _lease_until(self) -> int:
        return now_ms() + int(self._settings.lease_s * 1000)

    def _loop(self) -> None:
        while not self._closed.wait(self._settings.heartbeat_interval_s):
            try:
                self._reap()
                self._participant.stop_released()
                self._participant.claim_tasks()
            except Exception:
                log.exception(
                    "replica %s: a round of its work failed; the next one retries", self.name
                )

    def _keep_lease(self) -> None:
        # A thread of its own: starting a task (a fork, on a busy machine) must not delay it.
        while not self._closed.wait(self._settings.heartbeat_interval_s):
            self._heartbeat()

    def _heartbeat(self) -> None:
        """Renew the lease; when it has run out, stop every task and take a new one."""
        try:
            with self._database.session() as session:
                renewed = replicas.renew(
                    session, self.name, self._lease_until(), self._participant.free_slots()
                )
            if renewed:
                self._renewed = time.monotonic()
                return
            self._fence("its lease ran out")
            self.register()
        except Exception:
            log.exception("replica %s: could not renew its lease", self.name)

    def _watch(self) -> None:
        """Stop the workers while the lease still runs when it could not be renewed, however
        long the database takes to answer the heartbeat: before another replica may run their
        tasks again."""
        margin = self._settings.lease_s - 2 * self._settings.heartbeat_interval_s
        while not self._closed.wait(self._settings.heartbeat_interval_s):
            if time.monotonic() - self._renewed > margin and self._participant.running():
                self._fence(f"it could not renew its lease for {margin:.0f} s")

    def _fence(self, why: str) -> None:
        log.warning("replica %s stops its tasks: %s", self.name, why)
        self._participant.stop_all()

    def _reap(self) -> None:
        with self._database.session() as session:
            lost = replicas.lost_tasks(session)
        for row in lost:
            holder = row.f_holder or ""
            if row.f_party_id == str(self._settings.party_id):
                self._participant.lose(row, holder)
            else:
                self._lose_data_job(row, holder)


def _running_since(replica: Replica) -> bool:
    """Whether the process that registered `replica` runs still on this machine (not merely a
    later process that was given its pid)."""
    try:
        started_ms = psutil.Process(replica.f_pid).create_time() * 1000
    except psutil.Error:
        return False
    return started_ms <= replica.f_create_time
