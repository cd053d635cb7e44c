"""processed events are pruned by age: an index on processed_at

Revision ID: c3f81d6e2a57
Revises: c81e4a9d2f05
Create Date: 2026-12-04 19:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "c3f81d6e2a57"
down_revision: str | None = "c81e4a9d2f05"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_processed_events_processed_at", "processed_events", ["processed_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_processed_events_processed_at", table_name="processed_events")
