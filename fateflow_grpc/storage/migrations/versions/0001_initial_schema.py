"""Initial schema: the FATE-Flow 1.5 tables fateflow-grpc keeps.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JOB_STATUSES = ("waiting", "ready", "running", "canceled", "timeout", "failed", "success")
TASK_STATUSES = ("waiting", "running", "canceled", "timeout", "failed", "success")


def _enum(name: str, values: Sequence[str]) -> sa.Enum:
    # A VARCHAR(16) holding the value; no native enum type and no CHECK constraint.
    return sa.Enum(*values, name=name, native_enum=False, length=16)


def upgrade() -> None:
    op.create_table(
        "t_job",
        sa.Column("f_job_id", sa.String(32), nullable=False),
        sa.Column("f_role", sa.String(32), nullable=False),
        sa.Column("f_party_id", sa.String(32), nullable=False),
        sa.Column("f_name", sa.String(128), nullable=False),
        sa.Column("f_description", sa.Text(), nullable=False),
        sa.Column("f_tag", sa.String(64), nullable=False),
        sa.Column("f_dsl", sa.JSON(), nullable=False),
        sa.Column("f_runtime_conf", sa.JSON(), nullable=False),
        sa.Column("f_runtime_conf_on_party", sa.JSON(), nullable=False),
        sa.Column("f_train_runtime_conf", sa.JSON(), nullable=False),
        sa.Column("f_roles", sa.JSON(), nullable=False),
        sa.Column("f_work_mode", sa.Integer(), nullable=False),
        sa.Column("f_initiator_role", sa.String(32), nullable=False),
        sa.Column("f_initiator_party_id", sa.String(32), nullable=False),
        sa.Column("f_status", _enum("jobstatus", JOB_STATUSES), nullable=False),
        sa.Column("f_is_initiator", sa.Boolean(), nullable=False),
        sa.Column("f_progress", sa.Integer(), nullable=False),
        sa.Column("f_cancel_signal", sa.Boolean(), nullable=False),
        sa.Column("f_rerun_signal", sa.Boolean(), nullable=False),
        sa.Column("f_create_time", sa.BigInteger(), nullable=False),
        sa.Column("f_update_time", sa.BigInteger(), nullable=True),
        sa.Column("f_start_time", sa.BigInteger(), nullable=True),
        sa.Column("f_end_time", sa.BigInteger(), nullable=True),
        sa.Column("f_elapsed", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("f_job_id", "f_role", "f_party_id", name="pk_t_job"),
    )
    op.create_index("ix_t_job_f_status", "t_job", ["f_status"])
    op.create_index("ix_t_job_f_create_time", "t_job", ["f_create_time"])

    op.create_table(
        "t_task",
        sa.Column("f_job_id", sa.String(32), nullable=False),
        sa.Column("f_task_id", sa.String(128), nullable=False),
        sa.Column("f_task_version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("f_role", sa.String(32), nullable=False),
        sa.Column("f_party_id", sa.String(32), nullable=False),
        sa.Column("f_component_name", sa.String(64), nullable=False),
        sa.Column("f_initiator_role", sa.String(32), nullable=False),
        sa.Column("f_initiator_party_id", sa.String(32), nullable=False),
        sa.Column("f_status", _enum("taskstatus", TASK_STATUSES), nullable=False),
        sa.Column("f_party_status", _enum("taskstatus", TASK_STATUSES), nullable=False),
        sa.Column("f_run_on_this_party", sa.Boolean(), nullable=False),
        sa.Column("f_run_ip", sa.String(64), nullable=True),
        sa.Column("f_run_pid", sa.Integer(), nullable=True),
        sa.Column("f_create_time", sa.BigInteger(), nullable=False),
        sa.Column("f_update_time", sa.BigInteger(), nullable=True),
        sa.Column("f_start_time", sa.BigInteger(), nullable=True),
        sa.Column("f_end_time", sa.BigInteger(), nullable=True),
        sa.Column("f_elapsed", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint(
            "f_job_id", "f_task_id", "f_task_version", "f_role", "f_party_id", name="pk_t_task"
        ),
    )

    op.create_table(
        "t_storage_table_meta",
        sa.Column("f_name", sa.String(128), nullable=False),
        sa.Column("f_namespace", sa.String(128), nullable=False),
        sa.Column("f_engine", sa.String(32), nullable=False),
        sa.Column("f_address", sa.JSON(), nullable=False),
        sa.Column("f_partitions", sa.Integer(), nullable=False),
        sa.Column("f_count", sa.BigInteger(), nullable=False),
        sa.Column("f_schema", sa.JSON(), nullable=False),
        sa.Column("f_id_delimiter", sa.String(16), nullable=False),
        sa.Column("f_have_head", sa.Boolean(), nullable=False),
        sa.Column("f_part_of_data", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("f_create_time", sa.BigInteger(), nullable=False),
        sa.Column("f_update_time", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("f_name", "f_namespace", name="pk_t_storage_table_meta"),
    )

    op.create_table(
        "t_upload_history",
        sa.Column("f_job_id", sa.String(32), nullable=False),
        sa.Column("f_table_name", sa.String(128), nullable=False),
        sa.Column("f_namespace", sa.String(128), nullable=False),
        sa.Column("f_partition", sa.Integer(), nullable=False),
        sa.Column("f_upload_count", sa.BigInteger(), nullable=True),
        sa.Column("f_status", _enum("jobstatus", JOB_STATUSES), nullable=False),
        sa.Column("f_file", sa.String(255), nullable=False),
        sa.Column("f_create_time", sa.BigInteger(), nullable=False),
        sa.Column("f_update_time", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("f_job_id", name="pk_t_upload_history"),
    )
    op.create_index("ix_t_upload_history_f_create_time", "t_upload_history", ["f_create_time"])

    op.create_table(
        "t_tracking_metric",
        sa.Column(
            "f_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("f_job_id", sa.String(32), nullable=False),
        sa.Column("f_component_name", sa.String(64), nullable=False),
        sa.Column("f_task_id", sa.String(128), nullable=False),
        sa.Column("f_task_version", sa.Integer(), nullable=False),
        sa.Column("f_role", sa.String(32), nullable=False),
        sa.Column("f_party_id", sa.String(32), nullable=False),
        sa.Column("f_metric_namespace", sa.String(128), nullable=False),
        sa.Column("f_metric_name", sa.String(128), nullable=False),
        sa.Column("f_type", _enum("metrickind", ("meta", "data")), nullable=False),
        sa.Column("f_key", sa.JSON(), nullable=False),
        sa.Column("f_value", sa.JSON(), nullable=False),
        sa.Column("f_create_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("f_id", name="pk_t_tracking_metric"),
    )
    op.create_index(
        "ix_t_tracking_metric_component",
        "t_tracking_metric",
        ["f_job_id", "f_component_name", "f_role", "f_party_id"],
    )

    op.create_table(
        "t_tracking_output_data_info",
        sa.Column("f_job_id", sa.String(32), nullable=False),
        sa.Column("f_task_id", sa.String(128), nullable=False),
        sa.Column("f_task_version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("f_data_name", sa.String(64), nullable=False),
        sa.Column("f_role", sa.String(32), nullable=False),
        sa.Column("f_party_id", sa.String(32), nullable=False),
        sa.Column("f_component_name", sa.String(64), nullable=False),
        sa.Column("f_table_name", sa.String(128), nullable=False),
        sa.Column("f_table_namespace", sa.String(128), nullable=False),
        sa.Column("f_description", sa.Text(), nullable=False),
        sa.Column("f_create_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "f_job_id",
            "f_task_id",
            "f_task_version",
            "f_data_name",
            "f_role",
            "f_party_id",
            name="pk_t_tracking_output_data_info",
        ),
    )

    op.create_table(
        "t_component_summary",
        sa.Column("f_job_id", sa.String(32), nullable=False),
        sa.Column("f_component_name", sa.String(64), nullable=False),
        sa.Column("f_role", sa.String(32), nullable=False),
        sa.Column("f_party_id", sa.String(32), nullable=False),
        sa.Column("f_task_id", sa.String(128), nullable=False),
        sa.Column("f_task_version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("f_summary", sa.JSON(), nullable=False),
        sa.Column("f_create_time", sa.BigInteger(), nullable=False),
        sa.Column("f_update_time", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint(
            "f_job_id",
            "f_component_name",
            "f_role",
            "f_party_id",
            "f_task_id",
            "f_task_version",
            name="pk_t_component_summary",
        ),
    )

    op.create_table(
        "t_machine_learning_model_info",
        sa.Column("f_model_id", sa.String(128), nullable=False),
        sa.Column("f_model_version", sa.String(32), nullable=False),
        sa.Column("f_role", sa.String(32), nullable=False),
        sa.Column("f_party_id", sa.String(32), nullable=False),
        sa.Column("f_job_id", sa.String(32), nullable=False),
        sa.Column("f_roles", sa.JSON(), nullable=False),
        sa.Column("f_initiator_role", sa.String(32), nullable=False),
        sa.Column("f_initiator_party_id", sa.String(32), nullable=False),
        sa.Column("f_runtime_conf", sa.JSON(), nullable=False),
        sa.Column("f_train_runtime_conf", sa.JSON(), nullable=False),
        sa.Column("f_dsl", sa.JSON(), nullable=False),
        sa.Column("f_inference_dsl", sa.JSON(), nullable=False),
        sa.Column("f_size", sa.BigInteger(), nullable=False),
        sa.Column("f_description", sa.Text(), nullable=False),
        sa.Column("f_imported", sa.Boolean(), nullable=False),
        sa.Column("f_create_time", sa.BigInteger(), nullable=False),
        sa.Column("f_update_time", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint(
            "f_model_id",
            "f_model_version",
            "f_role",
            "f_party_id",
            name="pk_t_machine_learning_model_info",
        ),
    )


def downgrade() -> None:
    for table in (
        "t_machine_learning_model_info",
        "t_component_summary",
        "t_tracking_output_data_info",
        "t_tracking_metric",
        "t_upload_history",
        "t_storage_table_meta",
        "t_task",
        "t_job",
    ):
        op.drop_table(table)  # drops the table's indexes with it
