"""The whole system as processes (broker + intake + router + payouts) and a partner's webhook
receiver that verifies every delivery with an independent Standard Webhooks implementation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from crosslead_local.localstack import LocalStack
from tests.support import ADMIN, eventually
from tests.support.webhooks import Receiver


@dataclass
class Partner:
    id: str
    name: str
    api_key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


class Client:
    """The public API of a running stack, as partner systems and the operator use it."""

    def __init__(self, stack: LocalStack, http: httpx.AsyncClient) -> None:
        self.stack = stack
        self.http = http

    def url(self, service: str, path: str) -> str:
        return self.stack.url(service) + path

    async def partner(
        self, name: str, offers: list[str], regions: list[str], **settings: Any
    ) -> Partner:
        response = await self.http.post(
            self.url("intake", "/v1/partners"),
            headers=ADMIN,
            json={"name": name, "offers": offers, "regions": regions, **settings},
        )
        assert response.status_code == 201, response.text
        body = response.json()
        return Partner(body["id"], name, body["api_key"])

    async def agreement(self, source: Partner, target: Partner, **terms: Any) -> dict[str, Any]:
        body = {
            "source_partner_id": source.id,
            "target_partner_id": target.id,
            "categories": ["installation"],
            "commission": {"type": "percent", "rate": "0.10"},
            "manager_share": "0.20",
            **terms,
        }
        response = await self.http.post(
            self.url("intake", "/v1/agreements"), headers=ADMIN, json=body
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def webhook_endpoint(self, partner: Partner, receiver: Receiver, base: str) -> None:
        """Register the partner's endpoint, once the router has heard of the partner."""

        async def register() -> dict[str, Any] | None:
            response = await self.http.post(
                self.url("router", "/v1/webhook-endpoints"),
                headers=partner.auth,
                json={"url": f"{base}/hooks/{partner.id}"},
            )
            return dict(response.json()) if response.status_code == 201 else None

        receiver.secrets[partner.id] = (await eventually(register, timeout=30))["secret"]

    async def submit_lead(
        self,
        source: Partner,
        region: str = "berlin",
        phone: str = "+49 30 5550100",
        need: str = "installation",
    ) -> str:
        return str((await self.submit(source, lead(region, phone, need)))["id"])

    async def submit(self, source: Partner, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.post(
            self.url("intake", "/v1/leads"), headers=source.auth, json=body
        )
        assert response.status_code == 202, response.text
        return dict(response.json())

    async def accept(self, partner: Partner, lead_id: str) -> None:
        await self.answer(partner, lead_id, "accept")

    async def reject(self, partner: Partner, lead_id: str) -> None:
        await self.answer(partner, lead_id, "reject")

    async def answer(self, partner: Partner, lead_id: str, verb: str) -> None:
        """Accept or reject, once intake knows the lead was routed to ``partner`` (409 until
        it has applied ``lead.routed``)."""

        async def answered() -> bool:
            response = await self.http.post(
                self.url("intake", f"/v1/leads/{lead_id}/{verb}"), headers=partner.auth
            )
            assert response.status_code in (202, 409), response.text
            return response.status_code == 202

        await eventually(answered)

    async def lead(self, lead_id: str) -> dict[str, Any]:
        """The lead with its timeline, as the operator sees it."""
        response = await self.get("intake", f"/v1/leads/{lead_id}", ADMIN)
        assert response.status_code == 200, response.text  # a 429 is not a lead status
        return dict(response.json())

    async def lead_status(self, lead_id: str) -> str:
        return str((await self.lead(lead_id))["status"])

    async def until_status(self, lead_id: str, status: str) -> None:
        async def reached() -> bool:
            return await self.lead_status(lead_id) == status

        await eventually(reached, timeout=30)

    async def until_recorded(self, lead_id: str, fact: str) -> list[str]:
        """Wait until the lead's timeline shows ``fact`` (a service publishes a fact after
        committing it, so it holds by then); returns the timeline's types."""

        async def seen() -> list[str] | None:
            types = [entry["type"] for entry in (await self.lead(lead_id))["timeline"]]
            return types if fact in types else None

        return await eventually(seen, timeout=30)

    async def report_deal(
        self, partner: Partner, lead_id: str, external_id: str, status: str, amount: str
    ) -> None:
        response = await self.http.post(
            self.url("intake", "/v1/conversions"),
            headers=partner.auth,
            json={
                "lead_id": lead_id,
                "external_id": external_id,
                "status": status,
                "amount": amount,
                "currency": "EUR",
            },
        )
        assert response.status_code == 202, response.text

    async def get(self, service: str, path: str, auth: dict[str, str]) -> httpx.Response:
        return await self.http.get(self.url(service, path), headers=auth)


def lead(region: str, phone: str, need: str = "installation") -> dict[str, Any]:
    return {
        "need": need,
        "region": region,
        "customer": {"name": "Ada Buyer", "phone": phone},
        "consent": {"given_at": "2026-11-01T10:00:00Z", "text": "May be passed to installers."},
        "warmth": {"notes": "Bought 6 windows, wants them fitted in March.", "score": 4},
        "manager": {"id": "mgr-7", "name": "Max"},
    }
