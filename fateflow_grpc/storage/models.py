"""ORM models of FATE-Flow's tables.

Table and column names are FATE's (``t_job.f_status``, ...), so a row maps one to one onto the
JSON objects FATE-Flow clients read. Times are epoch milliseconds, FATE's unit. Party ids are
strings, as in FATE: party "0" is the local pseudo-party of upload jobs.

Every primary key fits MySQL/MariaDB's index limit under utf8mb4: each column holds at most
128 characters and the whole key stays under 3072 bytes.
"""

import time
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Enum, Index, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from fateflow_grpc.status import END_STATUSES, JobStatus, TaskStatus

JOB_ID = String(32)  # FATE's ids have 21-22 digits
ROLE = String(32)
PARTY_ID = String(32)
COMPONENT = String(64)
TASK_ID = String(128)  # "<job_id>_<component_name>"
NAME = String(128)  # table names, namespaces, model ids, metric names
REPLICA = String(128)  # a replica's name (`NodeConfig.replica_name`)


def now_ms() -> int:
    """Now as epoch milliseconds, the unit of every ``f_*_time`` column."""
    return int(time.time() * 1000)


def _enum(enum_class: type[StrEnum]) -> Enum:
    # FATE's lowercase values ("running"), not member names, in a plain VARCHAR: readable rows,
    # and adding a status later needs no ALTER TYPE on PostgreSQL.
    return Enum(
        enum_class,
        values_callable=lambda members: [member.value for member in members],
        native_enum=False,
        length=16,
        validate_strings=True,
    )


class Base(DeclarativeBase):
    # Fixed constraint names, so migrations can refer to them on every engine.
    metadata = MetaData(
        naming_convention={"ix": "ix_%(table_name)s_%(column_0_name)s", "pk": "pk_%(table_name)s"}
    )


class _RunTimes:
    """Start, end and elapsed time of a job or task run, kept in step with its status."""

    f_start_time: Mapped[int | None] = mapped_column(BigInteger, sort_order=10)
    f_end_time: Mapped[int | None] = mapped_column(BigInteger, sort_order=10)
    f_elapsed: Mapped[int | None] = mapped_column(BigInteger, sort_order=10)

    @classmethod
    def run_times_after(cls, status: str, now: int) -> dict[str, Any]:
        """The column values a move to ``status`` at ``now`` implies, for a guarded UPDATE.

        The times describe the current run. An end status stamps the end and the elapsed time,
        which SQL computes from the stored start (NULL when the run never started). ``running``
        starts a run; any other status (a rerun's ``waiting``) clears the previous run's times.
        """
        if status in END_STATUSES:
            return {"f_end_time": now, "f_elapsed": now - cls.f_start_time}
        return {
            "f_start_time": now if status == "running" else None,
            "f_end_time": None,
            "f_elapsed": None,
        }


class Job(_RunTimes, Base):
    """One party's row of a job; each party keeps a row per role it plays."""

    __tablename__ = "t_job"

    f_job_id: Mapped[str] = mapped_column(JOB_ID, primary_key=True)
    f_role: Mapped[str] = mapped_column(ROLE, primary_key=True)
    f_party_id: Mapped[str] = mapped_column(PARTY_ID, primary_key=True)
    f_name: Mapped[str] = mapped_column(NAME, default="")
    f_description: Mapped[str] = mapped_column(Text, default="")
    f_tag: Mapped[str] = mapped_column(String(64), default="")
    f_dsl: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    f_runtime_conf: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    f_runtime_conf_on_party: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    f_train_runtime_conf: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    f_roles: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    f_work_mode: Mapped[int] = mapped_column(default=0)
    f_initiator_role: Mapped[str] = mapped_column(ROLE)
    f_initiator_party_id: Mapped[str] = mapped_column(PARTY_ID)
    f_status: Mapped[JobStatus] = mapped_column(_enum(JobStatus), index=True)
    f_is_initiator: Mapped[bool] = mapped_column(default=False)
    f_progress: Mapped[int] = mapped_column(default=0)
    f_cancel_signal: Mapped[bool] = mapped_column(default=False)
    f_rerun_signal: Mapped[bool] = mapped_column(default=False)
    #: Why the job may expose a party's data (not a FATE column; see docs/security.md).
    f_warnings: Mapped[list[str] | None] = mapped_column(JSON, default=list)
    #: The replica whose scheduler drives the job (initiator rows only; not a FATE column).
    f_scheduler: Mapped[str | None] = mapped_column(REPLICA)
    f_create_time: Mapped[int] = mapped_column(BigInteger, default=now_ms, index=True)
    f_update_time: Mapped[int | None] = mapped_column(BigInteger, default=now_ms, onupdate=now_ms)


