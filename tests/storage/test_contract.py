"""The storage contract: every test runs once per engine (see conftest.py)."""

import contextlib
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fateflow_grpc.status import JOB_TRANSITIONS, TASK_TRANSITIONS, JobStatus, TaskStatus
from fateflow_grpc.storage import jobs, model_info, replicas, tables, tasks, tracking, uploads
from fateflow_grpc.storage.database import (
    SQLITE_BUSY_TIMEOUT_MS,
    Database,
    create_database,
    migration_config,
)
from fateflow_grpc.storage.jobs import JobFilter, JobKey
from fateflow_grpc.storage.model_info import ModelKey
from fateflow_grpc.storage.models import (
    Base,
    Job,
    ModelInfo,
    OutputDataInfo,
    Replica,
    StorageTableMeta,
    Task,
    UploadHistory,
    now_ms,
)
from fateflow_grpc.storage.tasks import TaskFilter, TaskKey
from fateflow_grpc.storage.tracking import ComponentRef, Metric
from tests.storage.conftest import SERVER_URL_VARIABLES, scratch_database

JOB_ID = "202006122116502527621"
GUEST = JobKey(JOB_ID, "guest", "9999")


def make_job(key: JobKey = GUEST, status: JobStatus = JobStatus.WAITING, **columns: Any) -> Job:
    initiator = {"f_initiator_role": "guest", "f_initiator_party_id": "9999"}
    return Job(
        f_job_id=key.job_id,
        f_role=key.role,
        f_party_id=key.party_id,
        f_status=status,
        **(initiator | columns),
    )


def make_task(key: TaskKey, status: TaskStatus = TaskStatus.WAITING, **columns: Any) -> Task:
    return Task(
        f_job_id=key.job_id,
        f_task_id=key.task_id,
        f_task_version=key.task_version,
        f_role=key.role,
        f_party_id=key.party_id,
        f_component_name=key.task_id.removeprefix(f"{key.job_id}_"),
        f_initiator_role="guest",
        f_initiator_party_id="9999",
        f_status=status,
        f_party_status=status,
        **columns,
    )


def row_values(row: Base) -> dict[str, Any]:
    return {attr.key: getattr(row, attr.key) for attr in inspect(row).mapper.column_attrs}


def read_job(db: Database, key: JobKey) -> Job:
    with db.session() as session:
        job = jobs.get_job(session, key)
    assert job is not None
    return job


def read_task(db: Database, key: TaskKey) -> Task:
    with db.session() as session:
        task = tasks.get_task(session, key)
    assert task is not None
    return task


# --- database and migrations -------------------------------------------------------------------


def test_migrations_apply_twice_and_match_the_models(database_url: str, db: Database) -> None:
    create_database(database_url).dispose()  # the db fixture already migrated once

    with db.engine.connect() as connection:
        head = ScriptDirectory.from_config(migration_config(connection)).get_current_head()
        migration = MigrationContext.configure(connection)
        assert head == "0004"
        assert migration.get_current_revision() == head
        assert compare_metadata(migration, Base.metadata) == []


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(db: Database) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PRAGMA settings exist only on SQLite")
    with db.engine.connect() as connection:
        pragmas = [
            connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "busy_timeout", "foreign_keys")
        ]
    assert pragmas == ["wal", SQLITE_BUSY_TIMEOUT_MS, 1]


def test_a_failed_unit_of_work_leaves_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError), db.session() as session:
        jobs.create_job(session, make_job())
        raise RuntimeError("boom")

    with db.session() as session:
        assert jobs.get_job(session, GUEST) is None


# --- jobs --------------------------------------------------------------------------------------


def test_job_roundtrip_keeps_every_column(db: Database) -> None:
    upload = JobKey("202101050644283199303", "local", "0")
    dsl = {"components": {"upload_0": {"module": "Upload"}}}
    with db.session() as session:
        jobs.create_job(
            session,
            make_job(
                upload, f_dsl=dsl, f_roles={"local": [0]}, f_tag="job_end", f_is_initiator=True
            ),
        )

    job = read_job(db, upload)
    assert (job.f_job_id, job.f_role, job.f_party_id) == ("202101050644283199303", "local", "0")
    assert job.f_status is JobStatus.WAITING
    assert job.f_dsl == dsl
    assert job.f_roles == {"local": [0]}
    assert job.f_runtime_conf == {}
    assert job.f_tag == "job_end"
    assert job.f_is_initiator is True
    assert job.f_progress == 0
    assert job.f_cancel_signal is False
    assert job.f_create_time > 1_600_000_000_000  # epoch milliseconds
    assert (job.f_start_time, job.f_end_time, job.f_elapsed) == (None, None, None)


