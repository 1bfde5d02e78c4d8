"""Deployed models (FATE 1.7's `model/deploy`): whether a model is a trained one or a deployed
copy of one, and which.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "t_machine_learning_model_info",
        sa.Column("f_parent", sa.Boolean(), server_default="1", nullable=False),
    )
    op.add_column(
        "t_machine_learning_model_info", sa.Column("f_parent_info", sa.JSON(), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("t_machine_learning_model_info", "f_parent_info")
    op.drop_column("t_machine_learning_model_info", "f_parent")
