"""``crosslead-intake serve|migrate|revision``."""

from __future__ import annotations

from pathlib import Path

from crosslead_common.cli import ServiceCommand
from crosslead_intake.models import Base
from crosslead_intake.settings import IntakeSettings

MIGRATIONS = Path(__file__).parent / "migrations"

command = ServiceCommand(
    name="intake",
    app_factory="crosslead_intake.app:create_app",
    settings=IntakeSettings,
    migrations=MIGRATIONS,
    metadata=Base.metadata,
    default_port=8001,
)
main = command.main

if __name__ == "__main__":
    main()
