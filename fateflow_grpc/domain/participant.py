"""What every party does for the jobs it takes part in, whoever initiated them.

A party stores the job it is asked to create (after checking it can run it), reserves one of
its running-job slots when the initiator asks, runs its tasks in the executor's workers, stops
them, and reports each task's end to the initiator. Every status change is a compare-and-set
on the party's own rows, written before the side effect it announces.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from fateflow_grpc import ids
from fateflow_grpc.domain import safeguards
from fateflow_grpc.domain.engines import computing_choice
from fateflow_grpc.domain.executor import Executor
from fateflow_grpc.domain.jobspec import Catalog, JobSpec, parse_job
from fateflow_grpc.domain.mailboxes import Mailboxes
from fateflow_grpc.domain.parties import Parties, PartyRole, TaskRef, TaskState
from fateflow_grpc.domain.worker_process import Outcome
from fateflow_grpc.errors import (
    FailedPrecondition,
    FateFlowError,
    FederatedError,
    InvalidArgument,
    NotFound,
)
from fateflow_grpc.status import END_STATUSES, JobStatus, TaskStatus
from fateflow_grpc.storage import jobs, replicas, tasks
from fateflow_grpc.storage.database import Database
from fateflow_grpc.storage.models import Job, Task
from fateflow_grpc.storage.table_store import TableStore

log = logging.getLogger(__name__)

#: Attempts and first pause of a task report whose initiator does not answer.
REPORT_TRIES = 5
REPORT_BACKOFF_S = 0.2


@dataclass(frozen=True)
class Wiring:
    """How a component is connected in its job, as the DSL and conf say, for one party."""

    #: Input kind (`data`, `train_data`...) -> [(source component or `args`, output name)].
    data_inputs: dict[str, list[tuple[str, str]]]
    #: [(source component, model alias)], or [("pipeline", "<component>.<alias>")] to predict.
    model_inputs: list[tuple[str, str]]
    #: [(source component, model alias)]: models a component reads as FATE's
    #: `isometric_model` (a binning or statistics model feeding a feature selection).
    isometric_model_inputs: list[tuple[str, str]]
    data_outputs: list[str]
    model_outputs: list[str]
    #: Tables the conf names for this party, as (name, namespace): the Reader's `table`, v1's
    #: `args` data.
    tables: dict[str, tuple[str, str]]

    def without(self, absent: Iterable[tuple[str, str]]) -> Wiring:
        """This wiring without the data inputs `absent`; an input kind left with none goes."""
        gone = set(absent)
        kept = {
            kind: [ref for ref in refs if ref not in gone]
            for kind, refs in self.data_inputs.items()
        }
        return dataclasses.replace(self, data_inputs={k: refs for k, refs in kept.items() if refs})

    @classmethod
    def of(cls, spec: JobSpec, component: str, role: str, party_id: int) -> Wiring:
        found = spec.component(component)
        return cls(
            data_inputs={
                kind: _passed_through(
                    spec, [(ref.source, ref.name) for ref in refs], role, party_id
                )
                for kind, refs in found.data_inputs.items()
            },
            model_inputs=[(ref.source, ref.name) for ref in found.model_inputs],
            isometric_model_inputs=[(ref.source, ref.name) for ref in found.isometric_model_inputs],
            data_outputs=list(found.data_outputs),
            model_outputs=list(found.model_outputs),
            tables={
                key: (table.name, table.namespace)
                for key, table in spec.input_tables(component, role, party_id).items()
            },
        )


def _passed_through(
    spec: JobSpec, refs: list[tuple[str, str]], role: str, party_id: int
) -> list[tuple[str, str]]:
    """FATE's `pass_data`: a component that does not run at a party where it has a task (told
    `need_run: false`, or given the model of one that does not run there) outputs its one data
    input unchanged there, so what reads its data reads that input (through as many as skip)."""
    found: list[tuple[str, str]] = []
    for source, name in refs:
        if source != "args" and not spec.runs_at(source, role, party_id):
            parameters = spec.component_parameters(source, role, party_id)
            upstream = [
                (ref.source, ref.name)
                for kind in spec.component(source).data_inputs.values()
                for ref in kind
            ]
            if parameters and len(upstream) == 1:
                found += _passed_through(spec, upstream, role, party_id)
                continue
        found.append((source, name))
    return found


@dataclass(frozen=True)
class NodeAccess:
    """Where a task finds what its node keeps: tables, models, the database, the proxy."""

    data_dir: Path
    database_url: str
    proxy_address: str
    #: The table store: its files, and the database of its meta rows.
    table_dir: Path
    table_database_url: str
    #: Where jobs that compute on Spark run (`NodeConfig.spark_master`, `spark_conf`).
    spark_master: str = ""
    spark_conf: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskRun:
    """Everything a worker process needs to run one task (sent over a local pipe)."""

    task: TaskRef
    module: str
    parameters: dict[str, Any]
    job_parameters: dict[str, Any]
    roles: dict[str, list[int]]
    wiring: Wiring
    node: NodeAccess
    log_dir: Path


@dataclass(frozen=True)
class PartySettings:
    party_id: int
    max_running_jobs: int
    logs_dir: Path
    has_route: Callable[[int], bool]
    node: NodeAccess
    #: Refuse jobs with settings that may expose a party's data (`safeguards.py`).
    strict: bool = False
    #: This node's name among the party's replicas (`storage/replicas.py`).
    replica: str = "node"
    #: Tasks this node runs at once.
    task_slots: int = 32


#: FATE 1.7+'s job parameters for reruns after a failure, with our defaults: one more try
#: (FATE's default is none), a second after the failure.
DEFAULT_AUTO_RETRIES = 1
DEFAULT_AUTO_RETRY_DELAY_S = 1


def auto_retries(spec: JobSpec) -> tuple[int, float]:
    """The job's `auto_retries` and `auto_retry_delay` (seconds), as its initiator reads them."""
    parameters = spec.job_parameters(spec.initiator.role, spec.initiator.party_id)
    values = []
    for name, default in (
        ("auto_retries", DEFAULT_AUTO_RETRIES),
        ("auto_retry_delay", DEFAULT_AUTO_RETRY_DELAY_S),
    ):
        value = parameters.get(name)
        value = default if value is None else value
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise InvalidArgument(
                f"job_parameters {name} must be a number from 0, not {value!r}", field=name
            )
        values.append(value)
    return int(values[0]), float(values[1])


