"""webhook signing secrets sealed at rest; processed events pruned by age

Widens the secret columns for the sealed form, seals every stored secret under
``CROSSLEAD_ROUTER_SECRETS_KEY`` (required when there is one to seal), and indexes
``processed_events.processed_at`` for the retention worker. The downgrade opens them again.

Revision ID: e8a4f1c6b2d9
Revises: b58d2e07c1a4
Create Date: 2026-12-04 19:10:00.000000
"""

import os
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from crosslead_common.crypto import KeyRing

revision: str = "e8a4f1c6b2d9"
down_revision: str | None = "b58d2e07c1a4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = "CROSSLEAD_ROUTER_SECRETS_KEY"
endpoints = sa.table(
    "webhook_endpoints",
    sa.column("id", sa.String),
    sa.column("secret", sa.String),
    sa.column("previous_secret", sa.String),
)


def _ring() -> KeyRing:
    current = os.environ.get(KEY, "")
    if not current.strip():
        raise RuntimeError(f"{KEY} is required to seal the stored webhook secrets")
    return KeyRing.from_settings(current, [os.environ.get(f"{KEY}_PREVIOUS", "")])


def _convert(change: Callable[[KeyRing, str, str], str]) -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(endpoints.c.id, endpoints.c.secret, endpoints.c.previous_secret)
    ).all()
    if not rows:
        return
    ring = _ring()
    for row in rows:
        context = f"webhook_endpoints/{row.id}"
        previous = row.previous_secret
        connection.execute(
            endpoints.update()
            .where(endpoints.c.id == row.id)
            .values(
                secret=change(ring, row.secret, context),
                previous_secret=None if previous is None else change(ring, previous, context),
            )
        )


def upgrade() -> None:
    with op.batch_alter_table("webhook_endpoints") as batch_op:
        batch_op.alter_column(
            "secret", existing_type=sa.String(length=100), type_=sa.String(length=200)
        )
        batch_op.alter_column(
            "previous_secret", existing_type=sa.String(length=100), type_=sa.String(length=200)
        )
    _convert(lambda ring, secret, context: ring.seal(secret.encode(), context))
    op.create_index(
        "ix_processed_events_processed_at", "processed_events", ["processed_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_processed_events_processed_at", table_name="processed_events")
    _convert(lambda ring, sealed, context: ring.open(sealed, context).decode())
    with op.batch_alter_table("webhook_endpoints") as batch_op:
        batch_op.alter_column(
            "previous_secret", existing_type=sa.String(length=200), type_=sa.String(length=100)
        )
        batch_op.alter_column(
            "secret", existing_type=sa.String(length=200), type_=sa.String(length=100)
        )
