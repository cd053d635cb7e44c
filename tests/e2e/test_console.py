"""The web console in Debian's Chromium on the real stack (broker, intake, router, payouts and
the console as processes): the operator and partners walk the whole exchange through pages."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, expect

from crosslead_local.localstack import LocalStack, free_port
from tests.e2e.console_browser import DESKTOP, PHONE, chromium, screenshot, sign_in
from tests.e2e.harness import lead
from tests.support import ADMIN_TOKEN, eventually, serve
from tests.support.databases import BACKENDS, postgres_database
from tests.support.webhooks import Receiver

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=BACKENDS)
async def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LocalStack]:
    """One stack with the console for the whole module, per database backend."""
    var = tmp_path_factory.mktemp(f"console-{request.param}")
    ports = {"intake": free_port(), "router": free_port(), "payouts": free_port()}
    if request.param == "postgresql":
        async with (
            postgres_database() as intake,
            postgres_database() as router,
            postgres_database() as payouts,
        ):
            urls = {"intake": intake, "router": router, "payouts": payouts}
            async with _started(_stack(var, ports, urls)) as running:
                yield running
    else:
        async with _started(_stack(var, ports, None)) as running:
            yield running


@asynccontextmanager
async def _started(stack: LocalStack) -> AsyncIterator[LocalStack]:
    """Start and stop ``stack`` off the event loop (it runs its own short loops)."""
    await asyncio.to_thread(stack.start)
    try:
        yield stack
    finally:
        await asyncio.to_thread(stack.stop)


def _stack(var: Path, ports: dict[str, int], urls: dict[str, str] | None) -> LocalStack:
    return LocalStack(
        var_dir=var,
        admin_token=ADMIN_TOKEN,
        broker_port=free_port(),
        ports=ports,
        database_urls=urls,
        console_port=free_port(),
        extra_env={
            "CROSSLEAD_KAFKA_TOPIC_PARTITIONS": "1",
            # The test reloads pages until events arrive; rate limits have their own tests.
            "CROSSLEAD_RATE_LIMIT_PER_SECOND": "1000",
            "CROSSLEAD_RATE_LIMIT_BURST": "2000",
        },
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as running:
        yield running


async def until_shown(page: Page, locator: str, timeout: float = 30) -> None:
    """Reload until the page shows ``locator`` (events reach the other services shortly)."""

    async def shown() -> bool:
        await page.wait_for_load_state()
        if await page.locator(locator).count():
            return True
        await page.reload()
        return False

    await eventually(shown, timeout=timeout, interval=0.5)


async def register_partner(page: Page, console: str, name: str, offers: str) -> tuple[str, str]:
    await page.goto(console + "/partners")
    await page.get_by_label("Name").fill(name)
    await page.get_by_label("Categories it offers").fill(offers)
    await page.get_by_label("Regions").fill("berlin")
    await page.get_by_role("button", name="Register partner").click()
    await expect(page.get_by_role("heading", name=f"{name} is registered")).to_be_visible()
    return await page.locator("#partner-id").inner_text(), await page.locator(
        "#api-key"
    ).inner_text()


async def test_operator_and_partners_walk_the_whole_exchange(
    stack: LocalStack, browser: Browser, tmp_path: Path
) -> None:
    console = stack.url("console")
    hooks = Receiver()
    async with serve(hooks.app()) as hooks_url:
        operator = await sign_in(browser, console, ADMIN_TOKEN)
        await expect(operator.get_by_role("heading", name="Leads")).to_be_visible()

        # A refused form keeps what was typed and shows the API's error next to the field.
        await operator.goto(console + "/partners")
        await operator.get_by_label("Name").fill("Broken")
        await operator.get_by_label("Categories it offers").fill("windows")
        await operator.get_by_label("Regions").fill("berlin")
        await operator.get_by_label("Leads per day (blank: no limit)").fill("-3")
        await operator.get_by_role("button", name="Register partner").click()
        await expect(operator.locator("#f-capacity_per_day-error")).to_contain_text("greater")
        await expect(operator.get_by_label("Name")).to_have_value("Broken")

        shop_id, shop_key = await register_partner(operator, console, "Fenster Shop", "windows")
        fitter_id, fitter_key = await register_partner(
            operator, console, "Montage Pro", "installation"
        )
        _, stranger_key = await register_partner(operator, console, "Far Away", "installation")

        await operator.goto(console + "/agreements")
        await operator.get_by_label(re.compile("^Source partner id")).fill(shop_id)
        await operator.get_by_label(re.compile("^Target partner id")).fill(fitter_id)
        await operator.get_by_label("Categories").fill("installation")
        await operator.get_by_label("Rate (percent model)").fill("0.10")
        await operator.get_by_label("Manager's share of the commission").fill("2")
        await operator.get_by_role("button", name="Create agreement").click()
        await expect(operator.locator("#f-manager_share-error")).to_be_visible()
        await operator.get_by_label("Manager's share of the commission").fill("0.20")
        await operator.get_by_role("button", name="Create agreement").click()
        await expect(operator.locator("h1 .badge")).to_have_text("active")
        agreement_id = (await operator.locator("h1 code").inner_text()).strip()
        await screenshot(operator, "operator-agreement", tmp_path)

        # The installer signs in with its key and registers its webhook endpoint.
        fitter = await _partner_session(browser, console, fitter_key)
        await fitter.goto(console + "/webhooks")

        async def registered() -> str | None:
            await fitter.goto(console + "/webhooks")
            await fitter.get_by_label("URL").fill(f"{hooks_url}/hooks/{fitter_id}")
            await fitter.get_by_role("button", name="Register endpoint").click()
            secret = fitter.locator("#webhook-secret")
            return await secret.inner_text() if await secret.count() else None

        hooks.secrets[fitter_id] = await eventually(registered, timeout=30, interval=0.5)
        await expect(
            fitter.get_by_role("cell", name=f"{hooks_url}/hooks/{fitter_id}", exact=True)
        ).to_be_visible()

        # The shop's system hands over a lead through the API; it arrives in the inbox.
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.post(
                stack.url("intake") + "/v1/leads",
                headers={"Authorization": f"Bearer {shop_key}"},
                json=lead("berlin", "+49 30 5550199"),
            )
        assert response.status_code == 202, response.text
        lead_id = response.json()["id"]

        await fitter.goto(console + "/inbox")
        await until_shown(fitter, f"section[aria-labelledby=open] a[href$='/leads/{lead_id}']")
        await expect(fitter.locator(".deadline")).to_contain_text("left")
        await screenshot(fitter, "partner-inbox", tmp_path)
        await eventually(lambda: hooks.offers_for(lead_id), timeout=30)

        await fitter.locator(f"a[href$='/leads/{lead_id}']").first.click()
        # The offer is blind: the contact is shown only once the installer accepted.
        contact = fitter.locator("section[aria-labelledby=contact]")
        await expect(fitter.get_by_role("button", name="Accept lead")).to_be_visible()
        await expect(contact).to_have_count(0)
        await expect(fitter.locator("body")).not_to_contain_text("Ada Buyer")
        await fitter.get_by_role("button", name="Accept lead").click()
        await expect(fitter.get_by_role("status")).to_have_text("Lead accepted.")
        await expect(fitter.locator(".timeline")).to_contain_text("accepted")
        await expect(contact).to_contain_text("Ada Buyer")
        await expect(contact.get_by_role("link", name="+49 30 5550199")).to_be_visible()

        # A wrong amount is refused next to its field; the corrected deal is reported.
        await fitter.get_by_role("link", name=re.compile("Report a deal")).last.click()
        await expect(fitter.get_by_label("Lead id")).to_have_value(lead_id)
        await fitter.get_by_label("Your deal id").fill("deal-1")
        await fitter.get_by_label("Amount").fill("a lot")
        await fitter.get_by_role("button", name="Report").click()
        await expect(fitter.locator("#f-amount-error")).to_be_visible()
        await fitter.get_by_label("Amount").fill("1000.00")
        await fitter.get_by_role("button", name="Report").click()
        await expect(fitter.get_by_role("status")).to_contain_text("Reported")

        # Another partner cannot open the lead: the API's 404 is shown as "not found".
        stranger = await _partner_session(browser, console, stranger_key)
        opened = await stranger.goto(f"{console}/leads/{lead_id}")
        assert opened is not None
        assert opened.status == 404
        await expect(stranger.get_by_role("heading", name="Not found.")).to_be_visible()
        await expect(stranger.locator("body")).not_to_contain_text("Ada Buyer")

        # The operator sees the timeline with the routing decision drawn, and the statement.
        await operator.goto(console + "/")
        await operator.get_by_label("Lead id").fill(lead_id)
        await operator.get_by_role("button", name="Open").click()
        await until_shown(operator, ".timeline .status-converted")
        await expect(
            operator.locator(f"svg[aria-label='Score breakdown of {fitter_id}']")
        ).to_be_visible()
        await screenshot(operator, "operator-lead", tmp_path)

        await operator.goto(f"{console}/statements?partner_id={shop_id}")
        await until_shown(operator, "td.num:text-is('100.00')")
        await screenshot(operator, "operator-statement", tmp_path)

        await operator.goto(console + "/payout-runs")
        await operator.get_by_role("button", name="Preview payout").click()
        await operator.get_by_role("button", name="Run payout").click()
        await expect(
            operator.get_by_role("heading", name=re.compile("^Payout run"))
        ).to_be_visible()
        transfer = operator.get_by_role("row", name=re.compile(f"{fitter_id}.*{shop_id}"))
        await expect(transfer).to_contain_text("100.00 EUR")
        await screenshot(operator, "operator-payout-run", tmp_path)

        await fitter.goto(console + "/statements")
        await expect(fitter.locator("body")).to_contain_text("-100.00")
        await fitter.set_viewport_size(PHONE)
        for path in ("/statements", f"/leads/{lead_id}", "/inbox"):
            await fitter.goto(console + path)
            width = await fitter.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{path} scrolls sideways on a phone: {width}px"
        await screenshot(fitter, "partner-inbox-phone", tmp_path)

        await fitter.set_viewport_size(DESKTOP)
        await _partner_tools(fitter, console)
        shop = await _partner_session(browser, console, shop_key)
        await shop.get_by_label("Open a lead you sent or were offered, by id").fill(lead_id)
        await shop.get_by_role("button", name="Open").click()
        await expect(shop.locator(".timeline")).to_contain_text("converted")
        await expect(shop.get_by_role("heading", name="Routing decisions")).to_be_visible()
        await shop.goto(console + "/earnings")
        await shop.get_by_label("Manager id").fill("mgr-7")
        await shop.get_by_role("button", name="Show").click()
        await expect(shop.locator("main")).to_contain_text("20.00 EUR")

        await operator.goto(console + "/health")
        pair = operator.locator("section[aria-labelledby=w30]").get_by_role(
            "row", name=re.compile(f"{shop_id} {fitter_id}|{fitter_id} {shop_id}")
        )
        await expect(pair).to_contain_text("1 / 1 / 1")
        await expect(pair).to_contain_text("imbalanced")
        await operator.goto(f"{console}/agreements/{agreement_id}")
        await operator.get_by_role("button", name="End agreement").click()
        await expect(operator.locator("h1 .badge")).to_have_text("ended")

        for page, token in ((operator, ADMIN_TOKEN), (fitter, fitter_key)):
            for link in await page.locator("nav a").all():
                href = await link.get_attribute("href")
                fetched = await page.request.get(console + str(href))
                assert fetched.status == 200, href
                assert token not in await fetched.text()


async def test_the_operator_disables_a_partner_and_enables_it_again(
    stack: LocalStack, browser: Browser
) -> None:
    console = stack.url("console")
    operator = await sign_in(browser, console, ADMIN_TOKEN)
    partner_id, key = await register_partner(operator, console, "Idle Fitters", "installation")
    fitter = await _partner_session(browser, console, key)
    await fitter.goto(console + f"/partners/{partner_id}")
    await expect(fitter.get_by_role("heading", name="Idle Fitters")).to_be_visible()
    assert await fitter.get_by_role("button", name="Disable partner").count() == 0

    async def intake_answers() -> int:
        async with httpx.AsyncClient() as http:
            url = stack.url("intake") + f"/v1/partners/{partner_id}"
            response = await http.get(url, headers={"Authorization": f"Bearer {key}"})
            return response.status_code

    await operator.goto(console + f"/partners/{partner_id}")
    await operator.get_by_role("button", name="Disable partner").click()
    await expect(operator.get_by_role("status")).to_have_text("Saved.")
    await expect(operator.locator("h1 .badge")).to_have_text("disabled")
    assert await intake_answers() == 401

    await operator.get_by_role("button", name="Enable partner").click()
    await expect(operator.get_by_role("status")).to_have_text("Saved.")
    await expect(operator.locator("h1 .badge")).to_have_count(0)
    await expect(operator.get_by_role("button", name="Disable partner")).to_be_visible()
    assert await intake_answers() == 200


async def _partner_tools(page: Page, console: str) -> None:
    """Pause in the settings, a published pitch card, and the cross-sell page."""
    await page.get_by_role("link", name="Settings").click()
    await page.get_by_label("Paused (no new leads)").check()
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.get_by_role("status")).to_have_text("Saved.")
    await expect(page.get_by_label("Paused (no new leads)")).to_be_checked()

    await page.goto(console + "/pitch-cards")
    await page.get_by_label("Category (one you offer)").fill("installation")
    await page.get_by_label("Headline").fill("Fitted in a day")
    await page.get_by_label("Talking points (one per line, 1-10)").fill("Certified\nTidy")
    await page.get_by_role("button", name="Save draft").click()
    card = page.locator("article", has_text="Fitted in a day")
    await expect(card.locator(".badge")).to_have_text("draft")
    await card.get_by_role("button", name="Publish").click()
    await expect(card.locator(".badge")).to_have_text("published")

    await page.goto(console + "/cross-sell?category=windows")
    await expect(page.locator("main")).to_contain_text("No complementary needs for windows")


async def _partner_session(browser: Browser, console: str, key: str) -> Page:
    """Signed in with a partner key (a brand-new key works once every service has it)."""
    page = await sign_in(browser, console, key)

    async def signed_in() -> bool:
        if await page.get_by_role("button", name="Sign out").count():
            return True
        await page.get_by_label("Operator token or partner API key").fill(key)
        await page.get_by_role("button", name="Sign in").click()
        return False

    await eventually(signed_in, timeout=30, interval=0.5)
    return page


async def test_sessions_cookies_and_forms_are_safe(stack: LocalStack, browser: Browser) -> None:
    console = stack.url("console")
    page = await sign_in(browser, console, ADMIN_TOKEN)
    cookie = next(c for c in await page.context.cookies() if c["name"] == "crosslead_console")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"
    assert ADMIN_TOKEN not in cookie["value"]
    assert ADMIN_TOKEN not in await page.content()

    # A form posted without the session's CSRF token changes nothing.
    async with httpx.AsyncClient(
        base_url=console, cookies={cookie["name"]: cookie["value"]}
    ) as http:
        forged = await http.post(
            "/partners", data={"name": "Forged", "offers": "x", "regions": "y"}
        )
        assert forged.status_code == 403
        assert "Forged" not in forged.text
        assert (await http.get("/partners")).status_code == 200  # the session still works

    # A wrong token is refused on the sign-in page.
    wrong = await sign_in(browser, console, "clk_not-a-real-key")
    await expect(wrong.locator("#f-token-error")).to_be_visible()

    # After signing out, the old page's links lead to the sign-in page, and so does a stale
    # cookie that the console no longer knows.
    await page.get_by_role("button", name="Sign out").click()
    await page.goto(console + "/partners")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    async with httpx.AsyncClient(
        base_url=console, cookies={cookie["name"]: cookie["value"]}
    ) as http:
        stale = await http.get("/partners")
        assert stale.status_code == 303
        assert stale.headers["location"] == "/sign-in"

    # Behind the gateway every link and the cookie carry its /console prefix.
    async with httpx.AsyncClient(
        base_url=console, headers={"X-Forwarded-Prefix": "/console"}
    ) as http:
        home = await http.get("/")
        assert home.headers["location"] == "/console/sign-in"
        signin = await http.get("/sign-in")
        assert 'action="/console/sign-in"' in signin.text
        assert "Path=/console" in signin.headers["set-cookie"]
        assert "Secure" not in signin.headers["set-cookie"]

    # Served over https (the gateway says so), the cookies are Secure.
    async with httpx.AsyncClient(base_url=console, headers={"X-Forwarded-Proto": "https"}) as http:
        signin = await http.get("/sign-in")
        assert "Secure" in signin.headers["set-cookie"]
