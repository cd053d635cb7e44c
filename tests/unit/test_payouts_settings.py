"""``CROSSLEAD_PAYOUTS_MINIMUM_PAYOUTS``: minimum payouts per currency, from the environment."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from crosslead_payouts.settings import PayoutsSettings
from tests.support import ADMIN_TOKEN


@pytest.fixture(autouse=True)
def admin_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CROSSLEAD_ADMIN_TOKEN", ADMIN_TOKEN)


def test_minimum_payouts_are_read_per_currency_in_minor_units(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CROSSLEAD_PAYOUTS_MINIMUM_PAYOUTS", "EUR=10.00, JPY=500,kwd=1.5")
    settings = PayoutsSettings()
    assert settings.minimum_payout_minor("EUR") == 1_000
    assert settings.minimum_payout_minor("JPY") == 500
    assert settings.minimum_payout_minor("KWD") == 1_500
    assert settings.minimum_payout_minor("USD") == 0  # not listed: no minimum


def test_no_minimum_by_default() -> None:
    assert PayoutsSettings().minimum_payouts == {}


@pytest.mark.parametrize("value", ["EUR", "EUR=10.001", "XYZ=1", "EUR=-1", "EUR=ten"])
def test_a_minimum_that_cannot_be_paid_exactly_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("CROSSLEAD_PAYOUTS_MINIMUM_PAYOUTS", value)
    with pytest.raises(ValidationError, match="minimum_payouts"):
        PayoutsSettings()
