"""Debian's Chromium driven by Playwright (never a downloaded browser), and a signed-in page."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import Browser, Page, ViewportSize, async_playwright

CHROMIUM = os.environ.get("CROSSLEAD_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: ``UPDATE_SCREENSHOTS=1`` writes the screenshots the README shows into docs/console/.
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "console"
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser
        finally:
            await browser.close()


async def sign_in(browser: Browser, console: str, token: str) -> Page:
    """A new browser context (its own cookies) signed in with ``token``."""
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    await page.goto(console + "/")
    await page.get_by_label("Operator token or partner API key").fill(token)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_load_state()
    return page


async def screenshot(page: Page, name: str, tmp: Path) -> None:
    """Into the test's temporary folder, and into docs/console/ when asked for."""
    path = tmp / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        shutil.copy(path, SCREENSHOTS / path.name)
