"""routing by the laws of partner sales

Revision ID: c427d35d62ba
Revises: 6734cd44ebcb
Create Date: 2026-11-27 04:25:24.194165
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crosslead_common.db

revision: str = "c427d35d62ba"
down_revision: str | None = "6734cd44ebcb"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "capacity_usage",
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("window", sa.String(length=32), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("partner_id", "window"),
    )
    op.create_table(
        "offers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("lead_id", sa.String(length=64), nullable=False),
        sa.Column("hop", sa.Integer(), nullable=False),
        sa.Column("source_partner_id", sa.String(length=64), nullable=False),
        sa.Column("target_partner_id", sa.String(length=64), nullable=False),
        sa.Column("agreement_id", sa.String(length=64), nullable=False),
        sa.Column("offered_at", crosslead_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("converted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_offers_lead_id"), ["lead_id"], unique=False)
        batch_op.create_index("ix_offers_source", ["source_partner_id", "offered_at"], unique=False)
        batch_op.create_index("ix_offers_target", ["target_partner_id", "offered_at"], unique=False)

    op.create_table(
        "routing_decisions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("lead_id", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("at", crosslead_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decision", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("routing_decisions", schema=None) as batch_op:
        batch_op.create_index("ix_routing_decisions_lead", ["lead_id", "id"], unique=False)

    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("priority", sa.Integer(), server_default="0", nullable=False))

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), server_default="offer", nullable=False)
        )

    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.add_column(sa.Column("capacity_per_hour", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("availability", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("paused", sa.Boolean(), server_default=sa.false(), nullable=False)
        )

    with op.batch_alter_table("routed_leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("consent_categories", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("hop", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column("recheck_at", crosslead_common.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.alter_column(
            "target_partner_id", existing_type=sa.VARCHAR(length=64), nullable=True
        )
        batch_op.alter_column("agreement_id", existing_type=sa.VARCHAR(length=64), nullable=True)
        batch_op.alter_column(
            "accept_by", existing_type=crosslead_common.db.UTCDateTime(timezone=True), nullable=True
        )
        batch_op.alter_column(
            "routed_at", existing_type=crosslead_common.db.UTCDateTime(timezone=True), nullable=True
        )
        batch_op.create_index("ix_routed_leads_recheck", ["state", "recheck_at"], unique=False)
    # Leads routed before hops existed had their one offer.
    op.execute("UPDATE routed_leads SET hop = 1")


def downgrade() -> None:
    with op.batch_alter_table("routed_leads", schema=None) as batch_op:
        batch_op.drop_index("ix_routed_leads_recheck")
        batch_op.alter_column(
            "routed_at",
            existing_type=crosslead_common.db.UTCDateTime(timezone=True),
            nullable=False,
        )
        batch_op.alter_column(
            "accept_by",
            existing_type=crosslead_common.db.UTCDateTime(timezone=True),
            nullable=False,
        )
        batch_op.alter_column("agreement_id", existing_type=sa.VARCHAR(length=64), nullable=False)
        batch_op.alter_column(
            "target_partner_id", existing_type=sa.VARCHAR(length=64), nullable=False
        )
        batch_op.drop_column("recheck_at")
        batch_op.drop_column("hop")
        batch_op.drop_column("consent_categories")

    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.drop_column("paused")
        batch_op.drop_column("availability")
        batch_op.drop_column("capacity_per_hour")

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("kind")

    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.drop_column("priority")

    with op.batch_alter_table("routing_decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_routing_decisions_lead")

    op.drop_table("routing_decisions")
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.drop_index("ix_offers_target")
        batch_op.drop_index("ix_offers_source")
        batch_op.drop_index(batch_op.f("ix_offers_lead_id"))

    op.drop_table("offers")
    op.drop_table("capacity_usage")
