"""The console's operator pages on the real stack in Debian's Chromium: the pipeline counts
submitted leads, the operator lists leads, partners, agreements and dead letters and previews a
payout run before running it; a partner lists the leads it sent and received, and another
partner cannot open them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from crosslead_common.events import Topic
from crosslead_common.kafka import create_producer
from crosslead_local.localstack import LocalStack
from tests.e2e import test_console
from tests.e2e.console_browser import DESKTOP, PHONE, screenshot, sign_in
from tests.e2e.harness import lead
from tests.e2e.test_console import _partner_session, register_partner, until_shown
from tests.support import ADMIN_TOKEN, eventually

pytestmark = pytest.mark.asyncio(loop_scope="module")

# The console tests' fixtures: a stack per database backend and a browser, for this module.
stack = test_console.stack
browser = test_console.browser


async def _api(
    stack: LocalStack, service: str, method: str, path: str, token: str, **kwargs: Any
) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.request(
            method,
            stack.url(service) + path,
            headers={"Authorization": f"Bearer {token}"},
            **kwargs,
        )


async def _won_deal(stack: LocalStack, lead_id: str, fitter_key: str) -> None:
    """The fitter accepts the lead once it is offered, and reports a 1 000.00 EUR deal."""

    async def accepted() -> bool:
        response = await _api(stack, "intake", "POST", f"/v1/leads/{lead_id}/accept", fitter_key)
        return response.status_code == 202

    await eventually(accepted, timeout=30, interval=0.5)
    deal = {
        "lead_id": lead_id,
        "external_id": "deal-ops",
        "status": "won",
        "amount": "1000.00",
        "currency": "EUR",
    }
    response = await _api(stack, "intake", "POST", "/v1/conversions", fitter_key, json=deal)
    assert response.status_code == 202, response.text


async def _poison(stack: LocalStack) -> None:
    """A message no consumer can read, on the leads topic: intake parks it as a dead letter."""
    producer = create_producer(stack.broker.bootstrap_servers, client_id="test")
    await producer.start()
    try:
        await producer.send_and_wait(Topic.LEADS, b"not json", key=b"poison")
    finally:
        await producer.stop()


async def _fits_a_phone(page: Page, url: str) -> None:
    await page.set_viewport_size(PHONE)
    await page.goto(url)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{url} scrolls sideways on a phone: {width}px"


async def test_operator_pages_and_a_partners_sent_leads(
    stack: LocalStack, browser: Browser, tmp_path: Path
) -> None:
    console = stack.url("console")
    operator = await sign_in(browser, console, ADMIN_TOKEN)
    await expect(operator.get_by_role("heading", name="Pipeline")).to_be_visible()
    shop_id, shop_key = await register_partner(operator, console, "Glas Haus", "windows")
    fitter_id, fitter_key = await register_partner(operator, console, "Fix Fenster", "installation")
    _, stranger_key = await register_partner(operator, console, "Nowhere Ltd", "installation")
    terms = {
        "source_partner_id": shop_id,
        "target_partner_id": fitter_id,
        "categories": ["installation"],
        "commission": {"type": "percent", "rate": "0.10"},
        "manager_share": "0.20",
    }
    created = await _api(stack, "intake", "POST", "/v1/agreements", ADMIN_TOKEN, json=terms)
    assert created.status_code == 201, created.text
    agreement_id = created.json()["id"]

    lead_ids = []
    for phone in ("+49 30 5550301", "+49 30 5550302"):
        sent = await _api(
            stack, "intake", "POST", "/v1/leads", shop_key, json=lead("berlin", phone)
        )
        assert sent.status_code == 202, sent.text
        lead_ids.append(sent.json()["id"])

    # The pipeline counts both leads in either window, drawn as a chart.
    await operator.goto(console + "/pipeline")
    await until_shown(operator, "#lead-total:text-is('2')")
    await expect(operator.get_by_role("img", name="Leads by status, last 24 hours")).to_be_visible()
    await screenshot(operator, "operator-pipeline", tmp_path)
    await operator.get_by_role("link", name="last 7 days").click()
    await expect(operator.locator("#lead-total")).to_have_text("2")
    await operator.get_by_label("Lead id").fill(lead_ids[0])
    await operator.get_by_role("button", name="Open").click()
    await expect(operator.get_by_role("heading", name=re.compile("^Lead "))).to_contain_text(
        lead_ids[0]
    )

    await operator.get_by_role("navigation").get_by_role("link", name="Leads", exact=True).click()
    for lead_id in lead_ids:
        await expect(operator.get_by_role("link", name=lead_id)).to_be_visible()
    await screenshot(operator, "operator-leads", tmp_path)

    await operator.get_by_role("link", name="Partners", exact=True).click()
    for name in ("Glas Haus", "Fix Fenster", "Nowhere Ltd"):
        await expect(operator.get_by_role("link", name=name)).to_be_visible()
    await screenshot(operator, "operator-partners", tmp_path)
    await operator.get_by_role("link", name="Fix Fenster").click()
    await expect(operator.get_by_role("heading", name="Fix Fenster")).to_be_visible()

    await operator.get_by_role("link", name="Agreements", exact=True).click()
    row = operator.get_by_role("row", name=re.compile(agreement_id))
    await expect(row).to_contain_text(shop_id)
    await expect(row).to_contain_text("active")
    await screenshot(operator, "operator-agreements", tmp_path)
    await operator.get_by_label("Only a partner's (id)").fill(fitter_id)
    await operator.get_by_role("button", name="Filter").click()
    await expect(operator.get_by_role("link", name=agreement_id)).to_be_visible()

    await operator.get_by_role("link", name="Dead letters", exact=True).first.click()
    for service in ("Intake", "Router", "Payouts"):
        await expect(operator.get_by_role("heading", name=service)).to_be_visible()
    await expect(operator.get_by_role("alert")).to_have_count(0)  # every service answered

    # A payout run is previewed first; running it makes the previewed transfer.
    await _won_deal(stack, lead_ids[0], fitter_key)

    async def payable() -> bool:
        response = await _api(
            stack, "payouts", "GET", "/v1/statements", ADMIN_TOKEN, params={"partner_id": shop_id}
        )
        return response.status_code == 200 and bool(response.json()["currency_totals"])

    await eventually(payable, timeout=30, interval=0.5)
    await operator.goto(console + "/payout-runs")
    await operator.get_by_role("button", name="Preview payout").click()
    await expect(operator.get_by_role("heading", name="Payout preview: EUR")).to_be_visible()
    transfer = operator.get_by_role("row", name=re.compile(f"{fitter_id}.*{shop_id}"))
    await expect(transfer).to_contain_text("100.00 EUR")
    await screenshot(operator, "operator-payout-preview", tmp_path)
    statement = await _api(
        stack, "payouts", "GET", "/v1/statements", ADMIN_TOKEN, params={"partner_id": shop_id}
    )
    assert statement.json()["balances"][0]["paid"] == "0.00"  # the preview paid nothing
    await operator.get_by_role("button", name="Run payout").click()
    await expect(operator.get_by_role("heading", name=re.compile("^Payout run"))).to_be_visible()
    await expect(
        operator.get_by_role("row", name=re.compile(f"{fitter_id}.*{shop_id}"))
    ).to_contain_text("100.00 EUR")
    await operator.goto(console + "/payout-runs")
    await operator.get_by_role("button", name="Preview payout").click()
    await expect(operator.get_by_role("cell", name="No transfers.")).to_be_visible()

    # The shop sees the leads it sent, with their status, and opens one's timeline.
    shop = await _partner_session(browser, console, shop_key)
    await shop.get_by_role("link", name="Sent leads").click()
    await expect(shop.get_by_role("heading", name="Sent leads")).to_be_visible()
    # Converted, or paid once the run's settlement reached intake.
    done = ":is(.status-converted, .status-paid)"
    await until_shown(shop, f"tr:has(a[href$='/leads/{lead_ids[0]}']) {done}")
    await expect(shop.get_by_role("link", name=lead_ids[1])).to_be_visible()
    await screenshot(shop, "partner-sent-leads", tmp_path)
    await shop.get_by_role("link", name=lead_ids[0]).click()
    await expect(shop.locator(".timeline")).to_contain_text("accepted")
    await shop.goto(console + "/leads?role=received")
    await expect(shop.get_by_role("cell", name="No leads.")).to_be_visible()

    fitter = await _partner_session(browser, console, fitter_key)
    await fitter.goto(console + "/leads?role=received")
    await expect(fitter.get_by_role("link", name=lead_ids[0])).to_be_visible()

    # Another partner neither lists nor opens them.
    stranger = await _partner_session(browser, console, stranger_key)
    await stranger.goto(console + "/leads")
    await expect(stranger.get_by_role("cell", name="No leads.")).to_be_visible()
    opened = await stranger.goto(f"{console}/leads/{lead_ids[0]}")
    assert opened is not None
    assert opened.status == 404
    await expect(stranger.get_by_role("heading", name="Not found.")).to_be_visible()
    refused = await stranger.goto(console + "/dead-letters")
    assert refused is not None
    assert refused.status == 403
    await expect(stranger.get_by_role("heading", name=re.compile("^Forbidden"))).to_be_visible()

    # A message intake cannot read is listed, shown with its body, and redriven (it fails
    # again, so it is parked again).
    await _poison(stack)
    await operator.goto(console + "/dead-letters")
    intake_letters = operator.locator("section[aria-labelledby=dlq-intake]")
    await until_shown(operator, "section[aria-labelledby=dlq-intake] tbody a")
    await expect(intake_letters.get_by_role("row", name=re.compile("undecodable"))).to_contain_text(
        "pending"
    )
    await intake_letters.locator("tbody a").first.click()
    await expect(operator.locator("pre.body")).to_have_text("not json")
    await operator.get_by_role("button", name="Redrive").click()
    await expect(operator.get_by_role("status")).to_have_text(
        "Redriven, but it failed again and was parked again."
    )

    # The new pages fit a phone.
    for path in ("/pipeline", "/leads", "/partners", "/agreements", "/dead-letters"):
        await _fits_a_phone(operator, console + path)
    await operator.goto(console + "/pipeline")
    await screenshot(operator, "operator-pipeline-phone", tmp_path)
    await _fits_a_phone(shop, console + "/leads")
    await operator.set_viewport_size(DESKTOP)
