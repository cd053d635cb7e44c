"""Webhook management in the console, in Debian's Chromium on the real stack: a partner runs
its endpoint (test event, secret rotation, settings, recover, disable) against a real
receiver that verifies every signature, and the operator finds a failing endpoint on the
webhook health page and retries its delivery."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, expect

from crosslead_local.localstack import LocalStack, free_port
from tests.e2e.console_browser import PHONE, screenshot, sign_in
from tests.e2e.test_console import (
    _partner_session,
    _started,
    browser,
    register_partner,
    until_shown,
)
from tests.support import ADMIN_TOKEN, eventually, serve
from tests.support.databases import BACKENDS, postgres_database
from tests.support.webhooks import Offer, Receiver

pytestmark = pytest.mark.asyncio(loop_scope="module")
__all__ = ["browser"]  # the module's browser fixture, shared with the console's own tests


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=BACKENDS)
async def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LocalStack]:
    """The stack with the console, per backend; a failed attempt is retried only in an hour,
    so what the test sees pending stays pending until someone retries it."""
    var = tmp_path_factory.mktemp(f"console-webhooks-{request.param}")
    ports = {"intake": free_port(), "router": free_port(), "payouts": free_port()}
    env = {
        "CROSSLEAD_KAFKA_TOPIC_PARTITIONS": "1",
        "CROSSLEAD_RATE_LIMIT_PER_SECOND": "1000",
        "CROSSLEAD_RATE_LIMIT_BURST": "2000",
        "CROSSLEAD_ROUTER_WEBHOOK_BACKOFF_SECONDS": "[3600]",
    }

    def local(urls: dict[str, str] | None) -> LocalStack:
        return LocalStack(
            var_dir=var, admin_token=ADMIN_TOKEN, broker_port=free_port(), ports=ports,
            database_urls=urls, console_port=free_port(), extra_env=env,
        )  # fmt: skip

    if request.param == "postgresql":
        async with (
            postgres_database() as intake,
            postgres_database() as router,
            postgres_database() as payouts,
        ):
            urls = {"intake": intake, "router": router, "payouts": payouts}
            async with _started(local(urls)) as running:
                yield running
    else:
        async with _started(local(None)) as running:
            yield running


def verified_tests(hooks: Receiver, partner_id: str) -> list[Offer]:
    """The ``webhook.test`` events the receiver verified for the partner's endpoint."""
    return [
        o for o in hooks.offers if o.partner_id == partner_id and o.body["type"] == "webhook.test"
    ]


async def register_endpoint(page: Page, console: str, url: str) -> str:
    """Register ``url`` (once the router knows the new partner); returns its secret."""

    async def registered() -> str | None:
        await page.goto(console + "/webhooks")
        await page.get_by_label("URL").fill(url)
        await page.get_by_role("button", name="Register endpoint").click()
        secret = page.locator("#webhook-secret")
        return await secret.inner_text() if await secret.count() else None

    return await eventually(registered, timeout=30, interval=0.5)


