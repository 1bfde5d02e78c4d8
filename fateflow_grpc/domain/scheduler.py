"""The initiator's scheduler: it creates a job at every party, starts it when every party has a
free slot, walks its DAG, and ends it everywhere.

The initiator keeps a row for every task at every party; parties report into those rows and
the heartbeat (`CollectTasks`) refreshes them, so a lost report costs one heartbeat, not a job.
A component's status over its parties, and the job's status and progress, are derived from the
newest version of those rows (FATE 1.5's rules) and pushed to every party.

Nothing is lost to a party that crashes or goes silent:

- a component that fails (its task failed somewhere, or died with its party's node, or its
  party was silent for `heartbeat_timeout_s`) runs again as a new task version at every party,
  up to the job's `auto_retries` times (FATE 1.7+, default here 1), `auto_retry_delay` seconds
  after the failure and once every party answers again, within the job's timeout;
- a party that cannot be reached when a task should start there gets it when it is back;
- after the initiator's own restart, the components that were running start again, as a new
  version, at every party; the components before them keep their results;
- `rerun` runs an ended job again from the components that did not succeed (FATE 1.6+'s
  `/v1/job/rerun`).

A party may run several replicas on one database: each job is scheduled by one of them, the
one that took its submission, until that replica is gone (its lease in the database ran out);
then another claims the job and goes on with it, while the tasks the lost replica ran fail
and run again like any failed task (`storage/replicas.py`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from fateflow_grpc.domain import safeguards
from fateflow_grpc.domain.dsl import inference_dsl
from fateflow_grpc.domain.jobspec import (
    Catalog,
    JobSpec,
    PredictedModel,
    model_id,
    new_job_id,
    parse_job,
    predicted_model,
    with_training_conf,
)
from fateflow_grpc.domain.participant import Participant, auto_retries, newest
from fateflow_grpc.domain.parties import Parties, PartyRole, TaskRef, TaskState
from fateflow_grpc.errors import (
    DeadlineExceeded,
    FailedPrecondition,
    FateFlowError,
    FederatedError,
    InvalidArgument,
    NotFound,
)
from fateflow_grpc.status import END_STATUSES, JobStatus, TaskStatus
from fateflow_grpc.storage import jobs, model_info, replicas, tasks
from fateflow_grpc.storage.database import Database
from fateflow_grpc.storage.models import Job, ModelInfo, Task, now_ms

log = logging.getLogger(__name__)

_Item = TypeVar("_Item")
_Result = TypeVar("_Result")

#: Calls to parties made at once (each waits on the network, not on this process).
CALLS_AT_ONCE = 16


@dataclass(frozen=True)
class SchedulerSettings:
    party_id: int
    board_url: str
    logs_dir: Path
    heartbeat_interval_s: float
    heartbeat_timeout_s: float
    has_route: Callable[[int], bool]
    #: Refuse jobs any party warns about (`safeguards.py`), instead of running them.
    strict: bool = False
    #: This node's name among the party's replicas (`storage/replicas.py`).
    replica: str = "node"


@dataclass(frozen=True)
class Submitted:
    job_id: str
    model_id: str
    model_version: str
    board_url: str
    logs_directory: str


def component_status(statuses: list[TaskStatus]) -> TaskStatus:
    """A task's status over its parties (FATE 1.5): all equal -> that; else the worst
    interruption; else running."""
    if len(set(statuses)) == 1:
        return statuses[0]
    for interrupted in (TaskStatus.FAILED, TaskStatus.TIMEOUT, TaskStatus.CANCELED):
        if interrupted in statuses:
            return interrupted
    return TaskStatus.RUNNING


class Scheduler:
    def __init__(
        self,
        settings: SchedulerSettings,
        database: Database,
        catalog: Catalog,
        parties: Parties,
        participant: Participant,
    ) -> None:
        self._settings = settings
        self._database = database
        self._catalog = catalog
        self._parties = parties
        self._participant = participant
        self._wake = threading.Event()
        self._closed = threading.Event()
        # One scheduling decision at a time: the loop, submit and stop take turns.
        self._lock = threading.RLock()
        #: (job, party) -> since when the party has not answered the job's heartbeat.
        self._silent_since: dict[tuple[str, PartyRole], float] = {}
        #: (job, component) -> when a failed component may run again.
        self._retry_due: dict[tuple[str, str], float] = {}
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._calls = ThreadPoolExecutor(CALLS_AT_ONCE, thread_name_prefix="scheduler-call")

    def start(self) -> None:
        self._claim()
        self._resume()
        self._thread.start()

    def close(self) -> None:
        self._closed.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(10)
        self._calls.shutdown(wait=False, cancel_futures=True)

    def wake(self) -> None:
        self._wake.set()

    # --- submit -----------------------------------------------------------------------------

    def submit(self, dsl: dict[str, Any], conf: dict[str, Any]) -> Submitted:
        me = self._settings.party_id
        train_conf: dict[str, Any] = {}
        predicted = predicted_model(conf)
        if predicted is not None and predicted.initiator.party_id == me:
            trained = self._trained(predicted)
            train_conf = dict(trained.f_runtime_conf)
            if not dsl.get("components"):
                dsl = self._inference_dsl(trained, predicted)
            conf = with_training_conf(conf, train_conf, dsl)
        spec = parse_job(dsl, conf, self._catalog, has_route=self._settings.has_route)
        if spec.initiator.party_id != me:
            raise InvalidArgument(
                f"this node is party {me}; submit the job at its initiator, party "
                f"{spec.initiator.party_id}",
                initiator=spec.initiator.party_id,
            )
        auto_retries(spec)  # refused here, before any party has the job
        job_id = new_job_id()
        conf, models = _with_model_info(conf, spec, job_id)
        initiator = PartyRole(spec.initiator.role, spec.initiator.party_id)
        # Under the lock: the loop must not reserve slots for a job that some party does not
        # have yet.
        with self._lock:
            created: list[PartyRole] = []
            warnings: list[str] = []
            try:
                warnings += self._participant.create_job(
                    job_id, dsl, conf, train_conf, initiator, initiator_rows=True
                )
                created.append(initiator)

                def create_at(party: PartyRole) -> list[str]:
                    if party.party_id == me:
                        return self._participant.create_job(job_id, dsl, conf, train_conf, party)
                    return self._parties.create_job(party, job_id, dsl, conf, train_conf)

                others = [p for p in spec.parties() if p != initiator]
                answers = self._at_once(create_at, others)
                created += [p for p, a in zip(others, answers, strict=True) if not a.exception()]
                for answer in answers:
                    warnings += answer.result()  # raises the first party's refusal, if any
                warnings = list(dict.fromkeys(warnings))
                # What the other parties found too: a strict initiator runs none of it.
                safeguards.refuse_if_strict(self._settings.strict, me, warnings, [])
            except FateFlowError as error:
                for party in created:
                    self._end_at(party, job_id, JobStatus.FAILED)
                raise type(error)(
                    f"job {job_id} was not created: {error.message}",
                    reason=error.reason,
                    retcode=error.retcode,
                    **error.metadata,
                ) from error
            if spec.ignored:
                self._log(
                    job_id,
                    "the conf's entries for components that are not in the DSL are ignored: "
                    + ", ".join(spec.ignored),
                )
            if warnings:
                self._warn(job_id, warnings)
        self.wake()
        logs = self._settings.logs_dir / job_id
        return Submitted(
            job_id=job_id,
            model_id=models[0],
            model_version=models[1],
            board_url=(
                f"{self._settings.board_url}/index.html#/dashboard?job_id={job_id}"
                f"&role={initiator.role}&party_id={initiator.party_id}"
            ),
            logs_directory=str(logs),
        )

    def _warn(self, job_id: str, warnings: list[str]) -> None:
        """Every party's warnings into the initiator's rows of the job, and into its log."""
        with self._database.session() as session:
            for job in jobs.query_jobs(session, jobs.JobFilter(job_id=job_id)):
                job.f_warnings = warnings
        self._log(job_id, *(f"WARNING {warning}" for warning in warnings))

    def _log(self, job_id: str, *lines: str) -> None:
        """The job's scheduling log at its initiator (FATE's `fate_flow_schedule.log`)."""
        for line in lines:
            log.info("job %s: %s", job_id, line)
        directory = self._settings.logs_dir / job_id
        directory.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        with (directory / "fate_flow_schedule.log").open("a") as file:
            file.writelines(f"{stamp} {line}\n" for line in lines)

    def _trained(self, model: PredictedModel) -> ModelInfo:
        """The initiator's part of a predict job's model: it keeps the training job's conf
        and DSL."""
        key = model_info.ModelKey(
            model.model_id,
            model.model_version,
            model.initiator.role,
            str(model.initiator.party_id),
        )
        with self._database.session() as session:
            info = model_info.get_model_info(session, key)
        if info is None:
            raise NotFound(
                f"no model {key.model_id} version {key.model_version} at {key.role} "
                f"{key.party_id}: train it, or import it, before predicting with it",
                model_id=key.model_id,
                model_version=key.model_version,
            )
        return info

    def _inference_dsl(self, trained: ModelInfo, model: PredictedModel) -> dict[str, Any]:
        """The DSL of a predict job submitted without one: its deployed model's (FATE 1.7+);
        a model never deployed has one in DSL v1 only, from its training DSL (FATE 1.x)."""
        if trained.f_inference_dsl:
            return dict(trained.f_inference_dsl)
        if model.dsl_version == 1:
            return inference_dsl(dict(trained.f_dsl), self._catalog, 1)
        raise FailedPrecondition(
            f"model {model.model_id} version {model.model_version} has not been deployed yet: "
            "deploy it (/v1/model/deploy) and predict with the version deployed, or submit "
            "the predict DSL with the job",
            model_id=model.model_id,
            model_version=model.model_version,
        )

    # --- stop and reports -------------------------------------------------------------------

    def stop(self, job_id: str, status: JobStatus) -> None:
        if status not in (JobStatus.CANCELED, JobStatus.FAILED, JobStatus.TIMEOUT):
            raise InvalidArgument(
                f"a job can be stopped as canceled, failed or timeout, not {status.value}"
            )
        with self._lock:
            job = self._initiator_row(job_id)
            if job.f_status in END_STATUSES:
                raise FailedPrecondition(
                    f"job {job_id} has already ended: {job.f_status}", job_id=job_id
                )
            self._finish(job, self._spec(job), status)

    def rerun(self, job_id: str, component_name: str, force: bool) -> list[str]:
        """Run an ended job again: the chosen components (`component_name` and those downstream
        of it, or all) that did not succeed, or all of them with `force`, as new task versions
        at every party. Returns the components that run again."""
        with self._lock:
            job = self._initiator_row(job_id)
            if job.f_status not in END_STATUSES:
                raise FailedPrecondition(
                    f"job {job_id} is {job.f_status}: only a job that has ended is rerun",
                    job_id=job_id,
                )
            spec = self._spec(job)
            rows = self._task_rows(job_id)
            status = self._federate(rows)
            chosen = {c.name for c in spec.components}
            if component_name and component_name != "pipeline":
                chosen = _downstream(spec, spec.component(component_name).name)
            again = [
                c.name
                for c in spec.components
                if c.name in chosen
                and c.name in rows
                and (force or status[c.name] != TaskStatus.SUCCESS)
            ]
            if not again:
                raise FailedPrecondition(
                    f"job {job_id}: every component chosen succeeded; force reruns them",
                    job_id=job_id,
                )
            # The other parties first: one that cannot be reached leaves the job ended here (and
            # asking again later finds the others queued already); the new versions before
            # this party's own rows, which the scheduling loop reads.
            parties = spec.parties()
            mine = [p for p in parties if p.party_id == self._settings.party_id]
            for party in [p for p in parties if p not in mine]:
                self._queue_again(party, job_id)
            for name in again:
                self._new_version(rows[name], rows[name][0].f_auto_retries)
            for party in mine:
                self._queue_again(party, job_id)
            with self._database.session() as session:
                replicas.schedule(session, job_id, str(self._settings.party_id), self._replica)
            self._log(job_id, f"rerun: {', '.join(again)}")
        self.wake()
        return again

    def _queue_again(self, party: PartyRole, job_id: str) -> None:
        if not self._update_at(party, job_id, JobStatus.WAITING, 0):
            raise FailedPrecondition(
                f"job {job_id} could not be queued again at {party.role} {party.party_id}",
                job_id=job_id,
            )

    def report(self, state: TaskState) -> None:
        """Record a party's report of one of its tasks in the initiator's row for it."""
        self._record(state)
        self.wake()

    def job_status(self, job_id: str) -> tuple[JobStatus, int]:
        job = self._initiator_row(job_id)
        return job.f_status, job.f_progress

    # --- the loop ---------------------------------------------------------------------------

    def _loop(self) -> None:
        last_heartbeat = 0.0
        while not self._closed.is_set():
            self._wake.wait(self._settings.heartbeat_interval_s)
            self._wake.clear()
            if self._closed.is_set():
                return
            heartbeat = time.monotonic() - last_heartbeat >= self._settings.heartbeat_interval_s
            if heartbeat:
                last_heartbeat = time.monotonic()
            try:
                with self._lock:
                    for job_id in self._claim():
                        self._take_over(job_id)
                    self._start_waiting_job()
                    for job in self._initiated(JobStatus.RUNNING):
                        if heartbeat:
                            self._heartbeat(job)
                        self._drive(job)
            except Exception:
                log.exception("a scheduling round failed; the next round retries")

    @property
    def _replica(self) -> str:
        return self._settings.replica

    def _claim(self) -> list[str]:
        """Take the jobs no live replica schedules; returns those another replica scheduled."""
        with self._database.session() as session:
            claimed = replicas.claim_jobs(session, self._replica, str(self._settings.party_id))
        for job_id, previous in claimed:
            log.info(
                "job %s: replica %s schedules it now (was %s)", job_id, self._replica, previous
            )
        return [job_id for job_id, previous in claimed if previous not in (None, self._replica)]

    def _take_over(self, job_id: str) -> None:
        """Go on with a job whose scheduler is gone: the slots it was reserving are freed (it
        starts again from waiting); its running tasks go on, and those the lost replica ran
        fail once its lease has run out, and run again."""
        job = self._initiator_row(job_id)
        self._log(job_id, f"replica {self._replica} took over its scheduling")
        if job.f_status == JobStatus.READY:
            for party in self._spec(job).parties():
                self._update_quietly(party, job_id, JobStatus.WAITING)

    def _initiated(self, status: JobStatus, *, anyone: bool = False) -> list[Job]:
        """The jobs of `status` this replica schedules (with `anyone`, every replica's)."""
        scheduler = None if anyone else self._replica
        with self._database.session() as session:
            rows = jobs.query_jobs(
                session, jobs.JobFilter(is_initiator=True, status=status, scheduler=scheduler)
            )
        return sorted(rows, key=lambda job: (job.f_create_time, job.f_job_id))

    def _start_waiting_job(self) -> None:
        """Start the party's oldest waiting job if every party has a slot (FIFO: the rest wait),
        when this replica schedules it."""
        waiting = self._initiated(JobStatus.WAITING, anyone=True)
        if not waiting or waiting[0].f_scheduler != self._replica:
            return
        job = waiting[0]
        parties = self._spec(job).parties()
        asked = self._at_once(
            lambda party: self._update_at(party, job.f_job_id, JobStatus.READY, 0), parties
        )
        reserved = [
            p
            for p, answer in zip(parties, asked, strict=True)
            if not answer.exception() and answer.result()
        ]
        try:
            if len(reserved) == len(parties):
                for started in self._at_once(
                    lambda party: self._update_at(party, job.f_job_id, JobStatus.RUNNING, 0),
                    parties,
                ):
                    started.result()
                self.wake()
                return
            for answer in asked:
                answer.result()  # raises the first party's error, if any
        except FateFlowError as error:
            log.warning("job %s: reserving its slots failed, will retry: %s", job.f_job_id, error)
        # Some party has no slot now, or did not answer: free the slots held, so that neither
        # this job nor the ones after it wait for a slot that nobody will give back.
        for holder in reserved:
            self._update_quietly(holder, job.f_job_id, JobStatus.WAITING)

    def _drive(self, job: Job) -> None:
        spec = self._spec(job)
        rows = self._task_rows(job.f_job_id)
        started = job.f_start_time or now_ms()
        if now_ms() - started > spec.timeout * 1000:
            self._finish(job, spec, JobStatus.TIMEOUT)
            return
        status = self._federate(rows)
        for name, interrupted in status.items():
            if interrupted == TaskStatus.CANCELED or (
                interrupted in (TaskStatus.FAILED, TaskStatus.TIMEOUT)
                and not self._retry(job, spec, rows[name])
            ):
                self._finish(job, spec, JobStatus.FAILED)
                return
        startable = [
            row
            for component in spec.components
            if status.get(component.name) in (TaskStatus.WAITING, TaskStatus.RUNNING)
            and all(
                status.get(up) in (TaskStatus.SUCCESS, None)
                for up, _ in spec.upstream(component.name)
            )
            for row in rows.get(component.name, [])
            if row.f_party_status == TaskStatus.WAITING
        ]
        # Every party at once: a task's start is a call through the proxies.
        for row, start in zip(
            startable, self._at_once(self._start_at, map(_ref, startable)), strict=True
        ):
            error = start.exception()
            if isinstance(error, (FederatedError, DeadlineExceeded)):
                # That party is down: it gets its task when it is back, unless it stays
                # silent past the heartbeat timeout (`_lose_tasks`).
                log.debug(
                    "job %s: %s waits for %s: %s",
                    job.f_job_id,
                    row.f_component_name,
                    _ref(row).party,
                    error,
                )
            elif isinstance(error, FateFlowError):
                log.warning(
                    "job %s: starting %s failed: %s", job.f_job_id, row.f_component_name, error
                )
                self._finish(job, spec, JobStatus.FAILED)
                return
            elif error is not None:
                raise error
        all_rows = [row for group in rows.values() for row in group]
        ended = sum(row.f_party_status in END_STATUSES for row in all_rows)
        progress = ended * 100 // len(all_rows) if all_rows else 100
        if all(s == TaskStatus.SUCCESS for s in status.values()):
            self._finish(job, spec, JobStatus.SUCCESS)
        elif progress > job.f_progress:
            for updated in self._at_once(
                lambda party: self._update_at(party, job.f_job_id, None, progress), spec.parties()
            ):
                updated.result()

    def _at_once(
        self, call: Callable[[_Item], _Result], items: Iterable[_Item]
    ) -> list[Future[_Result]]:
        """`call` for every item at once, on the scheduler's pool; once all have ended, their
        futures, in the items' order."""
        futures = [self._calls.submit(call, item) for item in items]
        wait(futures)
        return futures

    def _start_at(self, ref: TaskRef) -> None:
        if ref.party_id == self._settings.party_id:
            self._participant.start_task(ref)
        else:
            self._parties.start_task(ref)
            self._record(TaskState(ref, TaskStatus.RUNNING))

    def _retry(self, job: Job, spec: JobSpec, group: list[Task]) -> bool:
        """Run a failed component again as a new version at every party, if it has retries
        left, once its retry delay has passed and every party of the job answers again; False
        when it has none left (the job fails)."""
        left = min(row.f_auto_retries for row in group)
        if left <= 0:
            return False
        name = group[0].f_component_name
        key = (job.f_job_id, name)
        _, delay = auto_retries(spec)
        due = self._retry_due.setdefault(key, time.monotonic() + delay)
        silent = [party for (job_id, party) in self._silent_since if job_id == job.f_job_id]
        if time.monotonic() < due or silent:
            return True
        del self._retry_due[key]
        reasons = "; ".join(
            f"{row.f_role} {row.f_party_id}: {row.f_party_status}"
            for row in group
            if row.f_party_status in (TaskStatus.FAILED, TaskStatus.TIMEOUT)
        )
        self._log(
            job.f_job_id,
            f"{name} version {group[0].f_task_version} ended ({reasons}); running it again as "
            f"version {group[0].f_task_version + 1} ({left - 1} retries left after this one)",
        )
        self._new_version(group, left - 1)
        return True

    def _finish(self, job: Job, spec: JobSpec, status: JobStatus) -> None:
        """End the job at every party, the others first, so none is left running after us."""
        for silent in [k for k in self._silent_since if k[0] == job.f_job_id]:
            del self._silent_since[silent]
        for due in [k for k in self._retry_due if k[0] == job.f_job_id]:
            del self._retry_due[due]
        parties = spec.parties()
        mine = [p for p in parties if p.party_id == self._settings.party_id]
        for ended in self._at_once(
            lambda party: self._end_at(party, job.f_job_id, status),
            [p for p in parties if p not in mine],
        ):
            ended.result()
        for party in mine:
            self._end_at(party, job.f_job_id, status)
        self._federate(self._task_rows(job.f_job_id))
        if status == JobStatus.SUCCESS:
            for updated in self._at_once(
                lambda party: self._update_at(party, job.f_job_id, None, 100), parties
            ):
                updated.result()
        log.info("job %s ended: %s", job.f_job_id, status.value)

    def _end_at(self, party: PartyRole, job_id: str, status: JobStatus) -> None:
        try:
            if status == JobStatus.SUCCESS:
                self._update_at(party, job_id, status, 100)
            elif party.party_id == self._settings.party_id:
                self._participant.stop_job(party, job_id, status)
            else:
                self._parties.stop_job(party, job_id, status)
                # Its tasks have ended there: our rows of them must not stay running.
                _, states = self._parties.collect_tasks(party, job_id)
                for state in states:
                    self._record(state)
        except FateFlowError as error:
            # A party that cannot hear it now learns the end when it asks, after it restarts.
            log.warning("job %s: could not end it at %s: %s", job_id, party, error)

    def _update_at(
        self, party: PartyRole, job_id: str, status: JobStatus | None, progress: int
    ) -> bool:
        if party.party_id == self._settings.party_id:
            return self._participant.update_job(party, job_id, status, progress)
        return self._parties.update_job(party, job_id, status, progress)

    # --- heartbeat and resume ---------------------------------------------------------------

    def _heartbeat(self, job: Job) -> None:
        """Collect the tasks of every other party. The tasks a party runs are lost when it is
        silent too long: they fail here (and run again if the job has retries left)."""
        spec = self._spec(job)
        now = time.monotonic()
        for party in spec.parties():
            if party.party_id == self._settings.party_id:
                continue
            key = (job.f_job_id, party)
            try:
                _, states = self._parties.collect_tasks(party, job.f_job_id)
            except FateFlowError as error:
                silent = now - self._silent_since.setdefault(key, now)
                if silent > self._settings.heartbeat_timeout_s:
                    self._lose_tasks(
                        job.f_job_id,
                        spec,
                        party,
                        f"{party.role} {party.party_id} silent for {silent:.0f} s: {error.message}",
                    )
                continue
            self._silent_since.pop(key, None)
            for state in states:
                self._record(state)

    def _lose_tasks(self, job_id: str, spec: JobSpec, party: PartyRole, why: str) -> None:
        """A silent party's tasks fail: those it ran, and those it should have started."""
        rows = self._task_rows(job_id)
        status = {n: component_status([r.f_party_status for r in g]) for n, g in rows.items()}
        for name, group in rows.items():
            startable = status[name] in (TaskStatus.WAITING, TaskStatus.RUNNING) and all(
                status.get(up) in (TaskStatus.SUCCESS, None) for up, _ in spec.upstream(name)
            )
            for row in group:
                lost = row.f_party_status == TaskStatus.RUNNING or (
                    row.f_party_status == TaskStatus.WAITING and startable
                )
                if _ref(row).party == party and lost:
                    self._log(job_id, f"{name} at {party.role} {party.party_id} lost: {why}")
                    self._record(TaskState(_ref(row), TaskStatus.FAILED, why))

    def _resume(self) -> None:
        """Rerun, as a new version at every party, each component that was running when this
        node stopped; the components before it keep their results."""
        for job in self._initiated(JobStatus.READY):
            for party in self._spec(job).parties():
                self._update_quietly(party, job.f_job_id, JobStatus.WAITING)
        for job in self._initiated(JobStatus.RUNNING):
            for name, group in self._task_rows(job.f_job_id).items():
                if component_status([r.f_party_status for r in group]) == TaskStatus.RUNNING:
                    self._log(job.f_job_id, f"{name}: running it again after a restart")
                    self._new_version(group, min(row.f_auto_retries for row in group))

    def _update_quietly(self, party: PartyRole, job_id: str, status: JobStatus) -> None:
        try:
            self._update_at(party, job_id, status, 0)
        except FateFlowError as error:
            log.warning("job %s: could not release %s: %s", job_id, party, error)

    def _new_version(self, group: list[Task], retries: int) -> None:
        """The next version of a component's tasks at every party, waiting to start; the
        current one ends (its tasks at the parties stop when the new version starts there)."""
        with self._database.session() as session:
            for row in group:
                old = _ref(row)
                key = tasks.TaskKey(
                    old.job_id, old.task_id, old.task_version, old.role, str(old.party_id)
                )
                for transition in (
                    tasks.transition_task_party_status,
                    tasks.transition_task_status,
                ):
                    transition(session, key, TaskStatus.CANCELED)
                tasks.create_task(
                    session,
                    Task(
                        f_job_id=row.f_job_id,
                        f_task_id=row.f_task_id,
                        f_task_version=row.f_task_version + 1,
                        f_role=row.f_role,
                        f_party_id=row.f_party_id,
                        f_component_name=row.f_component_name,
                        f_initiator_role=row.f_initiator_role,
                        f_initiator_party_id=row.f_initiator_party_id,
                        f_status=TaskStatus.WAITING,
                        f_party_status=TaskStatus.WAITING,
                        f_run_on_this_party=row.f_run_on_this_party,
                        f_auto_retries=retries,
                    ),
                )

    # --- rows -------------------------------------------------------------------------------

    def _initiator_row(self, job_id: str) -> Job:
        with self._database.session() as session:
            rows = jobs.query_jobs(session, jobs.JobFilter(job_id=job_id, is_initiator=True))
        if not rows:
            raise NotFound(
                f"job {job_id} was not initiated at party {self._settings.party_id}", job_id=job_id
            )
        return rows[0]

    def _spec(self, job: Job) -> JobSpec:
        return parse_job(job.f_dsl, job.f_runtime_conf, self._catalog, has_route=lambda _: True)

    def _task_rows(self, job_id: str) -> dict[str, list[Task]]:
        """The newest version of every task of the job at every party, by component."""
        with self._database.session() as session:
            rows = newest(tasks.query_tasks(session, tasks.TaskFilter(job_id=job_id)))
        by_component: dict[str, list[Task]] = {}
        for row in rows:
            by_component.setdefault(row.f_component_name, []).append(row)
        return by_component

    def _record(self, state: TaskState) -> None:
        ref = state.task
        key = tasks.TaskKey(ref.job_id, ref.task_id, ref.task_version, ref.role, str(ref.party_id))
        with self._database.session() as session:
            row = tasks.get_task(session, key)
            if row is not None and row.f_party_status != state.party_status:
                tasks.transition_task_party_status(session, key, state.party_status)

    def _federate(self, rows: dict[str, list[Task]]) -> dict[str, TaskStatus]:
        """Each component's status over its parties, also written into its tasks' rows."""
        status = {
            name: component_status([r.f_party_status for r in group])
            for name, group in rows.items()
        }
        for name, group in rows.items():
            self._set_federated(group, status[name])
        return status

    def _set_federated(self, group: list[Task], status: TaskStatus) -> None:
        with self._database.session() as session:
            for row in group:
                if row.f_status != status:
                    ref = _ref(row)
                    tasks.transition_task_status(
                        session,
                        tasks.TaskKey(
                            ref.job_id, ref.task_id, ref.task_version, ref.role, str(ref.party_id)
                        ),
                        status,
                    )


def _ref(row: Task) -> TaskRef:
    return TaskRef(
        row.f_job_id, row.f_component_name, row.f_task_version, row.f_role, int(row.f_party_id)
    )


def _downstream(spec: JobSpec, name: str) -> set[str]:
    """A component and every component that depends on it, directly or not."""
    found = {name}
    for component in spec.components:  # topological order: upstream ones come first
        if any(up in found for up, _ in spec.upstream(component.name)):
            found.add(component.name)
    return found


def _with_model_info(
    conf: dict[str, Any], spec: JobSpec, job_id: str
) -> tuple[dict[str, Any], tuple[str, str]]:
    """The conf with the model id and version filled in, as FATE stores it: generated for a
    training job, given by the conf for a predict job."""
    conf = {**conf}
    parameters = dict(conf.get("job_parameters") or {})
    target = dict(parameters.get("common") or {}) if spec.dsl_version == 2 else parameters
    if spec.job_type == "predict":
        if not (target.get("model_id") and target.get("model_version")):
            raise InvalidArgument("a predict job needs job_parameters model_id and model_version")
    else:
        target["model_id"] = model_id(spec.roles)
        target["model_version"] = job_id
    if spec.dsl_version == 2:
        parameters["common"] = target
    else:
        parameters = target
    conf["job_parameters"] = parameters
    return conf, (str(target["model_id"]), str(target["model_version"]))
