"""What an operator sees of one lead's whole flow: Prometheus metrics on every service that
move, one trace from the partner's POST to the webhook, and JSON log lines that carry that
trace and never a customer's contact or a secret."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from crosslead_local.localstack import LocalStack
from tests.e2e.harness import Client, lead
from tests.support import ADMIN, ADMIN_TOKEN, eventually, serve
from tests.support.webhooks import Receiver

PHONE = "+49 30 5557788"
EMAIL = "ada.private@example.org"


async def scrape(
    client: Client, service: str
) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of the service's /metrics, by name and labels."""
    response = await client.http.get(client.url(service, "/metrics"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def total(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def names(samples: dict[tuple[str, frozenset[tuple[str, str]]], float]) -> set[str]:
    return {name for name, _ in samples}


async def test_one_lead_moves_every_metric_and_one_trace_reaches_the_webhook(
    stack: LocalStack, client: Client, receiver: tuple[Receiver, str]
) -> None:
    hooks, base_url = receiver
    shop = await client.partner("Window shop", ["windows"], ["berlin"])
    fitter = await client.partner("Berlin fitters", ["installation"], ["berlin"])
    await client.agreement(shop, fitter)
    await client.webhook_endpoint(fitter, hooks, base_url)
    before = {s: await scrape(client, s) for s in ("intake", "router", "payouts")}

    trace_id = secrets.token_hex(16)
    body = lead("berlin", PHONE)
    body["customer"]["email"] = EMAIL
    response = await client.http.post(
        client.url("intake", "/v1/leads"),
        headers={**shop.auth, "traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"},
        json=body,
    )
    assert response.status_code == 202, response.text
    lead_id = response.json()["id"]
    [offer] = await eventually(lambda: hooks.offers_for(lead_id), timeout=30)
    # The webhook continues the trace the partner started with its POST.
    assert re.fullmatch(rf"00-{trace_id}-[0-9a-f]{{16}}-01", offer.headers["traceparent"])

    await client.accept(fitter, lead_id)
    deal_trace = secrets.token_hex(16)
    reported = await client.http.post(
        client.url("intake", "/v1/conversions"),
        headers={**fitter.auth, "traceparent": f"00-{deal_trace}-{secrets.token_hex(8)}-01"},
        json={
            "lead_id": lead_id,
            "external_id": "deal-1",
            "status": "won",
            "amount": "1000.00",
            "currency": "EUR",
        },
    )
    assert reported.status_code == 202, reported.text
    await client.until_recorded(lead_id, "commission_accrued")
    # The fitter hears of the commission by a webhook that continues the deal's trace
    # (intake → payouts → router).
    [accrued] = await eventually(
        lambda: hooks.offers_for(lead_id, "commission.accrued"), timeout=30
    )
    assert re.fullmatch(rf"00-{deal_trace}-[0-9a-f]{{16}}-01", accrued.headers["traceparent"])
    run = await client.http.post(
        client.url("payouts", "/v1/payout-runs"), headers=ADMIN, json={"currency": "EUR"}
    )
    assert run.status_code == 201, run.text
    await client.until_recorded(lead_id, "paid")

    async def moved() -> dict[str, dict[tuple[str, frozenset[tuple[str, str]]], float]] | None:
        after = {s: await scrape(client, s) for s in ("intake", "router", "payouts")}
        # The outbox gauges are sampled every few seconds.
        return after if all("crosslead_outbox_pending" in names(after[s]) for s in after) else None

    after = await eventually(moved, timeout=30)
    intake, router, payouts = after["intake"], after["router"], after["payouts"]

    def grew(service: str, name: str, **labels: str) -> bool:
        return total(after[service], name, **labels) > total(before[service], name, **labels)

    assert grew(
        "intake", "crosslead_http_requests_total", route="/v1/leads", method="POST", status="202"
    )
    assert grew("intake", "crosslead_http_request_duration_seconds_count", route="/v1/leads")
    assert grew("intake", "crosslead_events_published_total", topic="crosslead.leads")
    assert grew(
        "router",
        "crosslead_events_handled_total",
        type="crosslead.lead.received.v2",
        outcome="applied",
    )
    assert grew("intake", "crosslead_events_handled_total", type="crosslead.lead.routed.v1")
    assert grew("router", "crosslead_routing_decisions_total", outcome="routed")
    assert grew("router", "crosslead_webhook_attempts_total", outcome="delivered", host="127.0.0.1")
    assert grew("router", "crosslead_webhook_attempt_duration_seconds_count", outcome="delivered")
    assert grew("payouts", "crosslead_ledger_postings_total", kind="accrual")
    assert grew("payouts", "crosslead_ledger_postings_total", kind="settlement")
    assert grew("payouts", "crosslead_payout_runs_total", currency="EUR")
    for service, samples in after.items():
        assert {"crosslead_consumer_lag", "crosslead_outbox_oldest_pending_age_seconds"} <= names(
            samples
        ), service
        assert total(samples, "crosslead_outbox_pending", service=service) == 0
    # Every partition the router consumes has a lag, and it is caught up.
    lags = {ls: v for (n, ls), v in router.items() if n == "crosslead_consumer_lag"}
    assert len(lags) >= 3
    assert all(v == 0 for v in lags.values())
    # Dead letters are counted from zero for every type a consumer handles.
    assert (
        total(
            payouts, "crosslead_events_dead_lettered_total", type="crosslead.conversion.reported.v1"
        )
        == 0
    )
    assert (
        "crosslead_events_dead_lettered_total",
        frozenset(
            {("service", "intake"), ("group", "crosslead-intake-timeline"), ("type", "undecodable")}
        ),
    ) in intake
    # No label value is an id, an amount or a customer's contact.
    for samples in after.values():
        for _, labels in samples:
            for _, value in labels:
                assert not re.search(r"(ptr|lead|agr|dlv|run)_[0-9a-f]{6}", value), value
                assert PHONE not in value
                assert EMAIL not in value
                assert "1000" not in value

    lines = log_lines(stack.var_dir)
    assert any(line.get("trace_id") == trace_id and line["service"] == "intake" for line in lines)
    assert any(
        line.get("trace_id") == trace_id
        and line["service"] == "router"
        and line.get("event_type") == "crosslead.lead.received.v2"
        and line.get("event_id")
        for line in lines
    )
    assert any(line.get("route") == "/v1/leads" and line.get("request_id") for line in lines)


def log_lines(var_dir: Path) -> list[dict[str, object]]:
    """Every line the services logged; each must be a JSON object free of personal data and
    secrets."""
    parsed = []
    for service in ("intake", "router", "payouts"):
        for raw in (var_dir / f"{service}.log").read_text().splitlines():
            if not raw.startswith("{"):
                continue  # the migration command's lines, before the service starts
            for secret in (
                PHONE,
                PHONE.replace(" ", ""),
                EMAIL,
                ADMIN_TOKEN,
                "Ada Buyer",
                "whsec_",
                "clk_",
            ):
                assert secret not in raw, (service, raw)
            line = json.loads(raw)
            assert line["service"] == service
            parsed.append(line)
    return parsed


async def test_spans_are_exported_over_otlp_when_an_endpoint_is_configured(
    stack: LocalStack, client: Client
) -> None:
    exported: list[tuple[str, str, bytes]] = []

    async def collect(request: Request) -> Response:
        exported.append((request.url.path, request.headers["content-type"], await request.body()))
        return Response(status_code=200)

    collector = Starlette(routes=[Route("/v1/traces", collect, methods=["POST"])])
    async with serve(collector) as collector_url:
        url = await asyncio.to_thread(
            stack.start_replica,
            "intake",
            "intake-otlp",
            {"OTEL_EXPORTER_OTLP_ENDPOINT": collector_url, "OTEL_BSP_SCHEDULE_DELAY": "100"},
        )
        trace_id = secrets.token_hex(16)
        traced = {"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01", **ADMIN}
        assert (
            await client.http.get(f"{url}/v1/partners/ptr_none", headers=traced)
        ).status_code == 404
        await eventually(lambda: any(bytes.fromhex(trace_id) in body for *_, body in exported))
        assert all(path == "/v1/traces" for path, _, _ in exported)
        assert all(kind == "application/x-protobuf" for _, kind, _ in exported)
