"""Settings of the intake service (environment prefix ``CROSSLEAD_INTAKE_``)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from crosslead_common.settings import CustomerDataSettings

__all__ = ["IntakeSettings"]


class IntakeSettings(CustomerDataSettings):
    model_config = SettingsConfigDict(
        # Empty variables count as unset (compose passes optional ones through as "").
        env_prefix="CROSSLEAD_INTAKE_",
        extra="ignore",
        populate_by_name=True,
        env_ignore_empty=True,
    )

    database_url: str = "sqlite+aiosqlite:///var/intake.db"
    #: A lead for the same customer and need within this many days of an earlier one is a
    #: duplicate.
    duplicate_window_days: int = Field(30, ge=1, le=3650)
    #: The HMAC key of customer fingerprints (at least 32 characters), required: a key of its
    #: own, so rotating the admin token never forgets earlier customers. Changing it does.
    customer_hash_key: SecretStr = Field(min_length=32)

    def customer_key(self) -> bytes:
        return self.customer_hash_key.get_secret_value().encode()
