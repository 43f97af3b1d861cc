"""Browser fixtures: one headless Chromium (Debian's, no download) per test session, driven by Playwright.

Playwright's sync API keeps an asyncio loop running in the test thread, so Django's "async unsafe" guard would
refuse the ORM calls the tests make while a page is open: this is test-only and the guard is lifted here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# The authorization matrix's fixtures (module-wide world, per-test savepoint).
from bridgecrm.web.tests.matrix_support import world, world_once  # noqa: F401

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "screenshots"


@pytest.fixture(scope="session")
def compiled_catalogues() -> None:
    """The live server translates with the .mo files: (re)compile any that is older than its .po."""
    from django.utils.translation.reloader import translation_file_changed

    from bridgecrm.core.i18n import compile_catalogues

    if compile_catalogues():
        translation_file_changed(sender=None, file_path=Path("django.mo"))


@pytest.fixture(scope="session")
def chromium(compiled_catalogues) -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium, live_server) -> Iterator[object]:
    """A fresh context (no cookies) and page, 375 px wide to start with; tests resize as they go."""
    context = chromium.new_context(viewport={"width": 375, "height": 800}, locale="en-US", base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"{page.url}: page error: {exc}"))
    page.on("console", lambda msg: problems.append(f"{page.url}: {msg.text}") if msg.type == "error" else None)
    page.problems = problems  # read by the tests: CSP violations and script errors end up here
    yield page
    context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
