"""The OpenAPI documents are a contract a client can be generated from: every operation of
docs/API.md is in them with a readable operationId (unique across the services), the bearer
security scheme, a summary and a description, and every error status it can answer, each
referring to the one ``Problem`` component; every webhook type of docs/API.md is in the
router's ``webhooks``. Prefixes never overlap between services, so one gateway can route by
prefix."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any, get_args

import httpx
import jsonschema
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import iter_route_contexts
from pydantic import TypeAdapter

from crosslead_common.api.deps import AdminOnly, Caller, PartnerId
from crosslead_common.api.problems import PROBLEM_JSON, PROBLEM_TYPE_BASE, PROBLEM_TYPES
from crosslead_common.runtime import Runtime, create_service_app
from crosslead_intake import consumers, lifecycle
from crosslead_intake.app import create_app as intake_app
from crosslead_intake.conversions import policy
from crosslead_intake.models import outbox, processed_events
from crosslead_intake.partners.queries import partner_id_by_key_hash
from crosslead_intake.settings import IntakeSettings
from crosslead_payouts.app import create_app as payouts_app
from crosslead_payouts.settings import PayoutsSettings
from crosslead_router.api.schemas import ExclusionCode
from crosslead_router.app import create_app as router_app
from crosslead_router.matching import CHECKS
from crosslead_router.offers import WEBHOOK_TYPES
from crosslead_router.settings import RouterSettings
from tests.support import ADMIN_TOKEN, CUSTOMER_DATA_KEY, CUSTOMER_HASH_KEY, SECRETS_KEY

API_MD = Path(__file__).parents[2] / "docs" / "API.md"
URL = "sqlite+aiosqlite:///:memory:"
INTAKE_SETTINGS = IntakeSettings(
    admin_token=ADMIN_TOKEN,
    database_url=URL,
    customer_data_key=CUSTOMER_DATA_KEY,
    customer_hash_key=CUSTOMER_HASH_KEY,
)

CONTRACT = {
    "intake": {
        ("post", "/v1/partners"),
        ("get", "/v1/partners"),
        ("get", "/v1/partners/{partner_id}"),
        ("post", "/v1/agreements"),
        ("get", "/v1/agreements/{agreement_id}"),
        ("post", "/v1/agreements/{agreement_id}/end"),
        ("get", "/v1/agreements"),
        ("post", "/v1/leads"),
        ("get", "/v1/leads"),
        ("get", "/v1/leads/stats"),
        ("get", "/v1/leads/{lead_id}"),
        ("post", "/v1/leads/{lead_id}/accept"),
        ("post", "/v1/leads/{lead_id}/reject"),
        ("post", "/v1/customers/erase"),
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
        ("post", "/v1/partners/{partner_id}/api-keys"),
        ("get", "/v1/partners/{partner_id}/api-keys"),
        ("delete", "/v1/partners/{partner_id}/api-keys/{key_id}"),
        ("get", "/v1/intake/dead-letters"),
        ("get", "/v1/intake/dead-letters/{letter_id}"),
        ("post", "/v1/intake/dead-letters/{letter_id}/redrive"),
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
        ("get", "/v1/routing/decisions"),
        ("get", "/v1/router/dead-letters"),
        ("get", "/v1/router/dead-letters/{letter_id}"),
        ("post", "/v1/router/dead-letters/{letter_id}/redrive"),
    },
    "payouts": {
        ("get", "/v1/statements"),
        ("get", "/v1/managers/{manager_id}/earnings"),
        ("post", "/v1/payout-runs"),
        ("get", "/v1/payout-runs/{run_id}"),
        ("get", "/v1/payouts/dead-letters"),
        ("get", "/v1/payouts/dead-letters/{letter_id}"),
        ("post", "/v1/payouts/dead-letters/{letter_id}/redrive"),
    },
}
#: Public: no token, no security scheme.
PUBLIC = {("get", "/healthz"), ("get", "/readyz"), ("get", "/metrics"), ("get", "/asyncapi.json")}
#: Every authenticated operation can answer these.
AUTHENTICATED = {"401", "422", "429", "503"}


@cache
def apps() -> dict[str, FastAPI]:
    return {
        "intake": intake_app(INTAKE_SETTINGS),
        "router": router_app(
            RouterSettings(
                admin_token=ADMIN_TOKEN,
                database_url=URL,
                customer_data_key=CUSTOMER_DATA_KEY,
                secrets_key=SECRETS_KEY,
            )
        ),
        "payouts": payouts_app(PayoutsSettings(admin_token=ADMIN_TOKEN, database_url=URL)),
    }


@cache
def documents() -> dict[str, dict[str, Any]]:
    return {name: app.openapi() for name, app in apps().items()}


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }


def contract_operations() -> list[tuple[str, str, str]]:
    return sorted((service, *op) for service, ops in CONTRACT.items() for op in ops)


def _template(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def test_the_list_names_every_operation_api_md_spells_out() -> None:
    """Each ``METHOD /v1/…`` written out in full in docs/API.md is in ``CONTRACT``."""
    text = API_MD.read_text()
    written = {
        (method.lower(), _template(path.rstrip(".,")))
        for method, path in re.findall(r"`(GET|POST|PUT|PATCH|DELETE) (/v1/[^`?\s]+)", text)
        if "<service>" not in path
    }
    listed = {(method, _template(path)) for _, method, path in contract_operations()}
    assert written, "no operation found in docs/API.md"
    assert written <= listed, written - listed


@pytest.mark.parametrize("service", sorted(CONTRACT))
def test_the_contract_paths_are_documented(service: str) -> None:
    assert CONTRACT[service] | PUBLIC <= operations(documents()[service]).keys()


def test_public_path_prefixes_never_overlap_between_services() -> None:
    prefixes = {
        name: {path.split("/")[2] for _, path in operations(document) if path.startswith("/v1/")}
        for name, document in documents().items()
    }
    assert not prefixes["intake"] & prefixes["router"]
    assert not prefixes["intake"] & prefixes["payouts"]
    assert not prefixes["router"] & prefixes["payouts"]


def test_operation_ids_are_readable_and_unique_across_the_services() -> None:
    ids = [
        operation["operationId"]
        for document in documents().values()
        for operation in operations(document).values()
    ]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert all(re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", i) for i in ids), ids
    intake, router = (operations(documents()[s]) for s in ("intake", "router"))
    assert intake[("post", "/v1/leads")]["operationId"] == "submit_lead"
    assert intake[("post", "/v1/partners")]["operationId"] == "create_partner"
    assert router[("get", "/v1/deliveries")]["operationId"] == "list_deliveries"
    assert router[("post", "/v1/webhook-endpoints")]["operationId"] == "create_webhook_endpoint"


@pytest.mark.parametrize(("service", "method", "path"), contract_operations())
def test_each_operation_declares_the_bearer_scheme_a_summary_and_problem_errors(
    service: str, method: str, path: str
) -> None:
    document = documents()[service]
    operation = operations(document)[(method, path)]
    assert operation["security"] == [{"bearer": []}]
    assert operation["summary"]
    assert operation["description"]
    assert operation["responses"].keys() >= AUTHENTICATED
    if "{" in path:
        assert "404" in operation["responses"]
    if method in {"post", "put", "patch"}:
        assert "413" in operation["responses"]
    for status, response in operation["responses"].items():
        if int(status) >= 400:
            assert list(response["content"]) == [PROBLEM_JSON], (status, response)
            body = response["content"][PROBLEM_JSON]
            assert body["schema"] == {"$ref": "#/components/schemas/Problem"}
            for example in body["examples"].values():
                assert example["value"]["type"].startswith(PROBLEM_TYPE_BASE)
                assert example["value"]["status"] == int(status)
            assert "x-problem-types" not in response
    scheme = document["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")


@pytest.mark.parametrize("service", sorted(CONTRACT))
def test_health_metrics_and_events_stay_public(service: str) -> None:
    found = operations(documents()[service])
    for key in PUBLIC:
        assert "security" not in found[key]
        assert "401" not in found[key]["responses"]
        assert {"422", "429"} <= found[key]["responses"].keys()  # in front of every route
    assert "503" in found[("get", "/healthz")]["responses"]  # from the gateway
    assert "503" not in found[("get", "/metrics")]["responses"]  # not behind the gateway
    not_ready = found[("get", "/readyz")]["responses"]["503"]["content"]["application/json"]
    assert not_ready["schema"] == {"$ref": "#/components/schemas/Readiness"}


@pytest.mark.parametrize(
    ("service", "method", "path", "statuses"),
    [
        ("intake", "post", "/v1/partners", {"403"}),  # a partner's key: admin only
        ("intake", "post", "/v1/leads", {"403"}),  # the admin token: a partner's only
        ("intake", "post", "/v1/leads/{lead_id}/accept", {"403", "404", "409"}),
        ("intake", "post", "/v1/conversions", {"403", "404", "409"}),
        ("router", "post", "/v1/deliveries/{delivery_id}/retry", {"404", "409"}),
        ("router", "get", "/v1/routing/decisions", {"404"}),
        ("payouts", "post", "/v1/payout-runs", {"403"}),
        ("payouts", "get", "/v1/payouts/dead-letters", {"403"}),
    ],
)
def test_operations_declare_what_their_access_rules_and_use_cases_answer(
    service: str, method: str, path: str, statuses: set[str]
) -> None:
    assert statuses <= operations(documents()[service])[(method, path)]["responses"].keys()


def test_a_conflict_names_its_precise_kinds() -> None:
    accept = operations(documents()["intake"])[("post", "/v1/leads/{lead_id}/accept")]
    examples = accept["responses"]["409"]["content"][PROBLEM_JSON]["examples"]
    assert {e["value"]["type"] for e in examples.values()} == {
        PROBLEM_TYPE_BASE + "conflict",
        PROBLEM_TYPE_BASE + "lead-being-routed",
    }


def test_a_read_anyone_may_make_declares_no_403() -> None:
    found = operations(documents()["intake"])[("get", "/v1/leads/{lead_id}")]["responses"]
    assert "403" not in found
    assert "409" not in found


@pytest.mark.parametrize("service", sorted(CONTRACT))
def test_one_problem_component_names_every_type_uri(service: str) -> None:
    document = documents()[service]
    schemas = document["components"]["schemas"]
    problem = schemas["Problem"]
    assert {"type", "title", "status", "detail", "errors"} <= problem["properties"].keys()
    assert set(problem["required"]) == {"type", "title", "status"}
    field_error = schemas["FieldError"]
    assert set(field_error["properties"]) == {"field", "message"}
    for slug in PROBLEM_TYPES:
        assert f"`{PROBLEM_TYPE_BASE}{slug}`" in problem["properties"]["type"]["description"]
    # FastAPI's own validation error schema is replaced everywhere, never copied inline.
    assert "HTTPValidationError" not in schemas
    assert "HTTPValidationError" not in repr(document)


def test_api_md_lists_every_problem_type() -> None:
    text = API_MD.read_text()
    for slug in PROBLEM_TYPES:
        assert f"`{slug}`" in text, slug


def _api_md_webhook_types() -> set[str]:
    section = API_MD.read_text().split("### The webhook a partner receives")[1]
    return set(re.findall(r"^\| `([a-z_]+\.[a-z_.]+)` \|", section, flags=re.MULTILINE))


def test_the_router_documents_every_webhook_type_of_api_md() -> None:
    webhooks = documents()["router"]["webhooks"]
    assert _api_md_webhook_types() == set(webhooks)
    assert len(webhooks) >= 11
    body = webhooks["lead.converted"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["$ref"].endswith("Webhook_LeadConvertedData_")
    ids = {item["post"]["operationId"] for item in webhooks.values()}
    assert "on_lead_offered" in ids


def test_every_webhook_type_an_endpoint_may_subscribe_to_is_documented() -> None:
    webhooks = documents()["router"]["webhooks"]
    assert set(webhooks) == WEBHOOK_TYPES
    contact = webhooks["lead.contact"]["post"]["requestBody"]["content"]["application/json"]
    assert contact["schema"]["$ref"].endswith("Webhook_LeadContactData_")


def test_a_new_route_gets_the_contract_from_the_kit() -> None:
    """A route written with the shared dependencies only gets its operationId, security and
    error responses without declaring them."""
    router = APIRouter(prefix="/v1/gadgets")

    @router.post("/{gadget_id}/polish")
    async def polish_gadget(gadget_id: str, partner_id: PartnerId) -> dict[str, str]:
        """Polish a gadget."""
        return {"id": gadget_id}

    @router.get("")
    async def list_gadgets(caller: Caller) -> dict[str, str]:
        """Every gadget."""
        return {}

    @router.delete("/{gadget_id}")
    async def scrap_gadget(gadget_id: str, admin: AdminOnly) -> None:
        """Scrap a gadget."""

    runtime = Runtime(
        name="gadgets",
        settings=INTAKE_SETTINGS,
        outbox=outbox,
        processed=processed_events,
        partner_lookup=partner_id_by_key_hash,
    )
    app: FastAPI = create_service_app(
        title="gadgets", description="Gadgets.", runtime=runtime, routers=[router]
    )
    found = operations(app.openapi())
    polish = found[("post", "/v1/gadgets/{gadget_id}/polish")]
    assert polish["operationId"] == "polish_gadget"
    assert polish["security"] == [{"bearer": []}]
    assert set(polish["responses"]) == {"200", "401", "403", "404", "413", "422", "429", "503"}
    listing = found[("get", "/v1/gadgets")]
    assert set(listing["responses"]) == {"200", "401", "422", "429", "503"}
    scrap = found[("delete", "/v1/gadgets/{gadget_id}")]
    assert set(scrap["responses"]) == {"200", "401", "403", "404", "422", "429", "503"}
    assert found[("get", "/healthz")]["operationId"] == "gadgets_healthz"


def _schema(document: dict[str, Any], ref_or_schema: dict[str, Any]) -> dict[str, Any]:
    """The schema itself: a ``$ref`` resolved, an optional one (``anyOf`` with null) too."""
    refs = [s for s in ref_or_schema.get("anyOf", ()) if "$ref" in s]
    if len(refs) == 1:
        return _schema(document, refs[0])
    ref = ref_or_schema.get("$ref")
    if ref is None:
        return ref_or_schema
    found: dict[str, Any] = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return found


def _enum(document: dict[str, Any], schema: str, field: str) -> set[str]:
    """The values the ``field`` of ``schema`` may take, as the document states them."""
    prop = document["components"]["schemas"][schema]["properties"][field]
    prop = _schema(document, prop.get("items", prop))
    return set(prop["enum"])


def test_statuses_timeline_types_exclusions_and_states_are_enums() -> None:
    intake, router = documents()["intake"], documents()["router"]
    assert _enum(intake, "LeadOut", "status") == set(get_args(lifecycle.LeadStatus))
    assert "converted" in _enum(intake, "LeadSubmitted", "status")
    assert _enum(intake, "TimelineEntryOut", "type") == set(get_args(lifecycle.TimelineType))
    assert _enum(router, "ExcludedOut", "reason") == set(get_args(ExclusionCode))
    assert _enum(router, "DeliveryOut", "status") == {"pending", "delivered", "failed", "cancelled"}
    assert _enum(router, "EndpointOut", "status") == {"enabled", "disabled"}
    assert _enum(router, "DecisionOut", "outcome") == {"routed", "waiting", "unroutable"}


def test_the_enums_hold_every_value_the_services_produce() -> None:
    """A status, timeline type or exclusion code outside the enum would fail the response."""
    moving = set(lifecycle._TRANSITIONS) - {"delivery_failed"}
    statuses = set(get_args(lifecycle.LeadStatus))
    assert moving | {"received", "duplicate"} == statuses
    assert {lifecycle.next_status(s, f) for s in statuses for f in lifecycle._TRANSITIONS} <= (
        statuses
    )
    refunds = set(get_args(policy.RefundFact))
    recorded = set(consumers._FACTS.values()) | set(lifecycle._TRANSITIONS) | statuses | refunds
    assert recorded == set(get_args(lifecycle.TimelineType))
    assert {check.code for check in CHECKS} == set(get_args(ExclusionCode))


#: Bodies whose example cannot stay valid: ``since`` must lie within the last 14 days.
_TIME_BOUND_EXAMPLES = {"recover_deliveries"}


@pytest.mark.parametrize("service", sorted(CONTRACT))
def test_every_request_body_has_an_example_the_operation_accepts(service: str) -> None:
    document = documents()[service]
    bodies = 0
    for route in iter_route_contexts(apps()[service].routes):
        body_field = getattr(route, "body_field", None)
        if body_field is None or not route.include_in_schema:
            continue
        bodies += 1
        (method,) = route.methods or {"?"}
        operation = operations(document)[(method.lower(), str(route.path_format))]
        content = operation["requestBody"]["content"]["application/json"]
        schema = _schema(document, content["schema"])
        examples = content.get("examples") or schema.get("examples")
        assert examples, f"{route.name} has no request body example"
        if route.name in _TIME_BOUND_EXAMPLES:
            continue
        adapter: TypeAdapter[Any] = TypeAdapter(body_field.field_info.annotation)
        for example in examples:
            adapter.validate_python(example)
    assert bodies >= 1


@pytest.mark.parametrize(
    ("method", "path", "headers", "status", "slug"),
    [
        ("get", "/v1/leads/lead_1", {}, 401, "unauthorized"),
        ("post", "/v1/leads", {"Authorization": f"Bearer {ADMIN_TOKEN}"}, 403, "forbidden"),
        ("get", "/v1/leads/lead_1?x=%00", {}, 422, "validation"),
        ("get", "/healthz?x=%00", {}, 422, "validation"),
    ],
)
async def test_the_errors_a_client_gets_are_the_documented_problem(
    method: str, path: str, headers: dict[str, str], status: int, slug: str
) -> None:
    document = documents()["intake"]
    transport = httpx.ASGITransport(app=apps()["intake"])
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as http:
        response = await http.request(method, path, headers=headers, json={})
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["type"] == PROBLEM_TYPE_BASE + slug
    schema = {**document["components"]["schemas"]["Problem"], "components": document["components"]}
    jsonschema.validate(body, schema)
    route = path.split("?", maxsplit=1)[0].replace("lead_1", "{lead_id}")
    assert str(status) in operations(document)[(method, route)]["responses"]
