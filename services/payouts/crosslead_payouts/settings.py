"""Settings of the payouts service (environment prefix ``CROSSLEAD_PAYOUTS_``)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from crosslead_common.settings import ServiceSettings

__all__ = ["PayoutsSettings"]


class PayoutsSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="CROSSLEAD_PAYOUTS_", extra="ignore", populate_by_name=True
    )

    database_url: str = "sqlite+aiosqlite:///var/payouts.db"
