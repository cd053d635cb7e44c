"""double-entry ledger and payout runs

Turns the single-entry ledger into a double-entry one (every posting balances; balances are
kept per account), makes the ledger append-only with triggers, and adds payout runs and the
monthly agreement volumes of tiered commissions. Existing entries are kept: each conversion's
entries become one posting, signed debit-positive, with the manager expense that balances its
manager payable; they are available at once (there were no holding periods before).

Revision ID: 317aa2a8e696
Revises: f9bdd683c586
Create Date: 2026-11-27 04:26:05.382925
"""

from collections.abc import Sequence

import crosslead_common.db
import sqlalchemy as sa
from alembic import op

revision: str = "317aa2a8e696"
down_revision: str | None = "f9bdd683c586"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ENTRY_COLUMNS = (
    "posting_id, lead_id, partner_id, counterparty_partner_id, kind, manager_id, "
    "amount_minor, currency, available_at, payout_run_id, created_at"
)
_ACCOUNT_KEY = "partner_id, counterparty_partner_id, kind, manager_id, currency"


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("counterparty_partner_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("manager_id", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("balance_minor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "partner_id", "counterparty_partner_id", "kind", "manager_id", "currency"
        ),
    )
    op.create_table(
        "agreement_volumes",
        sa.Column("agreement_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("won_minor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("agreement_id", "currency", "month"),
    )
    op.create_table(
        "payout_runs",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("created_at", crosslead_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    op.create_table(
        "postings",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", crosslead_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("posting_id", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("available_at", crosslead_common.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("payout_run_id", sa.String(length=64), nullable=True))

    _rebook_existing_entries()

    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.alter_column("posting_id", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column(
            "available_at",
            existing_type=crosslead_common.db.UTCDateTime(timezone=True),
            nullable=False,
        )
        batch_op.alter_column("manager_id", existing_type=sa.VARCHAR(length=200), nullable=False)
        batch_op.create_index(
            "ix_ledger_entries_currency_available", ["currency", "available_at"], unique=False
        )
        batch_op.create_index("ix_ledger_entries_lead", ["lead_id"], unique=False)
        batch_op.create_foreign_key("fk_ledger_entries_posting", "postings", ["posting_id"], ["id"])
        batch_op.drop_column("conversion_id")

    op.execute(
        f"INSERT INTO accounts ({_ACCOUNT_KEY}, balance_minor) "
        f"SELECT {_ACCOUNT_KEY}, SUM(amount_minor) FROM ledger_entries GROUP BY {_ACCOUNT_KEY}"
    )
    # Last: on SQLite, batch operations rebuild the table and would drop its triggers.
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY_TABLES:
        for statement in append_only_triggers(dialect, table):
            op.execute(statement)


def _rebook_existing_entries() -> None:
    """Single-entry rows (positive amounts per statement kind) → debit-positive entries, one
    posting per conversion, and the manager expense that balances each manager payable."""
    op.execute(
        "INSERT INTO postings (id, kind, created_at) "
        "SELECT conversion_id, "
        "CASE WHEN MIN(amount_minor) < 0 THEN 'reversal' ELSE 'accrual' END, MIN(created_at) "
        "FROM ledger_entries GROUP BY conversion_id"
    )
    op.execute(
        "UPDATE ledger_entries SET posting_id = conversion_id, available_at = created_at, "
        "manager_id = COALESCE(manager_id, ''), "
        "amount_minor = CASE WHEN kind = 'commission_earned' THEN amount_minor "
        "ELSE -amount_minor END, "
        "kind = CASE kind WHEN 'commission_earned' THEN 'commission_receivable' "
        "WHEN 'commission_owed' THEN 'commission_payable' ELSE kind END"
    )
    op.execute(
        f"INSERT INTO ledger_entries (conversion_id, {_ENTRY_COLUMNS}) "
        "SELECT conversion_id, posting_id, lead_id, partner_id, counterparty_partner_id, "
        "'manager_expense', manager_id, -amount_minor, currency, available_at, NULL, created_at "
        "FROM ledger_entries WHERE kind = 'manager_payable' ORDER BY id"
    )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY_TABLES:
        for statement in _drop_triggers(dialect, table):
            op.execute(statement)
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("conversion_id", sa.VARCHAR(length=64), nullable=True))
    # Back to single entry: settlements and manager expenses have no place there.
    op.execute(
        "DELETE FROM ledger_entries WHERE payout_run_id IS NOT NULL OR kind = 'manager_expense'"
    )
    op.execute(
        "UPDATE ledger_entries SET conversion_id = posting_id, "
        "amount_minor = CASE WHEN kind = 'commission_receivable' THEN amount_minor "
        "ELSE -amount_minor END, "
        "kind = CASE kind WHEN 'commission_receivable' THEN 'commission_earned' "
        "WHEN 'commission_payable' THEN 'commission_owed' ELSE kind END, "
        "manager_id = CASE WHEN manager_id = '' THEN NULL ELSE manager_id END"
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.alter_column("conversion_id", existing_type=sa.VARCHAR(64), nullable=False)
        batch_op.drop_constraint("fk_ledger_entries_posting", type_="foreignkey")
        batch_op.drop_index("ix_ledger_entries_lead")
        batch_op.drop_index("ix_ledger_entries_currency_available")
        batch_op.alter_column("manager_id", existing_type=sa.VARCHAR(length=200), nullable=True)
        batch_op.drop_column("payout_run_id")
        batch_op.drop_column("available_at")
        batch_op.drop_column("posting_id")

    op.drop_table("postings")
    op.drop_table("payout_runs")
    op.drop_table("agreement_volumes")
    op.drop_table("accounts")


# The triggers as this revision made them, written out here so later edits of the models
# never change what this migration does.
APPEND_ONLY_TABLES = ("postings", "ledger_entries")


def append_only_triggers(dialect: str, table: str) -> list[str]:
    """DDL that makes the database itself refuse UPDATE and DELETE on ``table``."""
    message = f"{table} is append-only: post a reversing entry instead"
    if dialect == "postgresql":
        return [
            f"""CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger
                LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION '{message} (% refused)', TG_OP; END $$""",
            f"""CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
                FOR EACH ROW EXECUTE FUNCTION {table}_append_only()""",
            f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
                FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()""",
        ]
    return [
        f"""CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table}
            BEGIN SELECT RAISE(ABORT, '{message}'); END"""
        for operation in ("UPDATE", "DELETE")
    ]


def _drop_triggers(dialect: str, table: str) -> list[str]:
    if dialect == "postgresql":
        return [f"DROP FUNCTION IF EXISTS {table}_append_only() CASCADE"]
    return [f"DROP TRIGGER IF EXISTS {table}_no_{op_.lower()}" for op_ in ("UPDATE", "DELETE")]