def _check_model(spec: JobSpec, party: PartyRole) -> None:
    """The model id and version a job's conf names become directories where its models go."""
    parameters = spec.job_parameters(party.role, party.party_id)
    if parameters.get("model_id"):
        ids.check_model_id(str(parameters["model_id"]))
    if parameters.get("model_version"):
        ids.check_model_version(str(parameters["model_version"]))


class Participant:
    def __init__(
        self,
        settings: PartySettings,
        database: Database,
        tables: TableStore,
        catalog: Catalog,
        parties: Parties,
        executor_factory: Callable[[Callable[[Any, Outcome], None]], Executor],
        mailboxes: Mailboxes,
    ) -> None:
        self._settings = settings
        self._mailboxes = mailboxes
        self._database = database
        self._tables = tables
        self._catalog = catalog
        self._parties = parties
        self._executor = executor_factory(self._task_ended)
        # One slot check at a time, so two jobs cannot both take the last slot (the other
        # replicas of the party wait on the database's lock, `replicas.lock_party`).
        self._slots = threading.Lock()
        # One claim at a time here: each claim counts the slots the previous one took.
        self._claiming = threading.Lock()

    @property
    def executor(self) -> Executor:
        return self._executor

    def spec(self, job: Job) -> JobSpec:
        return parse_job(job.f_dsl, job.f_runtime_conf, self._catalog, has_route=lambda _: True)

    # --- creating ---------------------------------------------------------------------------

    def create_job(
        self,
        job_id: str,
        dsl: dict[str, Any],
        conf: dict[str, Any],
        train_conf: dict[str, Any],
        party: PartyRole,
        *,
        initiator_rows: bool = False,
    ) -> list[str]:
        """Store the job's row for `party` and the rows of its tasks there; returns what this
        party warns about (`safeguards.py`), or refuses in strict mode.

        The initiator passes `initiator_rows` for its own row: it then also keeps a row for
        every task at every party, which the reports of the parties fill in.
        """
        spec = parse_job(dsl, conf, self._catalog, has_route=self._settings.has_route)
        if party.party_id not in spec.roles.get(party.role, []):
            raise FailedPrecondition(
                f"party {party.party_id} is not a {party.role} of job {job_id}", job_id=job_id
            )
        _check_model(spec, party)
        computing_choice(
            spec.job_parameters(party.role, party.party_id), self._settings.node.spark_master
        )
        retries, _ = auto_retries(spec)
        with self._database.session() as session:
            key = jobs.JobKey(job_id, party.role, str(party.party_id))
            existing = jobs.get_job(session, key)
            if existing is not None:
                return list(existing.f_warnings or [])  # a retried create
            shapes = _check_tables(self._tables, spec, party, self._catalog)
            warnings = [
                *safeguards.shared_arbiter(spec),
                *safeguards.small_batches(spec, party, shapes),
            ]
            safeguards.refuse_if_strict(
                self._settings.strict, party.party_id, warnings, safeguards.weak_keys(spec)
            )
            jobs.create_job(
                session,
                Job(
                    f_job_id=job_id,
                    f_role=party.role,
                    f_party_id=str(party.party_id),
                    f_dsl=dsl,
                    f_runtime_conf=conf,
                    f_runtime_conf_on_party=spec.job_parameters(party.role, party.party_id),
                    f_train_runtime_conf=train_conf,
                    f_roles=spec.roles,
                    f_work_mode=int(
                        spec.job_parameters(party.role, party.party_id).get("work_mode", 0) or 0
                    ),
                    f_initiator_role=spec.initiator.role,
                    f_initiator_party_id=str(spec.initiator.party_id),
                    f_is_initiator=initiator_rows,
                    # The replica that takes the submission schedules the job.
                    f_scheduler=self._settings.replica if initiator_rows else None,
                    f_status=JobStatus.WAITING,
                    f_warnings=warnings,
                ),
            )
            owners = spec.parties() if initiator_rows else [party]
            for owner in owners:
                for component in spec.components:
                    ref = TaskRef(job_id, component.name, 0, owner.role, owner.party_id)
                    if not spec.runs_at(component.name, owner.role, owner.party_id):
                        continue
                    if tasks.get_task(session, _key(ref)) is not None:
                        continue  # the initiator's row, when it plays this role too
                    tasks.create_task(
                        session,
                        _task_row(
                            ref,
                            spec,
                            here=owner.party_id == self._settings.party_id,
                            retries=retries,
                        ),
                    )
        return warnings

    # --- the job's status -------------------------------------------------------------------

    def update_job(
        self, party: PartyRole, job_id: str, status: JobStatus | None, progress: int
    ) -> bool:
        key = jobs.JobKey(job_id, party.role, str(party.party_id))
        with self._slots, self._database.session() as session:
            if status == JobStatus.READY:
                # Before anything is read: what is read next is what the others committed.
                replicas.lock_party(session, str(self._settings.party_id))
            job = jobs.get_job(session, key)
            if job is None:
                raise NotFound(f"party {party.party_id} has no job {job_id}", job_id=job_id)
            if status in (JobStatus.READY, JobStatus.WAITING) and job.f_status == status:
                return True  # asked again: a reservation held, or a rerun already queued
            if status == JobStatus.WAITING and job.f_status in END_STATUSES:
                # A rerun: the job's objects, refused since it ended, are taken again.
                self._mailboxes.open_job(job_id)
            if (
                status == JobStatus.READY
                and self._busy_slots(session, job_id) >= self._settings.max_running_jobs
            ):
                return False
            applied = status is None or jobs.transition_job_status(session, key, status)
            jobs.update_job_progress(session, key, progress)
        if applied and status in END_STATUSES:
            self._mailboxes.clean_job(job_id)  # what its tasks did not read goes with the job
        return applied

    def _busy_slots(self, session: Any, job_id: str) -> int:
        """Slots other jobs hold here (a party id playing two roles of a job holds one)."""
        return int(
            session.scalar(
                select(func.count(func.distinct(Job.f_job_id))).where(
                    Job.f_status.in_([JobStatus.READY, JobStatus.RUNNING]), Job.f_job_id != job_id
                )
            )
        )

    # --- tasks ------------------------------------------------------------------------------

    def start_task(self, ref: TaskRef) -> None:
        """Start version `ref.task_version` of a task here, ending any older version first.

        The task is then `running` at this party, and waits for a replica with a free slot to
        claim it: this one at once if it has the most, another one at its next heartbeat.
        The claim and the worker's start happen after the answer, so that the initiator starts
        the task at its other parties meanwhile.
        """
        with self._database.session() as session:
            job = jobs.get_job(session, jobs.JobKey(ref.job_id, ref.role, str(ref.party_id)))
            if job is None:
                raise NotFound(f"party {ref.party_id} has no job {ref.job_id}", job_id=ref.job_id)
            if job.f_status in END_STATUSES:
                raise FailedPrecondition(
                    f"job {ref.job_id} has ended ({job.f_status}) at party {ref.party_id}",
                    job_id=ref.job_id,
                )
            spec = self.spec(job)
            older = [
                row
                for row in tasks.query_tasks(session, _filter(ref))
                if row.f_task_version < ref.task_version
            ]
            row = tasks.get_task(session, _key(ref))
            if row is not None and row.f_party_status != TaskStatus.WAITING:
                return  # started already: the initiator asks again when it missed the answer
            if row is None:
                tasks.create_task(session, _task_row(ref, spec, here=True))
        for row in older:
            self._end_task(_ref(row), TaskStatus.CANCELED)
        with self._database.session() as session:
            if not tasks.transition_task_party_status(session, _key(ref), TaskStatus.RUNNING):
                raise FailedPrecondition(f"task {ref} is not waiting to run", job_id=ref.job_id)
            tasks.transition_task_status(session, _key(ref), TaskStatus.RUNNING)
        threading.Thread(target=self._claim_quietly, name="claim", daemon=True).start()

    def free_slots(self) -> int:
        return max(0, self._settings.task_slots - len(self._executor.running()))

    def claim_tasks(self) -> None:
        """Run the started tasks no replica holds, one at a time while this replica has a free
        slot and no other live one has more (so that tasks spread over the replicas)."""
        party = str(self._settings.party_id)
        with self._claiming:
            while True:
                free = self.free_slots()
                with self._database.session() as session:
                    others = [
                        replica.f_free_slots
                        for replica in replicas.live_replicas(session, party)
                        if replica.f_name != self._settings.replica
                    ]
                    if free <= 0 or free < max(others, default=0):
                        return
                    claimed = replicas.claim_tasks(session, self._settings.replica, party, 1)
                    if not claimed:
                        return
                    # What the others compare their free slots with, before the next heartbeat.
                    replicas.set_free_slots(session, self._settings.replica, free - 1)
                ref = _ref(claimed[0])
                try:
                    self._launch(ref)
                except Exception as error:  # whatever it is, the task failed, and says why
                    log.exception("task %s could not start", ref)
                    self._task_ended(ref, Outcome(False, f"the task could not start: {error}"))

    def _claim_quietly(self) -> None:
        try:
            self.claim_tasks()
        except Exception:  # the replica's next round claims what this one could not
            log.exception("replica %s: claiming started tasks failed", self._settings.replica)

    def _launch(self, ref: TaskRef) -> None:
        """Run a task this replica has claimed in a worker of its own."""
        with self._database.session() as session:
            job = jobs.get_job(session, jobs.JobKey(ref.job_id, ref.role, str(ref.party_id)))
            if job is None:
                raise NotFound(f"party {ref.party_id} has no job {ref.job_id}", job_id=ref.job_id)
            spec = self.spec(job)
        run = TaskRun(
            task=ref,
            module=spec.component(ref.component_name).module,
            parameters=spec.component_parameters(ref.component_name, ref.role, ref.party_id),
            job_parameters=spec.job_parameters(ref.role, ref.party_id),
            roles=spec.roles,
            wiring=Wiring.of(spec, ref.component_name, ref.role, ref.party_id),
            node=self._settings.node,
            log_dir=self._settings.logs_dir
            / ref.job_id
            / ref.role
            / str(ref.party_id)
            / ref.component_name,
        )
        pid = self._executor.start(ref, run)
        log.info("replica %s runs task %s in process %d", self._settings.replica, ref, pid)
        with self._database.session() as session:
            started = tasks.get_task(session, _key(ref))
            if started is not None:
                started.f_run_pid = pid
                started.f_run_ip = "127.0.0.1"

    def stop_released(self) -> None:
        """Stop the workers of tasks this replica no longer should run: ended meanwhile (by a
        stop or a new version, at another replica), or no longer held by it."""
        # No claim meanwhile: a task launched after the rows were read is not one of them.
        with self._claiming, self._database.session() as session:
            mine = {
                _ref(row)
                for row in replicas.held_tasks(session, self._settings.replica)
                if row.f_party_status == TaskStatus.RUNNING
            }
            released = [ref for ref in self._executor.running() if ref not in mine]
        for ref in released:
            log.info("replica %s stops task %s: it ended elsewhere", self._settings.replica, ref)
            self._executor.stop(ref)

    def running(self) -> bool:
        """Whether any task runs here."""
        return bool(self._executor.running())

    def stop_all(self) -> None:
        """Stop every worker here: this replica's lease ran out, its tasks are the others' now."""
        for ref in self._executor.running():
            self._executor.stop(ref)

    def lose(self, row: Task, holder: str) -> None:
        """A task whose replica is gone: it failed, if nobody said so first."""
        ref = _ref(row)
        why = f"replica {holder} of party {ref.party_id}, which ran it, is gone"
        with self._database.session() as session:
            if not replicas.release(session, _key(ref), holder):
                return  # another replica got there first
            applied = tasks.transition_task_party_status(session, _key(ref), TaskStatus.FAILED)
            if applied:
                tasks.transition_task_status(session, _key(ref), TaskStatus.FAILED)
        if applied:
            log.warning("task %s lost: %s", ref, why)
            self.report(int(row.f_initiator_party_id), TaskState(ref, TaskStatus.FAILED, why))

    def _task_ended(self, ref: TaskRef, outcome: Outcome) -> None:
        """The executor's callback: record how the task ended, then tell the initiator."""
        status = TaskStatus.SUCCESS if outcome.ok else TaskStatus.FAILED
        log.info("replica %s: task %s ended: %s", self._settings.replica, ref, status.value)
        with self._database.session() as session:
            applied = tasks.transition_task_party_status(session, _key(ref), status)
            if applied:
                tasks.transition_task_status(session, _key(ref), status)
            # Its worker has ended: another attempt of the task may run now.
            replicas.release(session, _key(ref), self._settings.replica)
            job = jobs.get_job(session, jobs.JobKey(ref.job_id, ref.role, str(ref.party_id)))
        if not applied or job is None:
            return  # stopped meanwhile: the stop already recorded the end
        if not outcome.ok:
            log.warning("task %s failed: %s", ref, outcome.message)
        self.report(int(job.f_initiator_party_id), TaskState(ref, status, outcome.message))

    def report(self, initiator_party_id: int, state: TaskState) -> None:
        """Tell the initiator, retrying a while; its heartbeat collects what a report misses."""
        delay = REPORT_BACKOFF_S
        for attempt in range(REPORT_TRIES):
            try:
                self._parties.report_task(initiator_party_id, state)
                return
            except FederatedError as error:
                if attempt == REPORT_TRIES - 1:
                    log.warning(
                        "could not report %s to party %s: %s", state.task, initiator_party_id, error
                    )
                    return
                threading.Event().wait(delay)
                delay *= 2

    def _end_task(self, ref: TaskRef, status: TaskStatus) -> None:
        """End a task here: the row first, then the process (its exit is then ignored)."""
        with self._database.session() as session:
            for transition in (tasks.transition_task_party_status, tasks.transition_task_status):
                transition(session, _key(ref), status)
        self._executor.stop(ref)

    # --- stopping ---------------------------------------------------------------------------

    def stop_job(self, party: PartyRole, job_id: str, status: JobStatus) -> None:
        """End the job here with `status`; running tasks end the same way, waiting ones canceled."""
        key = jobs.JobKey(job_id, party.role, str(party.party_id))
        with self._database.session() as session:
            job = jobs.get_job(session, key)
            if job is None:
                raise NotFound(f"party {party.party_id} has no job {job_id}", job_id=job_id)
            jobs.transition_job_status(session, key, status)
            rows = tasks.query_tasks(
                session,
                tasks.TaskFilter(job_id=job_id, role=party.role, party_id=str(party.party_id)),
            )
        for row in rows:
            if row.f_party_status == TaskStatus.RUNNING:
                self._end_task(_ref(row), TaskStatus(status.value))
            elif row.f_party_status == TaskStatus.WAITING:
                self._end_task(_ref(row), TaskStatus.CANCELED)
        self._mailboxes.clean_job(job_id)  # after its tasks: none of them reads any more

    # --- views ------------------------------------------------------------------------------

    def collect(self, party: PartyRole, job_id: str) -> tuple[JobStatus, list[TaskState]]:
        with self._database.session() as session:
            job = jobs.get_job(session, jobs.JobKey(job_id, party.role, str(party.party_id)))
            if job is None:
                raise NotFound(f"party {party.party_id} has no job {job_id}", job_id=job_id)
            rows = tasks.query_tasks(
                session,
                tasks.TaskFilter(job_id=job_id, role=party.role, party_id=str(party.party_id)),
            )
        return job.f_status, [TaskState(_ref(row), row.f_party_status) for row in newest(rows)]

    # --- recovery ---------------------------------------------------------------------------

    def recover(self) -> None:
        """After a restart, no task of this node survived. Tasks of jobs this node initiates
        are rerun by its scheduler; the others failed, and their initiators are told. Then
        each unfinished job takes the end its initiator gave it while this node was down."""
        with self._database.session() as session:
            orphans = [
                row
                for row in replicas.held_tasks(session, self._settings.replica)
                if row.f_party_id == str(self._settings.party_id)
            ]
            unfinished = [
                job
                for status in (JobStatus.WAITING, JobStatus.READY, JobStatus.RUNNING)
                for job in jobs.query_jobs(session, jobs.JobFilter(status=status))
            ]
        # The jobs this replica schedules: its scheduler runs their tasks again (`_resume`).
        initiated = {
            job.f_job_id
            for job in unfinished
            if job.f_is_initiator and job.f_scheduler in (self._settings.replica, None)
        }
        for row in orphans:
            if row.f_job_id not in initiated:
                self._task_ended(_ref(row), Outcome(False, "the node restarted while the task ran"))
        with self._database.session() as session:
            for row in orphans:  # their workers died with the previous run
                replicas.release(session, _key(_ref(row)), self._settings.replica)
        for job in unfinished:
            if job.f_job_id not in initiated:
                self._catch_up(job)

    def _catch_up(self, job: Job) -> None:
        try:
            status, _ = self._parties.get_job_status(int(job.f_initiator_party_id), job.f_job_id)
        except FateFlowError as error:
            # Left as it is: the initiator's heartbeat ends it here if the job is still on.
            log.warning("job %s: could not ask its initiator: %s", job.f_job_id, error)
            return
        party = PartyRole(job.f_role, int(job.f_party_id))
        if status == JobStatus.SUCCESS:
            self.update_job(party, job.f_job_id, status, 100)
        elif status in END_STATUSES:
            self.stop_job(party, job.f_job_id, status)

    def close(self) -> None:
        self._executor.close()