class Task(_RunTimes, Base):
    """One party's run of a component. ``f_status`` is the federated view (derived at the
    initiator from every party), ``f_party_status`` the local one; the run times follow the
    local one."""

    __tablename__ = "t_task"

    f_job_id: Mapped[str] = mapped_column(JOB_ID, primary_key=True)
    f_task_id: Mapped[str] = mapped_column(TASK_ID, primary_key=True)
    f_task_version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    f_role: Mapped[str] = mapped_column(ROLE, primary_key=True)
    f_party_id: Mapped[str] = mapped_column(PARTY_ID, primary_key=True)
    f_component_name: Mapped[str] = mapped_column(COMPONENT)
    f_initiator_role: Mapped[str] = mapped_column(ROLE)
    f_initiator_party_id: Mapped[str] = mapped_column(PARTY_ID)
    f_status: Mapped[TaskStatus] = mapped_column(_enum(TaskStatus))
    f_party_status: Mapped[TaskStatus] = mapped_column(_enum(TaskStatus), index=True)
    f_run_on_this_party: Mapped[bool] = mapped_column(default=False)
    f_run_ip: Mapped[str | None] = mapped_column(String(64))
    f_run_pid: Mapped[int | None]
    #: How many more times the initiator reruns the task when it fails (FATE 1.7+).
    f_auto_retries: Mapped[int] = mapped_column(default=0, server_default="0")
    #: The replica whose worker process runs this attempt now; NULL before one claims it and
    #: once that process has ended (not a FATE column).
    f_holder: Mapped[str | None] = mapped_column(REPLICA, index=True)
    f_create_time: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    f_update_time: Mapped[int | None] = mapped_column(BigInteger, default=now_ms, onupdate=now_ms)


class Replica(Base):
    """One `fateflow node` of a party sharing its database with the party's other replicas.

    It is live while its lease has not run out (`f_lease_until`, renewed by its heartbeat); the
    jobs it schedules and the tasks it holds go to the others once it is not.
    """

    __tablename__ = "t_replica"

    f_name: Mapped[str] = mapped_column(REPLICA, primary_key=True)
    f_party_id: Mapped[str] = mapped_column(PARTY_ID)
    f_host: Mapped[str] = mapped_column(String(255))
    f_pid: Mapped[int]
    #: Where its core serves gRPC.
    f_address: Mapped[str] = mapped_column(String(255))
    #: Tasks it can take more, as of its last heartbeat or claim.
    f_free_slots: Mapped[int]
    f_lease_until: Mapped[int] = mapped_column(BigInteger)
    f_create_time: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    f_update_time: Mapped[int | None] = mapped_column(BigInteger, default=now_ms, onupdate=now_ms)


class StorageTableMeta(Base):
    """Where a data table lives and what it holds (FATE's fate_arch storage meta)."""

    __tablename__ = "t_storage_table_meta"

    f_name: Mapped[str] = mapped_column(NAME, primary_key=True)
    f_namespace: Mapped[str] = mapped_column(NAME, primary_key=True)
    f_engine: Mapped[str] = mapped_column(String(32))
    f_address: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    f_partitions: Mapped[int]
    f_count: Mapped[int] = mapped_column(BigInteger, default=0)
    f_schema: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # {"header", "sid"}
    f_id_delimiter: Mapped[str] = mapped_column(String(16), default=",")
    f_have_head: Mapped[bool] = mapped_column(default=True)
    f_part_of_data: Mapped[list[Any] | None] = mapped_column(JSON(none_as_null=True))
    f_create_time: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    f_update_time: Mapped[int | None] = mapped_column(BigInteger, default=now_ms, onupdate=now_ms)


class UploadHistory(Base):
    """One upload job and the table it fills. FATE derives this from its upload job rows; a
    row of its own keeps the history readable after those jobs are cleaned."""

    __tablename__ = "t_upload_history"

    f_job_id: Mapped[str] = mapped_column(JOB_ID, primary_key=True)
    f_table_name: Mapped[str] = mapped_column(NAME)
    f_namespace: Mapped[str] = mapped_column(NAME)
    f_partition: Mapped[int]
    f_upload_count: Mapped[int | None] = mapped_column(BigInteger)  # set when the upload ends
    f_status: Mapped[JobStatus] = mapped_column(_enum(JobStatus))
    f_file: Mapped[str] = mapped_column(String(255))
    f_create_time: Mapped[int] = mapped_column(BigInteger, default=now_ms, index=True)
    f_update_time: Mapped[int | None] = mapped_column(BigInteger, default=now_ms, onupdate=now_ms)


class MetricKind(StrEnum):
    """What a metric row holds: one data point, or one item of the metric's meta."""

    META = "meta"
    DATA = "data"


