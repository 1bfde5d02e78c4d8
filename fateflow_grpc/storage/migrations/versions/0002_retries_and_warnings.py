"""Auto retries of tasks (FATE 1.7+'s t_task.f_auto_retries) and the warnings of a job.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "t_task", sa.Column("f_auto_retries", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column("t_job", sa.Column("f_warnings", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("t_job", "f_warnings")
    op.drop_column("t_task", "f_auto_retries")
