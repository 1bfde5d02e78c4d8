"""Task rows (``t_task``): create, read, query with typed filters, guarded status changes.

A task has two statuses moved independently under the same rules: ``f_status``, the federated
view the initiator derives from every party, and ``f_party_status``, this party's own run.
"""

from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from fateflow_grpc.status import TaskStatus, allowed_sources
from fateflow_grpc.storage.cas import compare_and_set
from fateflow_grpc.storage.models import Task, now_ms


class TaskKey(NamedTuple):
    """One party's run of a task, in primary key order."""

    job_id: str
    task_id: str
    task_version: int
    role: str
    party_id: str


@dataclass(frozen=True, slots=True)
class TaskFilter:
    """Equality filters of a task query; a field left None does not filter."""

    job_id: str | None = None
    role: str | None = None
    party_id: str | None = None
    component_name: str | None = None
    status: TaskStatus | None = None
    task_id: str | None = None


_NEWEST_FIRST = (Task.f_create_time.desc(), Task.f_task_id.desc(), Task.f_task_version.desc())


def create_task(session: Session, task: Task) -> None:
    """Insert ``task``; a duplicate key raises ``IntegrityError`` here rather than at commit."""
    session.add(task)
    session.flush()


def get_task(session: Session, key: TaskKey, *, for_update: bool = False) -> Task | None:
    """The task row; `for_update` locks it until the unit of work ends (where the database can)."""
    return session.get(Task, key, with_for_update=for_update)


def query_tasks(session: Session, task_filter: TaskFilter, limit: int | None = None) -> list[Task]:
    """Tasks matching every filter given, newest first; an empty filter matches nothing."""
    conditions = _conditions(task_filter)
    if not conditions:
        return []
    return list(
        session.scalars(select(Task).where(*conditions).order_by(*_NEWEST_FIRST).limit(limit))
    )


def list_tasks(session: Session, limit: int | None = None) -> list[Task]:
    """Every task, newest first, or only the ``limit`` newest."""
    return list(session.scalars(select(Task).order_by(*_NEWEST_FIRST).limit(limit)))


def transition_task_status(session: Session, key: TaskKey, new_status: TaskStatus) -> bool:
    """Move the federated status if the rules allow it; returns whether it moved."""
    return compare_and_set(
        session,
        Task,
        key,
        guard=Task.f_status.in_(allowed_sources(new_status)),
        values={"f_status": new_status, "f_update_time": now_ms()},
    )


def transition_task_party_status(session: Session, key: TaskKey, new_status: TaskStatus) -> bool:
    """Move this party's status if the rules allow it, stamping the run times it implies."""
    now = now_ms()
    return compare_and_set(
        session,
        Task,
        key,
        guard=Task.f_party_status.in_(allowed_sources(new_status)),
        values={
            "f_party_status": new_status,
            "f_update_time": now,
            **Task.run_times_after(new_status, now),
        },
    )


def _conditions(task_filter: TaskFilter) -> list[ColumnElement[bool]]:
    wanted = (
        (Task.f_job_id, task_filter.job_id),
        (Task.f_role, task_filter.role),
        (Task.f_party_id, task_filter.party_id),
        (Task.f_component_name, task_filter.component_name),
        (Task.f_status, task_filter.status),
        (Task.f_task_id, task_filter.task_id),
    )
    return [column == value for column, value in wanted if value is not None]
