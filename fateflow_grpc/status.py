"""Job and task statuses and the transitions allowed between them (FATE-Flow 1.5 rules).

The values are FATE's lowercase strings, so they are what the database stores and what
FATE-Flow clients read. Transitions are data: storage applies them as a compare-and-set
``UPDATE ... WHERE status IN allowed_sources(new)``, so a late or duplicated message can
never move a row backwards.
"""

from collections.abc import Mapping
from enum import StrEnum
from typing import Final, overload


class JobStatus(StrEnum):
    WAITING = "waiting"
    READY = "ready"
    RUNNING = "running"
    CANCELED = "canceled"
    TIMEOUT = "timeout"
    FAILED = "failed"
    SUCCESS = "success"


class TaskStatus(StrEnum):
    WAITING = "waiting"
    RUNNING = "running"
    CANCELED = "canceled"
    TIMEOUT = "timeout"
    FAILED = "failed"
    SUCCESS = "success"


# Short aliases keep each rule on one line, as FATE writes them.
_J = JobStatus
JOB_TRANSITIONS: Final[Mapping[JobStatus, frozenset[JobStatus]]] = {
    _J.WAITING: frozenset({_J.READY, _J.RUNNING, _J.CANCELED, _J.TIMEOUT, _J.FAILED, _J.SUCCESS}),
    _J.READY: frozenset({_J.WAITING, _J.RUNNING, _J.CANCELED, _J.TIMEOUT, _J.FAILED}),
    _J.RUNNING: frozenset({_J.CANCELED, _J.TIMEOUT, _J.FAILED, _J.SUCCESS}),
    _J.CANCELED: frozenset({_J.WAITING}),  # rerun
    _J.TIMEOUT: frozenset({_J.FAILED, _J.SUCCESS, _J.WAITING}),
    _J.FAILED: frozenset({_J.WAITING}),  # rerun
    _J.SUCCESS: frozenset({_J.WAITING}),  # rerun
}
"""For each status, the statuses a job may move to next."""

_T = TaskStatus
TASK_TRANSITIONS: Final[Mapping[TaskStatus, frozenset[TaskStatus]]] = {
    # FATE 1.5 allows only waiting -> running, success. We add canceled and failed: a job that
    # is stopped, or fails in another component, must be able to end the tasks that never ran.
    _T.WAITING: frozenset({_T.RUNNING, _T.SUCCESS, _T.CANCELED, _T.FAILED}),
    _T.RUNNING: frozenset({_T.CANCELED, _T.TIMEOUT, _T.FAILED, _T.SUCCESS}),
    _T.CANCELED: frozenset({_T.WAITING}),  # rerun
    _T.TIMEOUT: frozenset({_T.FAILED, _T.SUCCESS}),
    _T.FAILED: frozenset(),  # final
    _T.SUCCESS: frozenset(),  # final
}
"""For each status, the statuses a task may move to next."""

END_STATUSES: Final[frozenset[str]] = frozenset({"canceled", "timeout", "failed", "success"})
"""FATE's End set. It holds the plain values, so it answers for JobStatus and TaskStatus alike."""


@overload
def allowed_sources(new_status: JobStatus) -> frozenset[JobStatus]: ...
@overload
def allowed_sources(new_status: TaskStatus) -> frozenset[TaskStatus]: ...
def allowed_sources(
    new_status: JobStatus | TaskStatus,
) -> frozenset[JobStatus] | frozenset[TaskStatus]:
    """The statuses from which a row may move to ``new_status``."""
    if isinstance(new_status, JobStatus):
        return frozenset(s for s, targets in JOB_TRANSITIONS.items() if new_status in targets)
    return frozenset(s for s, targets in TASK_TRANSITIONS.items() if new_status in targets)