def test_creating_a_job_twice_fails(db: Database) -> None:
    with db.session() as session:
        jobs.create_job(session, make_job())
    with pytest.raises(IntegrityError), db.session() as session:
        jobs.create_job(session, make_job())


def test_query_jobs_by_typed_filters(db: Database) -> None:
    host = JobKey(JOB_ID, "host", "10000")
    arbiter = JobKey(JOB_ID, "arbiter", "10000")
    upload = JobKey("202006122009345696314", "local", "0")
    with db.session() as session:
        jobs.create_job(session, make_job(GUEST, f_is_initiator=True, f_create_time=3000))
        jobs.create_job(session, make_job(host, f_create_time=2000))
        jobs.create_job(session, make_job(arbiter, f_create_time=1000))
        jobs.create_job(
            session,
            make_job(upload, JobStatus.SUCCESS, f_initiator_role="local", f_initiator_party_id="0"),
        )

    def keys(job_filter: JobFilter, limit: int | None = None) -> list[JobKey]:
        with db.session() as session:
            found = jobs.query_jobs(session, job_filter, limit)
        return [JobKey(j.f_job_id, j.f_role, j.f_party_id) for j in found]

    assert keys(JobFilter()) == []
    assert keys(JobFilter(job_id=JOB_ID)) == [GUEST, host, arbiter]
    assert keys(JobFilter(job_id=JOB_ID), limit=2) == [GUEST, host]
    assert keys(JobFilter(party_id="10000")) == [host, arbiter]
    assert keys(JobFilter(party_id="0")) == [upload]
    assert keys(JobFilter(job_id=JOB_ID, role="host")) == [host]
    assert keys(JobFilter(is_initiator=True)) == [GUEST]
    assert keys(JobFilter(status=JobStatus.SUCCESS)) == [upload]
    assert keys(JobFilter(initiator_party_id="0")) == [upload]
    assert keys(JobFilter(job_id=JOB_ID, status=JobStatus.SUCCESS)) == []

    with db.session() as session:
        newest = jobs.list_jobs(session, limit=2)
    assert [JobKey(j.f_job_id, j.f_role, j.f_party_id) for j in newest] == [upload, GUEST]


def test_list_jobs_pages_and_filters(db: Database) -> None:
    """The board's listing: pages of the newest rows, the filters, and the count of them all."""
    # The newest id holds a "%": a character like any other to `job_id_contains`.
    ids = [f"20260101000000000000{n}" for n in range(5)] + ["2026010100000000000%5"]
    with db.session() as session:
        for n, job_id in enumerate(ids):
            for role, party in (("guest", "9999"), ("host", "10000")):
                status = JobStatus.FAILED if n % 2 else JobStatus.SUCCESS
                key = JobKey(job_id, role, party)
                jobs.create_job(session, make_job(key, status, f_create_time=1000 * n))

    def listed(listing: jobs.JobListing, limit: int | None = None, offset: int = 0) -> list[str]:
        with db.session() as session:
            rows = jobs.list_jobs(session, limit, listing, offset)
            if limit is None:
                assert jobs.count_jobs(session, listing) == len(rows)
        return [f"{j.f_job_id[-2:]}{j.f_role[0]}" for j in rows]

    everything = jobs.JobListing()
    assert listed(everything, limit=3) == ["%5g", "%5h", "04g"]
    assert listed(everything, limit=3, offset=3) == ["04h", "03g", "03h"]
    failed_hosts = jobs.JobListing(roles=("host",), statuses=(JobStatus.FAILED,))
    assert listed(failed_hosts) == ["%5h", "03h", "01h"]
    days = jobs.JobListing(party_id="9999", created_from=2000, created_to=4000)
    assert listed(days) == ["03g", "02g"]
    assert listed(jobs.JobListing(job_id_contains="%", roles=("guest",))) == ["%5g"]
    assert listed(jobs.JobListing(job_id_contains="0003")) == ["03g", "03h"]
    with db.session() as session:
        assert jobs.count_jobs(session, everything) == 12


def test_update_job_description(db: Database) -> None:
    with db.session() as session:
        jobs.create_job(session, make_job())
    with db.session() as session:
        assert jobs.update_job_description(session, GUEST, "first try") is True
        assert jobs.update_job_description(session, JobKey("nope", "guest", "9999"), "x") is False
    assert read_job(db, GUEST).f_description == "first try"


def test_job_transitions_follow_the_rules_exactly(db: Database) -> None:
    for source in JobStatus:
        for target in JobStatus:
            key = JobKey(f"j_{source}_{target}", "guest", "9999")
            with db.session() as session:
                jobs.create_job(session, make_job(key, source))
            with db.session() as session:
                applied = jobs.transition_job_status(session, key, target)
            assert applied == (target in JOB_TRANSITIONS[source]), (source, target)
            assert read_job(db, key).f_status is (target if applied else source)


