"""api keys and partner status

Revision ID: 7b3e9f1c2a60
Revises: 5d0c2a7e91b4
Create Date: 2026-12-04 19:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7b3e9f1c2a60"
down_revision: str | None = "5d0c2a7e91b4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "partners",
        sa.Column("status", sa.String(length=16), server_default=sa.text("'active'"), nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
    )
    op.create_index(op.f("ix_api_keys_partner_id"), "api_keys", ["partner_id"], unique=False)
    # The key each partner got when it was registered; its id is derived from its hash as
    # crosslead_common.auth.key_id_of does.
    op.execute(
        "INSERT INTO api_keys (id, partner_id, key_hash, created_at) "
        "SELECT 'key_' || substr(api_key_hash, 1, 24), id, api_key_hash, created_at FROM partners"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_api_keys_partner_id"), table_name="api_keys")
    op.drop_table("api_keys")
    with op.batch_alter_table("partners") as batch_op:
        batch_op.drop_column("status")
