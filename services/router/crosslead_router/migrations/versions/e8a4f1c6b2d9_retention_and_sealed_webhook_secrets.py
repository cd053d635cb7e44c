"""processed events are pruned by age: an index on processed_at

Revision ID: e8a4f1c6b2d9
Revises: 9d1e5a7c3b20
Create Date: 2026-12-04 19:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "e8a4f1c6b2d9"
down_revision: str | None = "9d1e5a7c3b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_processed_events_processed_at", "processed_events", ["processed_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_processed_events_processed_at", table_name="processed_events")
