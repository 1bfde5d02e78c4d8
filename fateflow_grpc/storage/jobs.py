"""Job rows (``t_job``): create, read, query with typed filters, guarded updates."""

from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from fateflow_grpc.status import JobStatus, allowed_sources
from fateflow_grpc.storage.cas import compare_and_set
from fateflow_grpc.storage.models import Job, now_ms


class JobKey(NamedTuple):
    """One party's row of a job, in primary key order."""

    job_id: str
    role: str
    party_id: str


@dataclass(frozen=True, slots=True)
class JobFilter:
    """Equality filters of a job query; a field left None does not filter."""

    job_id: str | None = None
    role: str | None = None
    party_id: str | None = None
    status: JobStatus | None = None
    initiator_role: str | None = None
    initiator_party_id: str | None = None
    is_initiator: bool | None = None
    tag: str | None = None
    name: str | None = None
    #: The replica that schedules it (`replicas.py`).
    scheduler: str | None = None


@dataclass(frozen=True, slots=True)
class JobListing:
    """The filters of a job list (FATE-Flow 1.7's `/v1/job/list/job`); None or empty: no filter."""

    job_id_contains: str | None = None
    party_id: str | None = None
    roles: tuple[str, ...] = ()
    statuses: tuple[JobStatus, ...] = ()
    #: Created at or after, epoch milliseconds.
    created_from: int | None = None
    #: Created before, epoch milliseconds.
    created_to: int | None = None


_NEWEST_FIRST = (Job.f_create_time.desc(), Job.f_job_id.desc(), Job.f_role, Job.f_party_id)


def create_job(session: Session, job: Job) -> None:
    """Insert ``job``; a duplicate key raises ``IntegrityError`` here rather than at commit."""
    session.add(job)
    session.flush()


def get_job(session: Session, key: JobKey) -> Job | None:
    return session.get(Job, key)


def query_jobs(session: Session, job_filter: JobFilter, limit: int | None = None) -> list[Job]:
    """Jobs matching every filter given, newest first.

    An empty filter matches nothing, as in FATE: a query never dumps the whole table.
    """
    conditions = _conditions(job_filter)
    if not conditions:
        return []
    return list(
        session.scalars(select(Job).where(*conditions).order_by(*_NEWEST_FIRST).limit(limit))
    )


def list_jobs(
    session: Session,
    limit: int | None = None,
    listing: JobListing = JobListing(),
    offset: int = 0,
) -> list[Job]:
    """The rows ``listing`` lets through, newest first: ``limit`` of them from ``offset`` on."""
    query = select(Job).where(*_listing_conditions(listing)).order_by(*_NEWEST_FIRST)
    return list(session.scalars(query.limit(limit).offset(offset or None)))


def count_jobs(session: Session, listing: JobListing = JobListing()) -> int:
    """How many rows ``listing`` lets through."""
    query = select(func.count()).select_from(Job).where(*_listing_conditions(listing))
    return session.scalar(query) or 0


def update_job_description(session: Session, key: JobKey, description: str) -> bool:
    """Set the job's notes (FATE's ``/v1/job/update``); False when there is no such job."""
    job = session.get(Job, key)
    if job is None:
        return False
    job.f_description = description
    return True


def transition_job_status(session: Session, key: JobKey, new_status: JobStatus) -> bool:
    """Move the job to ``new_status`` if the transition rules allow it from its current one.

    Returns whether it moved. Also stamps the run times the new status implies.
    """
    now = now_ms()
    return compare_and_set(
        session,
        Job,
        key,
        guard=Job.f_status.in_(allowed_sources(new_status)),
        values={
            "f_status": new_status,
            "f_update_time": now,
            **Job.run_times_after(new_status, now),
        },
    )


def update_job_progress(session: Session, key: JobKey, progress: int) -> bool:
    """Set the progress unless the stored one is higher: a late report never moves it back."""
    return compare_and_set(
        session,
        Job,
        key,
        guard=Job.f_progress <= progress,
        values={"f_progress": progress, "f_update_time": now_ms()},
    )


def _conditions(job_filter: JobFilter) -> list[ColumnElement[bool]]:
    wanted = (
        (Job.f_job_id, job_filter.job_id),
        (Job.f_role, job_filter.role),
        (Job.f_party_id, job_filter.party_id),
        (Job.f_status, job_filter.status),
        (Job.f_initiator_role, job_filter.initiator_role),
        (Job.f_initiator_party_id, job_filter.initiator_party_id),
        (Job.f_is_initiator, job_filter.is_initiator),
        (Job.f_tag, job_filter.tag),
        (Job.f_name, job_filter.name),
        (Job.f_scheduler, job_filter.scheduler),
    )
    return [column == value for column, value in wanted if value is not None]


def _listing_conditions(listing: JobListing) -> list[ColumnElement[bool]]:
    conditions = []
    if listing.job_id_contains:
        conditions.append(Job.f_job_id.contains(listing.job_id_contains, autoescape=True))
    if listing.party_id is not None:
        conditions.append(Job.f_party_id == listing.party_id)
    if listing.roles:
        conditions.append(Job.f_role.in_(listing.roles))
    if listing.statuses:
        conditions.append(Job.f_status.in_(listing.statuses))
    if listing.created_from is not None:
        conditions.append(Job.f_create_time >= listing.created_from)
    if listing.created_to is not None:
        conditions.append(Job.f_create_time < listing.created_to)
    return conditions
