"""Settings of the payouts service (environment prefix ``CROSSLEAD_PAYOUTS_``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from crosslead_common.money import MoneyError, to_minor
from crosslead_common.settings import ServiceSettings

__all__ = ["PayoutsSettings"]


class PayoutsSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="CROSSLEAD_PAYOUTS_", extra="ignore", populate_by_name=True
    )

    database_url: str = "sqlite+aiosqlite:///var/payouts.db"
    #: ``CROSSLEAD_PAYOUTS_MINIMUM_PAYOUTS=EUR=10.00,USD=10.00``: a payout run carries smaller
    #: amounts forward to the next run. Currencies not listed have no minimum.
    minimum_payouts: Annotated[dict[str, Decimal], NoDecode] = {}

    @field_validator("minimum_payouts", mode="before")
    @classmethod
    def _parse_minimums(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        pairs = [item.split("=", 1) for item in value.split(",") if item.strip()]
        if any(len(pair) != 2 for pair in pairs):
            raise ValueError("expected CUR=amount pairs separated by commas, e.g. EUR=10.00")
        return {currency.strip().upper(): amount.strip() for currency, amount in pairs}

    @field_validator("minimum_payouts")
    @classmethod
    def _check_minimums(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for currency, amount in value.items():
            try:
                if to_minor(amount, currency) < 0:
                    raise ValueError(f"the minimum payout in {currency} must be >= 0")
            except MoneyError as exc:
                raise ValueError(str(exc)) from exc
        return value

    def minimum_payout_minor(self, currency: str) -> int:
        """The minimum payout in ``currency``, in minor units (0 if none is set)."""
        amount = self.minimum_payouts.get(currency)
        return 0 if amount is None else to_minor(amount, currency)
