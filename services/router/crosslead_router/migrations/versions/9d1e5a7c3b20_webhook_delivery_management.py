"""webhook delivery management: endpoint status, event types, secret rotation, failing
since; deliveries remember their endpoint and when they failed, test events have no lead,
and a delivery's kind may be any webhook type

Revision ID: 9d1e5a7c3b20
Revises: 5e1d7c0a9b21
Create Date: 2026-12-04 15:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crosslead_common.db

revision: str = "9d1e5a7c3b20"
down_revision: str | None = "5e1d7c0a9b21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("previous_secret", sa.String(length=100), nullable=True))
        batch_op.add_column(
            sa.Column(
                "previous_secret_until",
                crosslead_common.db.UTCDateTime(timezone=True),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("event_types", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), server_default="enabled", nullable=False)
        )
        batch_op.add_column(sa.Column("disabled_reason", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column(
                "failing_since", crosslead_common.db.UTCDateTime(timezone=True), nullable=True
            )
        )

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("endpoint_id", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("failed_at", crosslead_common.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.alter_column("lead_id", existing_type=sa.String(length=64), nullable=True)
        batch_op.alter_column(
            "kind",
            existing_type=sa.String(length=16),
            type_=sa.String(length=32),
            existing_server_default="offer",
            existing_nullable=False,
        )
        batch_op.create_index("ix_deliveries_endpoint", ["endpoint_id", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_endpoint")
        batch_op.alter_column(
            "kind",
            existing_type=sa.String(length=32),
            type_=sa.String(length=16),
            existing_server_default="offer",
            existing_nullable=False,
        )
        batch_op.alter_column("lead_id", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column("failed_at")
        batch_op.drop_column("endpoint_id")

    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.drop_column("failing_since")
        batch_op.drop_column("disabled_reason")
        batch_op.drop_column("status")
        batch_op.drop_column("event_types")
        batch_op.drop_column("previous_secret_until")
        batch_op.drop_column("previous_secret")
