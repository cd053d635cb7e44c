"""agreements can be ended

Revision ID: 118964448163
Revises: dacd4689098c
Create Date: 2026-11-27 05:43:57.346188
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crosslead_common.db

revision: str = "118964448163"
down_revision: str | None = "dacd4689098c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "agreements",
        sa.Column("ended_at", crosslead_common.db.UTCDateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    with op.batch_alter_table("agreements") as batch_op:
        batch_op.drop_column("ended_at")