def test_a_refused_transition_leaves_the_row_unchanged(db: Database) -> None:
    with db.session() as session:
        jobs.create_job(session, make_job(status=JobStatus.RUNNING, f_start_time=5))
    before = row_values(read_job(db, GUEST))

    with db.session() as session:
        assert jobs.transition_job_status(session, GUEST, JobStatus.READY) is False
        assert jobs.transition_job_status(session, GUEST, JobStatus.RUNNING) is False

    assert row_values(read_job(db, GUEST)) == before


def test_an_applied_transition_refreshes_the_loaded_row(db: Database) -> None:
    with db.session() as session:
        jobs.create_job(session, make_job())
    with db.session() as session:
        job = jobs.get_job(session, GUEST)
        assert jobs.transition_job_status(session, GUEST, JobStatus.RUNNING) is True
        assert job is not None
        assert job.f_status is JobStatus.RUNNING
        assert job.f_start_time is not None


def test_end_statuses_stamp_end_time_and_elapsed(db: Database) -> None:
    with db.session() as session:
        jobs.create_job(session, make_job())
    with db.session() as session:
        assert jobs.transition_job_status(session, GUEST, JobStatus.RUNNING)
    running = read_job(db, GUEST)
    assert running.f_start_time is not None
    assert (running.f_end_time, running.f_elapsed) == (None, None)

    with db.session() as session:
        assert jobs.transition_job_status(session, GUEST, JobStatus.FAILED)
    failed = read_job(db, GUEST)
    assert failed.f_start_time == running.f_start_time
    assert failed.f_end_time is not None
    assert failed.f_end_time >= failed.f_start_time
    assert failed.f_elapsed == failed.f_end_time - failed.f_start_time
    assert failed.f_update_time == failed.f_end_time

    # A rerun starts over: no times of the failed run remain.
    with db.session() as session:
        assert jobs.transition_job_status(session, GUEST, JobStatus.WAITING)
    rerun = read_job(db, GUEST)
    assert (rerun.f_start_time, rerun.f_end_time, rerun.f_elapsed) == (None, None, None)

    # Canceled before it ever ran: an end time, no elapsed time.
    with db.session() as session:
        assert jobs.transition_job_status(session, GUEST, JobStatus.CANCELED)
    canceled = read_job(db, GUEST)
    assert canceled.f_end_time is not None
    assert (canceled.f_start_time, canceled.f_elapsed) == (None, None)


def test_concurrent_writers_of_one_transition_have_one_winner(db: Database) -> None:
    with db.session() as session:
        jobs.create_job(session, make_job())
    results: dict[str, bool] = {}

    def second_writer() -> None:
        with db.session() as session:
            results["second"] = jobs.transition_job_status(session, GUEST, JobStatus.RUNNING)

    with db.session() as first:
        results["first"] = jobs.transition_job_status(first, GUEST, JobStatus.RUNNING)
        second = threading.Thread(target=second_writer)
        second.start()
        second.join(timeout=0.5)
        assert second.is_alive(), "the second writer should wait for the first to commit"
    second.join(timeout=20)

    assert results == {"first": True, "second": False}
    assert read_job(db, GUEST).f_status is JobStatus.RUNNING


def test_progress_never_goes_backwards(db: Database) -> None:
    with db.session() as session:
        jobs.create_job(session, make_job())
    for progress, applied, stored in [
        (30, True, 30),
        (20, False, 30),
        (30, True, 30),
        (100, True, 100),
    ]:
        with db.session() as session:
            assert jobs.update_job_progress(session, GUEST, progress) is applied
        assert read_job(db, GUEST).f_progress == stored


# --- tasks -------------------------------------------------------------------------------------


def task_key(
    component: str, role: str = "guest", party_id: str = "9999", version: int = 0
) -> TaskKey:
    return TaskKey(JOB_ID, f"{JOB_ID}_{component}", version, role, party_id)


def test_task_status_and_party_status_move_independently(db: Database) -> None:
    key = task_key("hetero_lr_0")
    with db.session() as session:
        tasks.create_task(session, make_task(key))

    with db.session() as session:
        assert tasks.transition_task_party_status(session, key, TaskStatus.RUNNING)
    task = read_task(db, key)
    assert (task.f_status, task.f_party_status) == (TaskStatus.WAITING, TaskStatus.RUNNING)
    started = task.f_start_time
    assert started is not None

    with db.session() as session:
        assert tasks.transition_task_status(session, key, TaskStatus.RUNNING)
        assert tasks.transition_task_party_status(session, key, TaskStatus.SUCCESS)
        # The federated view has its own guard: running -> waiting stays refused.
        assert not tasks.transition_task_status(session, key, TaskStatus.WAITING)
    task = read_task(db, key)
    assert (task.f_status, task.f_party_status) == (TaskStatus.RUNNING, TaskStatus.SUCCESS)
    assert task.f_start_time == started
    assert task.f_end_time is not None
    assert task.f_elapsed == task.f_end_time - started


