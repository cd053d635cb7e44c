"""``crosslead-payouts serve|migrate|revision``."""

from __future__ import annotations

from pathlib import Path

from crosslead_common.cli import ServiceCommand
from crosslead_payouts.models import Base
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
main = command.main

if __name__ == "__main__":
    main()
