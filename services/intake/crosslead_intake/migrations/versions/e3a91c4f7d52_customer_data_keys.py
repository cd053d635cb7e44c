"""customer data keys: contacts encrypted per customer, erasable

Revision ID: e3a91c4f7d52
Revises: 7c3e9a1f5b62
Create Date: 2026-12-04 19:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crosslead_common.db

revision: str = "e3a91c4f7d52"
down_revision: str | None = "7c3e9a1f5b62"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "leads",
        sa.Column(
            "customer_erased_at", crosslead_common.db.UTCDateTime(timezone=True), nullable=True
        ),
    )
    op.create_table(
        "customer_keys",
        sa.Column("lead_id", sa.String(length=64), nullable=False),
        sa.Column("data_key", sa.String(length=200), nullable=False),
        sa.Column("created_at", crosslead_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"]),
        sa.PrimaryKeyConstraint("lead_id"),
    )


def downgrade() -> None:
    op.drop_table("customer_keys")
    with op.batch_alter_table("leads") as batch_op:
        batch_op.drop_column("customer_erased_at")