def test_task_transitions_follow_the_rules_exactly(db: Database) -> None:
    for source in TaskStatus:
        for target in TaskStatus:
            key = task_key(f"{source}_{target}")
            with db.session() as session:
                tasks.create_task(session, make_task(key, source))
            with db.session() as session:
                federated = tasks.transition_task_status(session, key, target)
                local = tasks.transition_task_party_status(session, key, target)
            expected = target in TASK_TRANSITIONS[source]
            assert (federated, local) == (expected, expected), (source, target)
    # Our addition to FATE's rules: a stopped job ends the tasks that never ran.
    assert TaskStatus.CANCELED in TASK_TRANSITIONS[TaskStatus.WAITING]


def test_query_tasks_by_typed_filters(db: Database) -> None:
    reader = task_key("reader_0")
    lr_guest = task_key("hetero_lr_0")
    lr_host = task_key("hetero_lr_0", "host", "10000")
    lr_rerun = task_key("hetero_lr_0", version=1)
    with db.session() as session:
        tasks.create_task(session, make_task(reader, TaskStatus.SUCCESS, f_create_time=1000))
        tasks.create_task(session, make_task(lr_guest, TaskStatus.FAILED, f_create_time=2000))
        tasks.create_task(session, make_task(lr_host, f_create_time=2000))
        tasks.create_task(session, make_task(lr_rerun, TaskStatus.RUNNING, f_create_time=3000))

    def keys(task_filter: TaskFilter) -> list[TaskKey]:
        with db.session() as session:
            found = tasks.query_tasks(session, task_filter)
        return [
            TaskKey(t.f_job_id, t.f_task_id, t.f_task_version, t.f_role, t.f_party_id)
            for t in found
        ]

    assert keys(TaskFilter()) == []
    assert keys(TaskFilter(job_id=JOB_ID, component_name="hetero_lr_0", role="guest")) == [
        lr_rerun,
        lr_guest,
    ]
    assert keys(TaskFilter(party_id="10000")) == [lr_host]
    assert keys(TaskFilter(status=TaskStatus.SUCCESS)) == [reader]
    assert keys(TaskFilter(task_id=reader.task_id)) == [reader]
    with db.session() as session:
        assert [t.f_task_version for t in tasks.list_tasks(session, limit=1)] == [1]


# --- storage table metas -----------------------------------------------------------------------


def test_table_meta_roundtrip_list_and_delete(db: Database) -> None:
    schema = {"header": "y,x0,x1,x2", "sid": "id"}
    first_rows = [
        ["133", "1,0.254879,-1.046633,0.209656"],
        ["273", "1,-1.142928,-0.781198,-1.166747"],
    ]
    with db.session() as session:
        tables.create_table_meta(
            session,
            StorageTableMeta(
                f_name="breast_hetero_guest",
                f_namespace="experiment",
                f_engine="ARROW",
                f_address={"path": "data/experiment/breast_hetero_guest"},
                f_partitions=10,
                f_count=569,
                f_schema=schema,
                f_part_of_data=first_rows,
            ),
        )
        tables.create_table_meta(
            session,
            StorageTableMeta(
                f_name="a_table", f_namespace="experiment", f_engine="ARROW", f_partitions=1
            ),
        )
        tables.create_table_meta(
            session,
            StorageTableMeta(
                f_name="other", f_namespace="elsewhere", f_engine="ARROW", f_partitions=1
            ),
        )

    with db.session() as session:
        meta = tables.get_table_meta(session, "breast_hetero_guest", "experiment")
        assert meta is not None
        assert (meta.f_engine, meta.f_partitions, meta.f_count) == ("ARROW", 10, 569)
        assert meta.f_schema == schema
        assert meta.f_address == {"path": "data/experiment/breast_hetero_guest"}
        assert meta.f_part_of_data == first_rows
        assert (meta.f_id_delimiter, meta.f_have_head) == (",", True)
        bare = tables.get_table_meta(session, "a_table", "experiment")
        assert bare is not None
        assert (bare.f_part_of_data, bare.f_schema, bare.f_count) == (None, {}, 0)
        names = [m.f_name for m in tables.list_table_metas(session, "experiment")]
        assert names == ["a_table", "breast_hetero_guest"]

    with pytest.raises(IntegrityError), db.session() as session:
        tables.create_table_meta(
            session,
            StorageTableMeta(
                f_name="other", f_namespace="elsewhere", f_engine="ARROW", f_partitions=1
            ),
        )

    with db.session() as session:
        deleted = tables.delete_table_meta(session, "breast_hetero_guest", "experiment")
        assert deleted is not None
        assert deleted.f_schema == schema
        assert tables.delete_table_meta(session, "breast_hetero_guest", "experiment") is None
    with db.session() as session:
        assert tables.get_table_meta(session, "breast_hetero_guest", "experiment") is None