class TrackingMetric(Base):
    """One data point or meta item of a component's metric, for every job in one table.

    FATE shards this table by the date in the job id and creates the shards lazily, which let
    queries hit shards that did not exist yet (FATE #2864); one indexed table has no such gap.
    Keys and values are JSON, never pickle, so no row can run code when read.
    """

    __tablename__ = "t_tracking_metric"
    __table_args__ = (
        Index(
            "ix_t_tracking_metric_component", "f_job_id", "f_component_name", "f_role", "f_party_id"
        ),
    )

    # BIGINT on servers; SQLite auto-increments only a column declared INTEGER.
    f_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    f_job_id: Mapped[str] = mapped_column(JOB_ID)
    f_component_name: Mapped[str] = mapped_column(COMPONENT)
    f_task_id: Mapped[str] = mapped_column(TASK_ID)
    f_task_version: Mapped[int]
    f_role: Mapped[str] = mapped_column(ROLE)
    f_party_id: Mapped[str] = mapped_column(PARTY_ID)
    f_metric_namespace: Mapped[str] = mapped_column(NAME)
    f_metric_name: Mapped[str] = mapped_column(NAME)
    f_type: Mapped[MetricKind] = mapped_column(_enum(MetricKind))
    f_key: Mapped[Any] = mapped_column(JSON)
    f_value: Mapped[Any] = mapped_column(JSON)
    f_create_time: Mapped[int] = mapped_column(BigInteger, default=now_ms)


class OutputDataInfo(Base):
    """The table a task wrote for one of its data outputs."""

    __tablename__ = "t_tracking_output_data_info"

    f_job_id: Mapped[str] = mapped_column(JOB_ID, primary_key=True)
    f_task_id: Mapped[str] = mapped_column(TASK_ID, primary_key=True)
    f_task_version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    f_data_name: Mapped[str] = mapped_column(COMPONENT, primary_key=True)
    f_role: Mapped[str] = mapped_column(ROLE, primary_key=True)
    f_party_id: Mapped[str] = mapped_column(PARTY_ID, primary_key=True)
    f_component_name: Mapped[str] = mapped_column(COMPONENT)
    f_table_name: Mapped[str] = mapped_column(NAME)
    f_table_namespace: Mapped[str] = mapped_column(NAME)
    f_description: Mapped[str] = mapped_column(Text, default="")
    f_create_time: Mapped[int] = mapped_column(BigInteger, default=now_ms)


class ComponentSummary(Base):
    """The summary a component reports about one run (e.g. an evaluation's scores)."""

    __tablename__ = "t_component_summary"

    f_job_id: Mapped[str] = mapped_column(JOB_ID, primary_key=True)
    f_component_name: Mapped[str] = mapped_column(COMPONENT, primary_key=True)
    f_role: Mapped[str] = mapped_column(ROLE, primary_key=True)
    f_party_id: Mapped[str] = mapped_column(PARTY_ID, primary_key=True)
    f_task_id: Mapped[str] = mapped_column(TASK_ID, primary_key=True)
    f_task_version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    f_summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    f_create_time: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    f_update_time: Mapped[int | None] = mapped_column(BigInteger, default=now_ms, onupdate=now_ms)


class ModelInfo(Base):
    """One party's copy of a trained model: model id + version (= the training job id)."""

    __tablename__ = "t_machine_learning_model_info"

    f_model_id: Mapped[str] = mapped_column(NAME, primary_key=True)
    f_model_version: Mapped[str] = mapped_column(JOB_ID, primary_key=True)
    f_role: Mapped[str] = mapped_column(ROLE, primary_key=True)
    f_party_id: Mapped[str] = mapped_column(PARTY_ID, primary_key=True)
    f_job_id: Mapped[str] = mapped_column(JOB_ID)
    f_roles: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    f_initiator_role: Mapped[str] = mapped_column(ROLE)
    f_initiator_party_id: Mapped[str] = mapped_column(PARTY_ID)
    f_runtime_conf: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    f_train_runtime_conf: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    f_dsl: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    f_inference_dsl: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: False for a deployed copy (FATE 1.7's child model), which can not be deployed again.
    f_parent: Mapped[bool] = mapped_column(default=True, server_default="1")
    #: A deployed copy's trained model: parent_model_id, parent_model_version.
    f_parent_info: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    f_size: Mapped[int] = mapped_column(BigInteger, default=0)
    f_description: Mapped[str] = mapped_column(Text, default="")
    f_imported: Mapped[bool] = mapped_column(default=False)
    f_create_time: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    f_update_time: Mapped[int | None] = mapped_column(BigInteger, default=now_ms, onupdate=now_ms)
