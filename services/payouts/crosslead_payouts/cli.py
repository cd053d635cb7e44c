"""``crosslead-payouts serve|migrate|revision|reconcile``."""

from __future__ import annotations

from pathlib import Path

from crosslead_common.cli import ServiceCommand, Task
from crosslead_common.db import Database
from crosslead_payouts.models import Base
from crosslead_payouts.reconcile import reconcile
from crosslead_payouts.settings import PayoutsSettings

MIGRATIONS = Path(__file__).parent / "migrations"


async def run_reconcile(database_url: str) -> int:
    """Print every discrepancy and a summary; the exit code is 0 only when there is none."""
    db = Database(database_url)
    try:
        async with db.sessionmaker() as session:
            discrepancies = await reconcile(session)
    finally:
        await db.dispose()
    for discrepancy in discrepancies:
        print(discrepancy)
    print(f"payouts: reconciled the ledger, {len(discrepancies)} discrepancies")
    return 1 if discrepancies else 0


command = ServiceCommand(
    name="payouts",
    app_factory="crosslead_payouts.app:create_app",
    settings=PayoutsSettings,
    migrations=MIGRATIONS,
    metadata=Base.metadata,
    default_port=8003,
    tasks={
        "reconcile": Task(
            "recompute every balance from the ledger entries and report discrepancies "
            "(exit code 1 if there are any)",
            run_reconcile,
        )
    },
)
main = command.main

if __name__ == "__main__":
    main()