# --- upload history ----------------------------------------------------------------------------


def test_upload_history_is_newest_first_with_limit_and_filters(db: Database) -> None:
    def upload(job_id: str, created: int) -> UploadHistory:
        return UploadHistory(
            f_job_id=job_id,
            f_table_name=f"table_{job_id}",
            f_namespace="experiment",
            f_partition=4,
            f_status=JobStatus.RUNNING,
            f_file="breast_hetero_guest.csv",
            f_create_time=created,
        )

    with db.session() as session:
        uploads.add_upload(session, upload("u1", 1000))
        uploads.add_upload(session, upload("u3", 3000))
        uploads.add_upload(session, upload("u2", 2000))
    with db.session() as session:
        assert uploads.finish_upload(session, "u2", JobStatus.SUCCESS, 569) is True
        assert uploads.finish_upload(session, "missing", JobStatus.SUCCESS, 1) is False

    with db.session() as session:
        assert [u.f_job_id for u in uploads.list_uploads(session)] == ["u3", "u2", "u1"]
        assert [u.f_job_id for u in uploads.list_uploads(session, limit=2)] == ["u3", "u2"]
        (done,) = uploads.list_uploads(session, status=JobStatus.SUCCESS)
        assert (done.f_job_id, done.f_upload_count, done.f_status) == ("u2", 569, JobStatus.SUCCESS)
        (one,) = uploads.list_uploads(session, job_id="u1")
        assert (one.f_table_name, one.f_upload_count) == ("table_u1", None)


# --- tracking ----------------------------------------------------------------------------------

LR_GUEST = ComponentRef(JOB_ID, "hetero_lr_0", "guest", "9999")
LR_TASK_ID = f"{JOB_ID}_hetero_lr_0"


def test_metrics_roundtrip_with_points_sorted_by_key(db: Database) -> None:
    loss_meta = {"name": "loss", "metric_type": "LOSS", "unit_name": "iters", "curve_name": "loss"}
    with db.session() as session:
        tracking.save_metric_data(
            session,
            LR_GUEST,
            task_id=LR_TASK_ID,
            task_version=0,
            namespace="train",
            name="loss",
            points=[(2, 0.431), (0, 0.693147), (10, 0.25), (1, 0.5)],
        )
        tracking.save_metric_meta(
            session,
            LR_GUEST,
            task_id=LR_TASK_ID,
            task_version=0,
            namespace="train",
            name="loss",
            meta=loss_meta,
        )
        tracking.save_metric_data(
            session,
            LR_GUEST,
            task_id=LR_TASK_ID,
            task_version=0,
            namespace="train",
            name="hetero_lr_0",
            points=[("ks", 0.9), ("auc", 0.98)],
        )
        # Another party's metric of the same component must not show up.
        host = ComponentRef(JOB_ID, "hetero_lr_0", "host", "10000")
        tracking.save_metric_data(
            session,
            host,
            task_id=LR_TASK_ID,
            task_version=0,
            namespace="train",
            name="x",
            points=[(0, 1)],
        )

    loss = Metric(data=[(0, 0.693147), (1, 0.5), (2, 0.431), (10, 0.25)], meta=loss_meta)
    with db.session() as session:
        assert tracking.read_component_metrics(session, LR_GUEST) == {
            "train": {"loss": loss, "hetero_lr_0": Metric(data=[("auc", 0.98), ("ks", 0.9)])}
        }
        assert tracking.read_metric(session, LR_GUEST, "train", "loss") == loss
        assert tracking.read_metric(session, LR_GUEST, "validate", "loss") is None
        assert tracking.list_metric_names(session, LR_GUEST) == {"train": ["hetero_lr_0", "loss"]}

    with db.session() as session:
        tracking.save_metric_meta(
            session,
            LR_GUEST,
            task_id=LR_TASK_ID,
            task_version=0,
            namespace="train",
            name="loss",
            meta={"unit_name": "epochs"},
        )
    with db.session() as session:
        metric = tracking.read_metric(session, LR_GUEST, "train", "loss")
        assert metric is not None
        assert metric.meta == {**loss_meta, "unit_name": "epochs"}

    with db.session() as session:
        tracking.save_metric_data(
            session,
            ComponentRef("other_job", "hetero_lr_0", "guest", "9999"),
            task_id=LR_TASK_ID,
            task_version=0,
            namespace="train",
            name="loss",
            points=[(0, 1.0)],
        )
        assert tracking.delete_job_metrics(session, JOB_ID) == 12
    with db.session() as session:
        assert tracking.read_component_metrics(session, LR_GUEST) == {}
        assert tracking.list_metric_names(session, LR_GUEST) == {}
        other = ComponentRef("other_job", "hetero_lr_0", "guest", "9999")
        assert tracking.list_metric_names(session, other) == {"train": ["loss"]}