def _check_tables(
    store: TableStore, spec: JobSpec, party: PartyRole, catalog: Catalog
) -> list[safeguards.TableShape]:
    """Refuse a job whose tables at this party are missing, or lack a column a component needs
    (a DataTransform's label): the job fails at submission rather than mid-run. Returns the
    shapes of the tables the job reads here."""
    shapes: dict[str, safeguards.TableShape] = {}
    for component in spec.components:
        if not spec.runs_at(component.name, party.role, party.party_id):
            continue
        for refs in component.data_inputs.values():
            for ref in refs:
                source = ref.source if ref.source != "args" else component.name
                for table in spec.input_tables(source, party.role, party.party_id).values():
                    meta = store.describe(table.namespace, table.name)
                    if meta is None:
                        raise NotFound(
                            f"{component.name} at {party.role} {party.party_id} reads table "
                            f"{table.namespace}.{table.name}, which this party does not have",
                            namespace=table.namespace,
                            table_name=table.name,
                        )
                    module = catalog.get(component.module)
                    params = spec.component_parameters(component.name, party.role, party.party_id)
                    header = str(meta.f_schema.get("header", "")).split(meta.f_id_delimiter)
                    required = []
                    # A predict job may read data without the label its training had; a
                    # component given a model reads its data with the model's settings, not its
                    # own conf's (FATE's).
                    if (
                        module is not None
                        and module.required_columns is not None
                        and spec.job_type != "predict"
                        and not component.model_inputs
                    ):
                        required = module.required_columns(params)
                    for column in required:
                        if column not in header:
                            raise InvalidArgument(
                                f"{component.name} at {party.role} {party.party_id}: column "
                                f"{column!r} is not in table {table.namespace}.{table.name} "
                                f"(its columns: {', '.join(header)})",
                                column=column,
                            )
                    name = f"{table.namespace}.{table.name}"
                    features = len([c for c in header if c and c not in required])
                    shapes[name] = safeguards.TableShape(name, features, int(meta.f_count or 0))
    return list(shapes.values())


