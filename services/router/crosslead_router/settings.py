"""Settings of the router service (environment prefix ``CROSSLEAD_ROUTER_``)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from crosslead_common.settings import ServiceSettings

__all__ = ["RouterSettings"]


class RouterSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="CROSSLEAD_ROUTER_", extra="ignore", populate_by_name=True
    )

    database_url: str = "sqlite+aiosqlite:///var/router.db"