def test_delete_metrics_of_one_day(db: Database) -> None:
    def save(session: Session, job_id: str) -> None:
        ref = ComponentRef(job_id, "dag", "guest", "9999")
        tracking.save_metric_data(
            session, ref, task_id=job_id, task_version=0, namespace="n", name="m", points=[(0, 1)]
        )

    with db.session() as session:
        save(session, "20200612211650252762")
        save(session, "20200612093000000001")
        save(session, "20200613000000000000")
    with db.session() as session:
        assert tracking.delete_day_metrics(session, "20200612") == 2
        assert tracking.delete_day_metrics(session, "2020061%") == 0  # no LIKE wildcards
    with db.session() as session:
        kept = ComponentRef("20200613000000000000", "dag", "guest", "9999")
        assert tracking.list_metric_names(session, kept) == {"n": ["m"]}


def test_output_data_info_per_component_and_per_job(db: Database) -> None:
    def output(component: str, role: str, party_id: str, table: str) -> OutputDataInfo:
        return OutputDataInfo(
            f_job_id=JOB_ID,
            f_task_id=f"{JOB_ID}_{component}",
            f_task_version=0,
            f_data_name="data",
            f_role=role,
            f_party_id=party_id,
            f_component_name=component,
            f_table_name=table,
            f_table_namespace=f"output_data_{JOB_ID}_{component}_0",
        )

    with db.session() as session:
        tracking.save_output_data_info(session, output("dataio_0", "guest", "9999", "t1"))
        tracking.save_output_data_info(session, output("dataio_0", "host", "10000", "t2"))
        tracking.save_output_data_info(session, output("hetero_lr_0", "guest", "9999", "t3"))
    with db.session() as session:  # a retried task records its output again
        tracking.save_output_data_info(session, output("hetero_lr_0", "guest", "9999", "t4"))

    def tables_of(**narrow: str) -> list[str]:
        with db.session() as session:
            return sorted(
                o.f_table_name for o in tracking.list_output_data_info(session, JOB_ID, **narrow)
            )

    assert tables_of() == ["t1", "t2", "t4"]
    assert tables_of(component_name="dataio_0") == ["t1", "t2"]
    assert tables_of(component_name="dataio_0", role="host", party_id="10000") == ["t2"]
    assert tables_of(party_id="9999") == ["t1", "t4"]
    with db.session() as session:
        assert tracking.list_output_data_info(session, "other_job") == []


def test_component_summary_upsert_and_latest_version(db: Database) -> None:
    with db.session() as session:
        assert tracking.get_component_summary(session, LR_GUEST) is None
        tracking.save_component_summary(
            session, LR_GUEST, task_id=LR_TASK_ID, task_version=0, summary={"auc": 0.5}
        )
    with db.session() as session:
        tracking.save_component_summary(
            session, LR_GUEST, task_id=LR_TASK_ID, task_version=0, summary={"auc": 0.98}
        )
    with db.session() as session:
        assert tracking.get_component_summary(session, LR_GUEST) == {"auc": 0.98}
        tracking.save_component_summary(
            session, LR_GUEST, task_id=LR_TASK_ID, task_version=1, summary={"auc": 0.99}
        )
    with db.session() as session:
        assert tracking.get_component_summary(session, LR_GUEST) == {"auc": 0.99}
        host = ComponentRef(JOB_ID, "hetero_lr_0", "host", "10000")
        assert tracking.get_component_summary(session, host) is None


# --- model info --------------------------------------------------------------------------------


