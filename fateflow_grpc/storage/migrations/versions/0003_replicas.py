"""Replicas of a party on one database: their leases, the job each schedules, the task each runs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The holder of the tasks that ran when the schema was upgraded: no replica has that name, so
#: they are lost, and failed, like those of any replica that is gone.
PREVIOUS_RUN = "(before replicas)"


def upgrade() -> None:
    op.create_table(
        "t_replica",
        sa.Column("f_name", sa.String(128), nullable=False),
        sa.Column("f_party_id", sa.String(32), nullable=False),
        sa.Column("f_host", sa.String(255), nullable=False),
        sa.Column("f_pid", sa.Integer(), nullable=False),
        sa.Column("f_address", sa.String(255), nullable=False),
        sa.Column("f_free_slots", sa.Integer(), nullable=False),
        sa.Column("f_lease_until", sa.BigInteger(), nullable=False),
        sa.Column("f_create_time", sa.BigInteger(), nullable=False),
        sa.Column("f_update_time", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("f_name", name="pk_t_replica"),
    )
    op.add_column("t_job", sa.Column("f_scheduler", sa.String(128), nullable=True))
    op.add_column("t_task", sa.Column("f_holder", sa.String(128), nullable=True))
    op.create_index("ix_t_task_f_holder", "t_task", ["f_holder"])
    op.create_index("ix_t_task_f_party_status", "t_task", ["f_party_status"])
    op.execute(
        sa.text(
            "UPDATE t_task SET f_holder = :holder "
            "WHERE f_party_status = 'running' AND f_run_on_this_party = :here"
        ).bindparams(holder=PREVIOUS_RUN, here=True)
    )


def downgrade() -> None:
    op.drop_index("ix_t_task_f_party_status", "t_task")
    op.drop_index("ix_t_task_f_holder", "t_task")
    op.drop_column("t_task", "f_holder")
    op.drop_column("t_job", "f_scheduler")
    op.drop_table("t_replica")
