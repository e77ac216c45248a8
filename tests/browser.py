"""Pages in real headless Chromium (Debian's ``/usr/bin/chromium``, driven by playwright).

A missing browser fails the page tests (it never skips them): the ``chromium`` fixture installs Debian's
package when it can (``apt-get``, as root), and otherwise fails saying how to install it. Use:

    async def test_a_page(page: Page, urls, staff_tokens, stack) -> None:
        await sign_in(page, urls["reporting"], staff_tokens["viewer"])
        await page.goto(f"{urls['reporting']}/dashboard")
        await screenshot(page, stack, "dashboard")       # under the test stack's folder
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from shared.stack.devstack import DevStack

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _install_chromium() -> None:
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([apt, "update"], env=env, capture_output=True, check=False, timeout=600)
    subprocess.run([apt, "install", "-y", "chromium"], env=env, capture_output=True, check=False, timeout=900)


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        _install_chromium()
    if not CHROMIUM.exists():
        pytest.fail("headless Chromium is needed for the page tests: `apt-get install chromium` (Debian)")
    return CHROMIUM


@pytest.fixture(scope="session")
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(chromium), args=FLAGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile (no cookies) per test."""
    fresh = await browser.new_context()
    try:
        yield fresh
    finally:
        await fresh.close()


@pytest.fixture
async def page(context: BrowserContext) -> Page:
    return await context.new_page()


async def sign_in(page: Page, base_url: str, token: str, next_path: str = "/account") -> None:
    """Sign the page's browser in through the sign-in form, with a personal token."""
    await page.goto(f"{base_url}/signin?next={next_path}")
    await page.fill("#token", token)
    await page.click("[data-testid=sign-in]")
    await page.wait_for_url(f"{base_url}{next_path}*")


async def screenshot(page: Page, stack: DevStack, name: str) -> Path:
    """Save a full-page PNG under the test stack's folder (kept with PARLEY_TEST_KEEP=1)."""
    folder = stack.root / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