async def test_a_partner_manages_its_endpoint_and_the_operator_retries_a_failing_one(
    stack: LocalStack, browser: Browser, tmp_path: Path
) -> None:
    console = stack.url("console")
    hooks = Receiver()
    async with serve(hooks.app()) as hooks_url:
        operator = await sign_in(browser, console, ADMIN_TOKEN)
        crm_id, crm_key = await register_partner(operator, console, "Hook CRM", "windows")
        broken_id, broken_key = await register_partner(operator, console, "Broken CRM", "doors")

        # The partner registers its endpoint and opens its page.
        crm = await _partner_session(browser, console, crm_key)
        url = f"{hooks_url}/hooks/{crm_id}"
        hooks.secrets[crm_id] = await register_endpoint(crm, console, url)
        await crm.get_by_role("link", name=f"Manage endpoint {url}").click()
        await expect(crm.locator("#endpoint-status")).to_have_text("enabled")
        endpoint_page = crm.url

        # A test event arrives signed; the log shows it delivered.
        await crm.get_by_role("button", name="Send test event").click()
        await expect(crm.get_by_role("status")).to_contain_text("Test event sent")
        await eventually(lambda: verified_tests(hooks, crm_id), timeout=30)
        await until_shown(crm, "section[aria-labelledby=log] .status-delivered")

        # Rotation: an overlap out of range is refused next to its field; then the new secret
        # is shown once, and a receiver holding only it verifies the next test event.
        old_secret = hooks.secrets[crm_id]
        overlap = crm.get_by_label(re.compile("^Old secret keeps signing for"))
        await overlap.fill("9999999")
        await crm.get_by_role("button", name="Rotate secret").click()
        await expect(crm.locator("#f-previous_valid_for_seconds-error")).to_be_visible()
        await overlap.fill("0")
        await crm.get_by_role("button", name="Rotate secret").click()
        new_secret = await crm.locator("#webhook-secret").inner_text()
        assert new_secret.startswith("whsec_")
        assert new_secret != old_secret
        hooks.secrets[crm_id] = new_secret
        await crm.goto(endpoint_page)
        await expect(crm.locator("#webhook-secret")).to_have_count(0)  # shown only that once
        await crm.get_by_role("button", name="Send test event").click()
        await eventually(lambda: len(verified_tests(hooks, crm_id)) >= 2, timeout=30)
        assert hooks.rejected_signatures == 0
        await crm.get_by_role("button", name="Show secret").click()
        await expect(crm.locator("#webhook-secret")).to_have_text(new_secret)

        # Settings: a bad URL is refused next to the field and keeps what was typed; event
        # types and the description are saved.
        await crm.goto(endpoint_page)
        await crm.get_by_label("URL", exact=True).fill("not a url")
        await crm.get_by_role("button", name="Save endpoint").click()
        await expect(crm.locator("#f-url-error")).to_be_visible()
        await expect(crm.get_by_label("URL", exact=True)).to_have_value("not a url")
        await crm.get_by_label("URL", exact=True).fill(url)
        await crm.get_by_label("Description (optional)").fill("CRM inbox")
        await crm.get_by_label("lead.contact").uncheck()
        await crm.get_by_role("button", name="Save endpoint").click()
        await expect(crm.get_by_role("status")).to_have_text("Saved.")
        await expect(crm.get_by_label("lead.contact")).not_to_be_checked()
        await expect(crm.get_by_label("lead.offered")).to_be_checked()
        await expect(crm.get_by_label("Description (optional)")).to_have_value("CRM inbox")

        # Recover: more than 14 days back is refused next to the field; a day back is done.
        since = crm.get_by_label(re.compile("^Failed since"))
        too_old = datetime.now(UTC) - timedelta(days=20)
        await since.fill(too_old.strftime("%Y-%m-%dT%H:%M"))
        await crm.get_by_role("button", name="Recover").click()
        await expect(crm.locator("#f-since-error")).to_contain_text("14 days")
        await crm.goto(endpoint_page)
        await crm.get_by_role("button", name="Recover").click()
        await expect(crm.get_by_role("status")).to_have_text(
            "0 failed deliveries are attempted again now."
        )
        await screenshot(crm, "partner-webhook", tmp_path)

        # Disabled by hand, with the reason shown.
        await crm.get_by_role("button", name="Disable endpoint").click()
        await expect(crm.locator("#endpoint-status")).to_have_text("disabled")
        await expect(crm.locator("#disabled-reason")).to_contain_text("by hand")

        # Another partner's endpoint page is "not found".
        broken = await _partner_session(browser, console, broken_key)
        opened = await broken.goto(endpoint_page)
        assert opened is not None
        assert opened.status == 404

        # The other partner's receiver fails: its test event waits for another attempt.
        broken_url = f"{hooks_url}/hooks/{broken_id}"
        hooks.failures[broken_id] = 1_000_000
        hooks.secrets[broken_id] = await register_endpoint(broken, console, broken_url)
        await broken.get_by_role("link", name=f"Manage endpoint {broken_url}").click()
        await broken.get_by_role("button", name="Send test event").click()
        delivery_id = await broken.get_by_role("status").locator("code").inner_text()

        # The operator sees it failing (and the disabled one) and retries the delivery.
        await operator.goto(console + "/webhooks/health")
        failing = operator.locator("table.endpoints tr", has_text=broken_url)
        await until_shown(operator, f"table.endpoints tr:has-text('{broken_url}')")
        await expect(failing).to_contain_text("500")
        await expect(failing).to_contain_text(broken_id)
        disabled = operator.locator("table.endpoints tr", has_text=url)
        await expect(disabled).to_contain_text("disabled (manual)")
        waiting = f"section[aria-labelledby=waiting] #delivery-{delivery_id}"
        await until_shown(operator, waiting)
        await screenshot(operator, "operator-webhook-health", tmp_path)
        hooks.failures[broken_id] = 0
        await (
            operator.locator(waiting)
            .get_by_role("button", name=f"Retry delivery {delivery_id} now")
            .click()
        )
        await expect(operator.get_by_role("status")).to_contain_text("attempted again now")
        await eventually(lambda: verified_tests(hooks, broken_id), timeout=30)
        await operator.goto(console + "/deliveries?status=delivered")
        await until_shown(operator, f"#delivery-{delivery_id} .status-delivered")

        # Both pages fit a phone's width (wide tables scroll inside themselves).
        for page, path in ((crm, endpoint_page), (operator, console + "/webhooks/health")):
            await page.set_viewport_size(PHONE)
            await page.goto(path)
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{path} scrolls sideways on a phone: {width}px"
