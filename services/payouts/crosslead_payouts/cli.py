"""``crosslead-payouts serve|migrate|revision|reconcile``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from crosslead_common.cli import ServiceCommand
from crosslead_common.db import Database
from crosslead_payouts.models import Base
from crosslead_payouts.reconcile import reconcile
from crosslead_payouts.settings import PayoutsSettings

MIGRATIONS = Path(__file__).parent / "migrations"

command = ServiceCommand(
    name="payouts",
    app_factory="crosslead_payouts.app:create_app",
    settings=PayoutsSettings,
    migrations=MIGRATIONS,
    metadata=Base.metadata,
    default_port=8003,
)


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


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] != ["reconcile"]:
        command.main(args)
        return
    # The shared command knows serve, migrate and revision; reconcile is the ledger's own.
    argparse.ArgumentParser(
        prog="crosslead-payouts reconcile",
        description="Recompute every balance from the ledger entries and report discrepancies "
        "(exit code 1 if there are any).",
    ).parse_args(args[1:])
    sys.exit(asyncio.run(run_reconcile(PayoutsSettings().database_url)))


if __name__ == "__main__":
    main()
