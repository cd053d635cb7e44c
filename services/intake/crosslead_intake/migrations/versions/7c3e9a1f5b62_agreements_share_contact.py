"""agreements say when the target learns the customer's contact (share_contact)

Revision ID: 7c3e9a1f5b62
Revises: 7b3e9f1c2a60
Create Date: 2026-12-04 19:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c3e9a1f5b62"
down_revision: str | None = "7b3e9f1c2a60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agreements") as batch_op:
        batch_op.add_column(
            sa.Column(
                "share_contact", sa.String(length=16), server_default="on_accept", nullable=False
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("agreements") as batch_op:
        batch_op.drop_column("share_contact")
