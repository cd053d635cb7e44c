"""customer data keys: the router's copies, erasable

Revision ID: b58d2e07c1a4
Revises: 2b8f4d6a0e17
Create Date: 2026-12-04 19:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crosslead_common.db

revision: str = "b58d2e07c1a4"
down_revision: str | None = "2b8f4d6a0e17"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_keys",
        sa.Column("lead_id", sa.String(length=64), nullable=False),
        sa.Column("data_key", sa.String(length=200), nullable=True),
        sa.Column("erased_at", crosslead_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("lead_id"),
    )


def downgrade() -> None:
    op.drop_table("customer_keys")