def test_model_info_save_get_query_delete(db: Database) -> None:
    model_id = "arbiter-10000#guest-9999#host-10000#model"
    guest = ModelKey(model_id, JOB_ID, "guest", "9999")
    host = ModelKey(model_id, JOB_ID, "host", "10000")
    inference_dsl = {"components": {"hetero_lr_0": {"module": "HeteroLR"}}}

    def info(key: ModelKey, **columns: Any) -> ModelInfo:
        return ModelInfo(
            f_model_id=key.model_id,
            f_model_version=key.model_version,
            f_role=key.role,
            f_party_id=key.party_id,
            f_job_id=JOB_ID,
            f_initiator_role="guest",
            f_initiator_party_id="9999",
            f_roles={"guest": [9999], "host": [10000], "arbiter": [10000]},
            **columns,
        )

    with db.session() as session:
        model_info.save_model_info(session, info(guest, f_inference_dsl=inference_dsl, f_size=2048))
        model_info.save_model_info(session, info(host))
    with db.session() as session:
        model_info.save_model_info(session, info(guest, f_inference_dsl=inference_dsl, f_size=4096))

    with db.session() as session:
        stored = model_info.get_model_info(session, guest)
        assert stored is not None
        assert (stored.f_size, stored.f_inference_dsl, stored.f_imported) == (
            4096,
            inference_dsl,
            False,
        )
        assert stored.f_roles["host"] == [10000]
        found = model_info.query_model_info(session, model_id=model_id)
        assert sorted(m.f_role for m in found) == ["guest", "host"]
        assert [
            m.f_role
            for m in model_info.query_model_info(session, model_version=JOB_ID, role="host")
        ] == ["host"]
        assert model_info.query_model_info(session) == []
        assert model_info.query_model_info(session, model_id="unknown") == []

    with db.session() as session:
        assert model_info.delete_model_info(session, guest) is True
        assert model_info.delete_model_info(session, guest) is False
    with db.session() as session:
        assert model_info.get_model_info(session, guest) is None
        assert model_info.get_model_info(session, host) is not None


# --- replicas ----------------------------------------------------------------------------------


def make_replica(name: str, lease_ms: int = 60_000, free_slots: int = 4) -> Replica:
    return Replica(
        f_name=name,
        f_party_id="9999",
        f_host="machine",
        f_pid=1,
        f_address=f"{name}:9360",
        f_free_slots=free_slots,
        f_lease_until=now_ms() + lease_ms,
    )


def test_a_replica_is_live_while_its_lease_runs_and_renews_only_then(db: Database) -> None:
    with db.session() as session:
        replicas.register(session, make_replica("a"))
        replicas.register(session, make_replica("b", lease_ms=-1))
    with db.session() as session:
        assert [r.f_name for r in replicas.live_replicas(session, "9999")] == ["a"]
        assert replicas.renew(session, "a", now_ms() + 1000, 3)
        # b's lease ran out: the others may have taken its work, it must not renew.
        assert not replicas.renew(session, "b", now_ms() + 1000, 3)
        assert not replicas.renew(session, "nobody", now_ms() + 1000, 3)
    with db.session() as session:
        # A previous run's row is replaced whole.
        replicas.register(session, make_replica("b", free_slots=7))
    with db.session() as session:
        assert {r.f_name: r.f_free_slots for r in replicas.live_replicas(session, "9999")} == {
            "a": 3,
            "b": 7,
        }
        replicas.remove(session, "a")
    with db.session() as session:
        assert [r.f_name for r in replicas.live_replicas(session, "9999")] == ["b"]


def test_jobs_are_claimed_from_replicas_that_are_gone_only(db: Database) -> None:
    keys = [JobKey(f"2020061221165025276{i:02d}", "guest", "9999") for i in range(4)]
    with db.session() as session:
        replicas.register(session, make_replica("live"))
        replicas.register(session, make_replica("other"))
        replicas.register(session, make_replica("gone", lease_ms=-1))
        jobs.create_job(session, make_job(keys[0], f_is_initiator=True, f_scheduler="live"))
        jobs.create_job(session, make_job(keys[1], f_is_initiator=True, f_scheduler="gone"))
        jobs.create_job(session, make_job(keys[2], f_is_initiator=True))
        done = make_job(keys[3], JobStatus.SUCCESS, f_is_initiator=True, f_scheduler="gone")
        jobs.create_job(session, done)
    with db.session() as session:
        claimed = replicas.claim_jobs(session, "other", "9999")
    assert sorted(claimed, key=str) == sorted(
        [(keys[1].job_id, "gone"), (keys[2].job_id, None)], key=str
    )
    with db.session() as session:
        assert replicas.claim_jobs(session, "third", "9999") == []
        mine = jobs.query_jobs(session, JobFilter(scheduler="other"))
    assert sorted(job.f_job_id for job in mine) == [keys[1].job_id, keys[2].job_id]


