"""Every path of the public contract (docs/API.md) is in the service's OpenAPI document, and
prefixes never overlap between services, so one gateway can route by prefix."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from crosslead_intake.app import create_app as intake_app
from crosslead_intake.settings import IntakeSettings
from crosslead_payouts.app import create_app as payouts_app
from crosslead_payouts.settings import PayoutsSettings
from crosslead_router.app import create_app as router_app
from crosslead_router.settings import RouterSettings
from tests.support import ADMIN_TOKEN

CONTRACT = {
    "intake": {
        ("post", "/v1/partners"),
        ("get", "/v1/partners/{partner_id}"),
        ("post", "/v1/agreements"),
        ("post", "/v1/leads"),
        ("get", "/v1/leads/{lead_id}"),
        ("post", "/v1/leads/{lead_id}/accept"),
        ("post", "/v1/leads/{lead_id}/reject"),
        ("post", "/v1/conversions"),
        ("patch", "/v1/partners/{partner_id}"),
        ("post", "/v1/pitch-cards"),
        ("get", "/v1/pitch-cards"),
        ("get", "/v1/pitch-cards/{card_id}"),
        ("post", "/v1/pitch-cards/{card_id}/publish"),
        ("put", "/v1/complements/{category}"),
        ("get", "/v1/complements/{category}"),
        ("get", "/v1/cross-sell"),
        ("get", "/v1/reports/partners"),
    },
    "router": {
        ("post", "/v1/webhook-endpoints"),
        ("get", "/v1/webhook-endpoints"),
        ("get", "/v1/webhook-endpoints/health"),
        ("delete", "/v1/webhook-endpoints/{endpoint_id}"),
        ("get", "/v1/webhook-endpoints/{endpoint_id}/secret"),
        ("patch", "/v1/webhook-endpoints/{endpoint_id}"),
        ("post", "/v1/webhook-endpoints/{endpoint_id}/rotate-secret"),
        ("post", "/v1/webhook-endpoints/{endpoint_id}/test"),
        ("post", "/v1/webhook-endpoints/{endpoint_id}/recover"),
        ("get", "/v1/deliveries"),
        ("post", "/v1/deliveries/{delivery_id}/retry"),
    },
    "payouts": {("get", "/v1/statements"), ("get", "/v1/managers/{manager_id}/earnings")},
}
HEALTH = {("get", "/healthz"), ("get", "/readyz")}


def apps() -> dict[str, FastAPI]:
    url = "sqlite+aiosqlite:///:memory:"
    return {
        "intake": intake_app(IntakeSettings(admin_token=ADMIN_TOKEN, database_url=url)),
        "router": router_app(RouterSettings(admin_token=ADMIN_TOKEN, database_url=url)),
        "payouts": payouts_app(PayoutsSettings(admin_token=ADMIN_TOKEN, database_url=url)),
    }


def operations(app: FastAPI) -> set[tuple[str, str]]:
    return {(method, path) for path, item in app.openapi()["paths"].items() for method in item}


@pytest.mark.parametrize("service", sorted(CONTRACT))
def test_the_contract_paths_are_documented(service: str) -> None:
    assert CONTRACT[service] | HEALTH <= operations(apps()[service])


def test_public_path_prefixes_never_overlap_between_services() -> None:
    prefixes = {
        name: {path.split("/")[2] for _, path in operations(app) if path.startswith("/v1/")}
        for name, app in apps().items()
    }
    assert not prefixes["intake"] & prefixes["router"]
    assert not prefixes["intake"] & prefixes["payouts"]
    assert not prefixes["router"] & prefixes["payouts"]


def test_errors_are_documented_as_problem_details() -> None:
    schema = apps()["intake"].openapi()
    invalid = schema["paths"]["/v1/leads"]["post"]["responses"]["422"]
    assert list(invalid["content"]) == ["application/problem+json"]
    assert {"title", "status", "detail", "errors"} <= invalid["content"][
        "application/problem+json"
    ]["schema"]["properties"].keys()


def test_the_router_documents_every_webhook_type_it_sends() -> None:
    webhooks = apps()["router"].openapi()["webhooks"]
    assert set(webhooks) == {
        "lead.offered",
        "lead.withdrawn",
        "lead.delivered",
        "lead.accepted",
        "lead.rejected",
        "lead.unroutable",
        "lead.converted",
        "commission.accrued",
        "commission.reversed",
        "payout.settled",
        "webhook.test",
    }
    body = webhooks["lead.converted"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["$ref"].endswith("Webhook_LeadConvertedData_")
