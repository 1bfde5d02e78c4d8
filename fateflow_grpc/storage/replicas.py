"""Replicas of a party on one database (``t_replica``): leases, and the claims they make.

Several nodes of one party may share a PostgreSQL or MySQL database. Each is a row here with a
lease its heartbeat renews; a replica whose lease ran out is gone. Work is claimed with row
locks that skip the rows another replica has locked (``SELECT ... FOR UPDATE SKIP LOCKED``), so
two replicas never take the same job or task, and nothing but the database coordinates them:

- a job's scheduler (``t_job.f_scheduler``, on its initiator row): the replica that submitted
  it, until that replica is gone and another claims it;
- a task's run (``t_task.f_holder``): a started task waits, ``running`` with no holder, until
  a replica claims it; the holder runs it in a worker and lets go when the worker has ended.
  No attempt of a task is claimed while another attempt of it is held, so no task runs twice
  at once, even while an older attempt is being stopped on another replica.

SQLite has no row locks; on it one node runs alone, and these queries still hold.
"""

from sqlalchemy import Select, exists, select, update
from sqlalchemy.orm import Session, aliased

from fateflow_grpc.status import JobStatus, TaskStatus
from fateflow_grpc.storage.cas import compare_and_set
from fateflow_grpc.storage.models import Job, Replica, Task, now_ms
from fateflow_grpc.storage.tasks import TaskKey

#: The statuses of a job that still needs its scheduler.
UNFINISHED = (JobStatus.WAITING, JobStatus.READY, JobStatus.RUNNING)


def _live_names(now: int) -> Select[str]:
    return select(Replica.f_name).where(Replica.f_lease_until >= now)


def get_replica(session: Session, name: str) -> Replica | None:
    return session.get(Replica, name)


def register(session: Session, replica: Replica) -> None:
    """Insert the replica's row, or replace the one a previous run of it left."""
    session.merge(replica)
    session.flush()


def renew(session: Session, name: str, lease_until: int, free_slots: int) -> bool:
    """Extend the replica's lease; False when it has already run out (or the row is gone): the
    others may have taken its work, so it must not go on with it."""
    return compare_and_set(
        session,
        Replica,
        (name,),
        guard=Replica.f_lease_until >= now_ms(),
        values={
            "f_lease_until": lease_until,
            "f_free_slots": free_slots,
            "f_update_time": now_ms(),
        },
    )


def set_free_slots(session: Session, name: str, free_slots: int) -> None:
    session.execute(
        update(Replica).where(Replica.f_name == name).values(f_free_slots=free_slots),
        execution_options={"synchronize_session": False},
    )


def remove(session: Session, name: str) -> None:
    """Drop the replica's row: its lease ends now (a replica that stops)."""
    replica = session.get(Replica, name)
    if replica is not None:
        session.delete(replica)


def live_replicas(session: Session, party_id: str) -> list[Replica]:
    """The party's replicas whose lease runs, by name."""
    query = select(Replica).where(Replica.f_party_id == party_id, Replica.f_lease_until >= now_ms())
    return list(session.scalars(query.order_by(Replica.f_name)))


def lock_party(session: Session, party_id: str) -> None:
    """Hold the party's replica rows until the unit of work ends: the decisions every replica
    of the party takes in turn (a job slot) are made under it. Always in name order, so two
    replicas taking it wait for each other instead of deadlocking."""
    session.execute(
        select(Replica.f_name)
        .where(Replica.f_party_id == party_id)
        .order_by(Replica.f_name)
        .with_for_update()
    )


def claim_jobs(session: Session, name: str, party_id: str) -> list[tuple[str, str | None]]:
    """Take the scheduling of the party's unfinished jobs that no live replica schedules
    (their scheduler is gone, or they have none); returns (job id, previous scheduler)."""
    query = (
        select(Job)
        .where(
            Job.f_is_initiator.is_(True),
            Job.f_party_id == party_id,
            Job.f_status.in_(UNFINISHED),
            (Job.f_scheduler.is_(None)) | Job.f_scheduler.not_in(_live_names(now_ms())),
        )
        .with_for_update(skip_locked=True)
    )
    claimed = []
    for job in session.scalars(query):
        claimed.append((job.f_job_id, job.f_scheduler))
        job.f_scheduler = name
    return claimed


def schedule(session: Session, job_id: str, party_id: str, name: str) -> None:
    """Make `name` the scheduler of the job (a rerun, at the replica that was asked)."""
    session.execute(
        update(Job)
        .where(Job.f_job_id == job_id, Job.f_party_id == party_id, Job.f_is_initiator.is_(True))
        .values(f_scheduler=name),
        execution_options={"synchronize_session": False},
    )


def claim_tasks(session: Session, name: str, party_id: str, limit: int) -> list[Task]:
    """Take up to `limit` of the party's started tasks that no replica holds, oldest first,
    leaving those another attempt of which is still held."""
    other = aliased(Task)
    attempt_held = exists().where(
        other.f_job_id == Task.f_job_id,
        other.f_task_id == Task.f_task_id,
        other.f_role == Task.f_role,
        other.f_party_id == Task.f_party_id,
        other.f_holder.is_not(None),
    )
    query = (
        select(Task)
        .where(
            Task.f_party_id == party_id,
            Task.f_run_on_this_party.is_(True),
            Task.f_party_status == TaskStatus.RUNNING,
            Task.f_holder.is_(None),
            ~attempt_held,
        )
        .order_by(Task.f_update_time, Task.f_task_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = list(session.scalars(query))
    for task in claimed:
        task.f_holder = name
    session.flush()
    return claimed


def release(session: Session, key: TaskKey, name: str) -> bool:
    """Let go of a task `name` holds (its worker has ended, or `name` is gone); False when
    `name` does not hold it: someone else let go of it first."""
    return compare_and_set(
        session, Task, key, guard=Task.f_holder == name, values={"f_holder": None}
    )


def held_tasks(session: Session, name: str) -> list[Task]:
    """The tasks `name` holds."""
    return list(session.scalars(select(Task).where(Task.f_holder == name)))


def lost_tasks(session: Session) -> list[Task]:
    """The tasks held by replicas that are gone."""
    query = select(Task).where(
        Task.f_holder.is_not(None), Task.f_holder.not_in(_live_names(now_ms()))
    )
    return list(session.scalars(query))