def newest(rows: list[Task]) -> list[Task]:
    """The newest version of each task among `rows`."""
    latest: dict[tuple[str, str, str], Task] = {}
    for row in rows:
        key = (row.f_task_id, row.f_role, row.f_party_id)
        if key not in latest or row.f_task_version > latest[key].f_task_version:
            latest[key] = row
    return list(latest.values())


def _task_row(ref: TaskRef, spec: JobSpec, *, here: bool, retries: int = 0) -> Task:
    return Task(
        f_job_id=ref.job_id,
        f_task_id=ref.task_id,
        f_task_version=ref.task_version,
        f_role=ref.role,
        f_party_id=str(ref.party_id),
        f_component_name=ref.component_name,
        f_initiator_role=spec.initiator.role,
        f_initiator_party_id=str(spec.initiator.party_id),
        f_status=TaskStatus.WAITING,
        f_party_status=TaskStatus.WAITING,
        f_run_on_this_party=here,
        f_auto_retries=retries,
    )


def _key(ref: TaskRef) -> tasks.TaskKey:
    return tasks.TaskKey(ref.job_id, ref.task_id, ref.task_version, ref.role, str(ref.party_id))


def _filter(ref: TaskRef) -> tasks.TaskFilter:
    return tasks.TaskFilter(
        job_id=ref.job_id, task_id=ref.task_id, role=ref.role, party_id=str(ref.party_id)
    )


def _ref(row: Task) -> TaskRef:
    return TaskRef(
        row.f_job_id, row.f_component_name, row.f_task_version, row.f_role, int(row.f_party_id)
    )
