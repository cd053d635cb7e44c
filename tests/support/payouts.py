"""Payouts test data (this module holds no tests): the partners and conversions its consumer
receives, and its statements as partners read them."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx

from crosslead_common.auth import hash_api_key, new_api_key
from crosslead_common.events import ConversionReported, PartnerRegistered
from crosslead_common.terms import PercentCommission
from tests.support import bearer, eventually

SHOP, INSTALLER = "ptr_shop", "ptr_installer"
A, B, C = "ptr_a", "ptr_b", "ptr_c"
KEYS = {partner_id: new_api_key() for partner_id in (SHOP, INSTALLER, A, B, C)}


def partner(partner_id: str) -> PartnerRegistered:
    """``partner_id`` registered with its key in ``KEYS``."""
    return PartnerRegistered(
        partner_id=partner_id,
        name=partner_id.removeprefix("ptr_"),
        offers=("windows",),
        regions=("AT",),
        capacity_per_day=None,
        api_key_hash=hash_api_key(KEYS[partner_id]),
    )


def conversion(
    lead_id: str,
    status: str,
    amount: str,
    *,
    source: str = SHOP,
    target: str = INSTALLER,
    manager_id: str = "m-1",
    share: str = "0.20",
    **overrides: Any,
) -> ConversionReported:
    """A conversion under a 10 % EUR agreement; ``overrides`` replace any other field."""
    return ConversionReported.model_validate(
        {
            "conversion_id": f"cnv_{uuid.uuid4().hex}",
            "lead_id": lead_id,
            "external_id": f"deal-{uuid.uuid4().hex[:6]}",
            "status": status,
            "amount": Decimal(amount),
            "currency": "EUR",
            "source_partner_id": source,
            "target_partner_id": target,
            "manager_id": manager_id,
            "agreement_id": "agr_1",
            "commission": PercentCommission(rate=Decimal("0.10")),
            "manager_share": Decimal(share),
            **overrides,
        }
    )


def totals(earned: str, owed: str, manager_payable: str, net: str) -> list[dict[str, str]]:
    return [
        {
            "currency": "EUR",
            "earned": earned,
            "owed": owed,
            "manager_payable": manager_payable,
            "net": net,
        }
    ]


async def statement_when(
    client: httpx.AsyncClient, token: str, expected: list[dict[str, str]], **params: str
) -> dict[str, Any]:
    """The statement, once its currency totals are ``expected``."""

    async def probe() -> dict[str, Any] | None:
        response = await client.get("/v1/statements", headers=bearer(token), params=params)
        body: dict[str, Any] = response.json()
        return body if response.status_code == 200 and body["currency_totals"] == expected else None

    return await eventually(probe, timeout=30)
