"""The public endpoints the console uses, one method each, bound to the signed-in party's
token. A page for an endpoint the services add later needs one more method here."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from crosslead_console.client import ApiClient

__all__ = ["Crosslead"]

Json = dict[str, Any]


def _seg(value: str) -> str:
    """One path segment: an id typed into a URL can never reach another path."""
    return quote(value, safe="")


class Crosslead:
    """Intake, router and payouts as the holder of ``token`` may call them."""

    def __init__(self, client: ApiClient, token: str) -> None:
        self._client = client
        self._token = token

    async def _call(self, service: str, method: str, path: str, **kwargs: Any) -> Json:
        return await self._client.json(service, method, path, self._token, **kwargs)

    # intake
    async def create_partner(self, body: Json) -> Json:
        return await self._call("intake", "POST", "/v1/partners", json=body)

    async def partners(self, cursor: str | None = None, limit: int = 50) -> Json:
        params = {"cursor": cursor, "limit": limit}
        return await self._call("intake", "GET", "/v1/partners", params=params)

    async def partner(self, partner_id: str) -> Json:
        return await self._call("intake", "GET", f"/v1/partners/{_seg(partner_id)}")

    async def update_partner(self, partner_id: str, body: Json) -> Json:
        return await self._call("intake", "PATCH", f"/v1/partners/{_seg(partner_id)}", json=body)

    async def create_agreement(self, body: Json) -> Json:
        return await self._call("intake", "POST", "/v1/agreements", json=body)

    async def agreements(
        self, partner_id: str | None = None, cursor: str | None = None, limit: int = 50
    ) -> Json:
        params = {"partner_id": partner_id, "cursor": cursor, "limit": limit}
        return await self._call("intake", "GET", "/v1/agreements", params=params)

    async def agreement(self, agreement_id: str) -> Json:
        return await self._call("intake", "GET", f"/v1/agreements/{_seg(agreement_id)}")

    async def end_agreement(self, agreement_id: str) -> Json:
        return await self._call("intake", "POST", f"/v1/agreements/{_seg(agreement_id)}/end")

    async def leads(
        self,
        role: str | None = None,
        status: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Json:
        params = {"role": role, "status": status, "cursor": cursor, "limit": limit}
        return await self._call("intake", "GET", "/v1/leads", params=params)

    async def lead_stats(self, window: str) -> Json:
        return await self._call("intake", "GET", "/v1/leads/stats", params={"window": window})

    async def lead(self, lead_id: str) -> Json:
        return await self._call("intake", "GET", f"/v1/leads/{_seg(lead_id)}")

    async def answer_lead(self, lead_id: str, accept: bool, reason: str | None = None) -> Json:
        verb = "accept" if accept else "reject"
        body = None if accept or not reason else {"reason": reason}
        return await self._call("intake", "POST", f"/v1/leads/{_seg(lead_id)}/{verb}", json=body)

    async def report_conversion(self, body: Json) -> Json:
        return await self._call("intake", "POST", "/v1/conversions", json=body)

    async def partner_report(self) -> Json:
        return await self._call("intake", "GET", "/v1/reports/partners")

    async def pitch_cards(self) -> Json:
        return await self._call("intake", "GET", "/v1/pitch-cards")

    async def create_pitch_card(self, body: Json) -> Json:
        return await self._call("intake", "POST", "/v1/pitch-cards", json=body)

    async def publish_pitch_card(self, card_id: str) -> Json:
        return await self._call("intake", "POST", f"/v1/pitch-cards/{_seg(card_id)}/publish")

    async def cross_sell(self, category: str) -> Json:
        return await self._call("intake", "GET", "/v1/cross-sell", params={"category": category})

    # router
    async def webhook_endpoints(self) -> Json:
        return await self._call("router", "GET", "/v1/webhook-endpoints")

    async def create_webhook_endpoint(self, body: Json) -> Json:
        return await self._call("router", "POST", "/v1/webhook-endpoints", json=body)

    async def delete_webhook_endpoint(self, endpoint_id: str) -> Json:
        return await self._call("router", "DELETE", f"/v1/webhook-endpoints/{_seg(endpoint_id)}")

    async def update_webhook_endpoint(self, endpoint_id: str, body: Json) -> Json:
        path = f"/v1/webhook-endpoints/{_seg(endpoint_id)}"
        return await self._call("router", "PATCH", path, json=body)

    async def webhook_secret(self, endpoint_id: str) -> Json:
        path = f"/v1/webhook-endpoints/{_seg(endpoint_id)}/secret"
        return await self._call("router", "GET", path)

    async def rotate_webhook_secret(self, endpoint_id: str, body: Json) -> Json:
        path = f"/v1/webhook-endpoints/{_seg(endpoint_id)}/rotate-secret"
        return await self._call("router", "POST", path, json=body)

    async def test_webhook_endpoint(self, endpoint_id: str) -> Json:
        path = f"/v1/webhook-endpoints/{_seg(endpoint_id)}/test"
        return await self._call("router", "POST", path)

    async def recover_webhook_endpoint(self, endpoint_id: str, body: Json) -> Json:
        path = f"/v1/webhook-endpoints/{_seg(endpoint_id)}/recover"
        return await self._call("router", "POST", path, json=body)

    async def webhook_health(self, unhealthy: bool = False) -> Json:
        params = {"unhealthy": "true" if unhealthy else None}
        return await self._call("router", "GET", "/v1/webhook-endpoints/health", params=params)

    async def deliveries(
        self,
        lead_id: str | None = None,
        limit: int = 100,
        *,
        endpoint_id: str | None = None,
        status: str | None = None,
        cursor: str | None = None,
    ) -> Json:
        params = {
            "lead_id": lead_id,
            "endpoint_id": endpoint_id,
            "status": status,
            "cursor": cursor,
            "limit": limit,
        }
        return await self._call("router", "GET", "/v1/deliveries", params=params)

    async def retry_delivery(self, delivery_id: str) -> Json:
        path = f"/v1/deliveries/{_seg(delivery_id)}/retry"
        return await self._call("router", "POST", path)

    async def routing_decisions(self, lead_id: str) -> Json:
        params = {"lead_id": lead_id}
        return await self._call("router", "GET", "/v1/routing/decisions", params=params)

    # payouts
    async def statement(self, partner_id: str | None = None) -> Json:
        params = {"partner_id": partner_id}
        return await self._call("payouts", "GET", "/v1/statements", params=params)

    async def statement_csv(self, partner_id: str | None = None) -> bytes:
        response = await self._client.request(
            "payouts",
            "GET",
            "/v1/statements",
            self._token,
            params={"partner_id": partner_id},
            accept="text/csv",
        )
        return response.content

    async def manager_earnings(self, manager_id: str) -> Json:
        return await self._call("payouts", "GET", f"/v1/managers/{_seg(manager_id)}/earnings")

    async def create_payout_run(self, body: Json, idempotency_key: str) -> Json:
        return await self._client.json(
            "payouts",
            "POST",
            "/v1/payout-runs",
            self._token,
            json=body,
            idempotency_key=idempotency_key,
        )

    async def preview_payout_run(self, currency: str) -> Json:
        body = {"currency": currency, "dry_run": True}
        return await self._call("payouts", "POST", "/v1/payout-runs", json=body)

    async def payout_run(self, run_id: str) -> Json:
        return await self._call("payouts", "GET", f"/v1/payout-runs/{_seg(run_id)}")

    async def payout_run_csv(self, run_id: str) -> bytes:
        response = await self._client.request(
            "payouts", "GET", f"/v1/payout-runs/{_seg(run_id)}", self._token, accept="text/csv"
        )
        return response.content

    # dead letters (the operator's), of one service
    async def dead_letters(self, service: str) -> Json:
        return await self._call(service, "GET", f"/v1/{_seg(service)}/dead-letters")

    async def dead_letter(self, service: str, letter_id: str) -> Json:
        path = f"/v1/{_seg(service)}/dead-letters/{_seg(letter_id)}"
        return await self._call(service, "GET", path)

    async def redrive_dead_letter(self, service: str, letter_id: str) -> Json:
        path = f"/v1/{_seg(service)}/dead-letters/{_seg(letter_id)}/redrive"
        return await self._call(service, "POST", path)
