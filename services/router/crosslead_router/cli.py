"""``crosslead-router serve|migrate|revision``."""

from __future__ import annotations

from pathlib import Path

from crosslead_common.cli import ServiceCommand
from crosslead_router.models import Base
from crosslead_router.settings import RouterSettings

MIGRATIONS = Path(__file__).parent / "migrations"

command = ServiceCommand(
    name="router",
    app_factory="crosslead_router.app:create_app",
    settings=RouterSettings,
    migrations=MIGRATIONS,
    metadata=Base.metadata,
    default_port=8002,
)
main = command.main

if __name__ == "__main__":
    main()
