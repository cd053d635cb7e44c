"""Settings of the intake service (environment prefix ``CROSSLEAD_INTAKE_``)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from crosslead_common.settings import ServiceSettings

__all__ = ["IntakeSettings"]


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="CROSSLEAD_INTAKE_", extra="ignore", populate_by_name=True
    )

    database_url: str = "sqlite+aiosqlite:///var/intake.db"