def test_a_job_locked_by_one_claimer_is_skipped_by_the_other(
    db: Database, database_url: str
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has no row locks: one node runs on it alone")
    with db.session() as session:
        jobs.create_job(session, make_job(GUEST, f_is_initiator=True))
    with db.session() as first:
        assert [job for job, _ in replicas.claim_jobs(first, "a", "9999")] == [JOB_ID]
        found: list[Any] = []
        second = threading.Thread(
            target=lambda: found.extend(_claim_in_new_session(db, "b")), daemon=True
        )
        second.start()
        second.join(timeout=20)
        assert not second.is_alive(), "the second claimer must skip the locked row, not wait"
    assert found == []
    assert read_job(db, GUEST).f_scheduler == "a"


def _claim_in_new_session(db: Database, name: str) -> list[tuple[str, str | None]]:
    with db.session() as session:
        return replicas.claim_jobs(session, name, "9999")


def test_started_tasks_are_claimed_once_and_never_beside_a_held_attempt(db: Database) -> None:
    first, second = task_key("reader"), task_key("lr")
    with db.session() as session:
        replicas.register(session, make_replica("a"))
        tasks.create_task(session, make_task(first, TaskStatus.RUNNING, f_run_on_this_party=True))
        tasks.create_task(session, make_task(second, TaskStatus.WAITING, f_run_on_this_party=True))
        # Another party's task, as the initiator keeps it: never run here.
        host = task_key("lr", "host", "10000")
        tasks.create_task(session, make_task(host, TaskStatus.RUNNING))
    with db.session() as session:
        assert [t.f_task_id for t in replicas.claim_tasks(session, "a", "9999", 5)] == [
            first.task_id
        ]
    with db.session() as session:
        assert replicas.claim_tasks(session, "b", "9999", 5) == []
        # The next attempt of the claimed task waits while the first one is held.
        again = first._replace(task_version=1)
        tasks.create_task(session, make_task(again, TaskStatus.RUNNING, f_run_on_this_party=True))
    with db.session() as session:
        assert replicas.claim_tasks(session, "b", "9999", 5) == []
        assert [t.f_task_version for t in replicas.held_tasks(session, "a")] == [0]
        assert not replicas.release(session, first, "b")
        # Its worker has ended: the attempt is over, and let go of.
        assert tasks.transition_task_party_status(session, first, TaskStatus.CANCELED)
        assert replicas.release(session, first, "a")
    with db.session() as session:
        claimed = replicas.claim_tasks(session, "b", "9999", 5)
    assert [(t.f_task_id, t.f_task_version) for t in claimed] == [(first.task_id, 1)]
    assert read_task(db, again).f_holder == "b"


def test_tasks_of_replicas_that_are_gone_are_lost(db: Database) -> None:
    kept, lost = task_key("reader"), task_key("lr")
    with db.session() as session:
        replicas.register(session, make_replica("live"))
        replicas.register(session, make_replica("gone", lease_ms=-1))
        tasks.create_task(session, make_task(kept, TaskStatus.RUNNING, f_holder="live"))
        tasks.create_task(session, make_task(lost, TaskStatus.RUNNING, f_holder="gone"))
        tasks.create_task(session, make_task(task_key("x"), TaskStatus.RUNNING, f_holder="unknown"))
    with db.session() as session:
        found = sorted(t.f_task_id for t in replicas.lost_tasks(session))
    assert found == sorted([lost.task_id, task_key("x").task_id])


def test_the_party_lock_makes_replicas_take_turns(db: Database, database_url: str) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has no row locks: one node runs on it alone")
    with db.session() as session:
        replicas.register(session, make_replica("a"))
        replicas.register(session, make_replica("b"))
    order: list[str] = []

    def second() -> None:
        with db.session() as session:
            replicas.lock_party(session, "9999")
            order.append("second")

    with db.session() as session:
        replicas.lock_party(session, "9999")
        waiting = threading.Thread(target=second, daemon=True)
        waiting.start()
        waiting.join(timeout=0.5)
        assert waiting.is_alive(), "the second replica should wait for the first"
        order.append("first")
    waiting.join(timeout=20)
    assert order == ["first", "second"]


def test_nodes_migrating_one_new_database_at_once_take_turns(
    database_url: str, tmp_path: Path
) -> None:
    """Replicas of a party starting together each bring the schema up to date."""
    if database_url.startswith("sqlite"):
        scratch = contextlib.nullcontext(f"sqlite:///{tmp_path / 'fresh.db'}")
    else:
        backend = make_url(database_url).get_backend_name()
        server = os.environ[SERVER_URL_VARIABLES[backend]]
        scratch = contextlib.contextmanager(scratch_database)(server)
    with scratch as url:
        errors: list[BaseException] = []

        def migrate() -> None:
            try:
                create_database(url).dispose()
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=migrate) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
