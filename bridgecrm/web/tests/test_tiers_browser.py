"""Tiers in a real browser, in both languages: the admin previews and saves the tier model, a rep
sees the tier panel on a customer, sets a tier by hand, and opens the routine and compliance pages.

Screenshots: test-artifacts/screenshots/tiers-<step>-<language>-<width>.png.
"""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.apps import apps

from bridgecrm.core import dates
from bridgecrm.customers.models import Customer
from bridgecrm.tiers.models import ManualTier, TierModel
from bridgecrm.tiers.tests.helpers import customer, follow_up
from bridgecrm.web.tests.test_browser import assert_fits, shot, sign_in, switch_language, zh

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(autouse=True)
def defaults(transactional_db) -> None:
    """What the data migrations made: an earlier transactional test may have flushed it."""
    importlib.import_module("bridgecrm.users.migrations.0002_default_roles").create(apps, None)
    for name in (
        "0003_grant_company_management",
        "0004_grant_pipeline_management",
        "0005_grant_customer_operations",
    ):
        module = importlib.import_module(f"bridgecrm.users.migrations.{name}")
        getattr(module, "grant", None) and module.grant(apps, None)
    importlib.import_module("bridgecrm.tiers.migrations.0002_default_tiers").create_defaults(apps, None)


def t(language: str, text: str) -> str:
    return zh(text) if language == "zh-hans" else text


def both_widths(page, screenshots, name: str, language: str) -> None:
    shot(page, screenshots, f"tiers-{name}", language)
    page.set_viewport_size(PHONE)
    assert_fits(page, f"{name} {language} {PHONE['width']}")
    shot(page, screenshots, f"tiers-{name}", language)
    page.set_viewport_size(DESKTOP)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_tier_model_customer_panel_routine(browser_page, company, live_server, screenshots, language) -> None:
    page = browser_page
    big = customer(company.owner, "华丰机械", size="1000+", estimated_annual_potential="2000000", tier="A")
    late = customer(company.owner, "Late Co", size="11-50", tier="A")
    follow_up(late, dates.company_today() - dt.timedelta(days=65), kind="visit")
    page.set_viewport_size(DESKTOP)

    # The admin previews stricter potential thresholds, then saves them.
    sign_in(page, company.admin.username)
    page.wait_for_url(f"{live_server.url}/")
    if language != "en":
        switch_language(page, language)
    page.goto("/settings/tiers/")
    assert page.locator("h1").first.inner_text() == t(language, "Customer tiers")
    page.fill('[name="potential_high"]', "90")
    with page.expect_navigation():
        page.click('[data-testid="preview"]')
    assert page.locator('[data-testid="preview-D"]').inner_text() == "2"
    assert TierModel.objects.get().version == 1
    both_widths(page, screenshots, "settings", language)
    with page.expect_navigation():
        page.click('[data-testid="save"]')
    assert TierModel.objects.get().version == 2
    assert Customer.objects.get(pk=big.pk).tier == "D"  # recomputed after the save

    # The owner sees the tier panel, and pins a tier with a reason.
    page.context.clear_cookies()
    sign_in(page, company.owner.username)
    page.wait_for_url(f"{live_server.url}/")
    if language != "en":
        switch_language(page, language)
    page.goto(f"/customers/{late.pk}/")
    panel = page.locator('[data-testid="tier-panel"]')
    assert t(language, "Tier and follow-up routine") in panel.inner_text()
    assert (
        "5" in panel.locator('[data-testid="sop-due"]').inner_text()
    )  # tier D after the save: 65 - 60 = 5 days overdue
    panel.locator("details > summary").click()
    panel.locator('select[name="tier"]').select_option("B")
    panel.locator('input[name="reason"]').fill("战略客户 / strategic")
    with page.expect_navigation():
        panel.locator('[data-testid="set-tier"]').click()
    assert ManualTier.objects.get(customer=late).tier == "B"
    assert page.locator('[data-testid="tier-code"]').inner_text() == "B"
    both_widths(page, screenshots, "customer", language)

    page.goto("/follow-up-routine/")
    assert "Late Co" in page.locator('[data-testid="routine-table"]').inner_text()
    both_widths(page, screenshots, "routine", language)
    page.goto("/follow-up-routine/compliance/")
    assert t(language, "Follow-up compliance") in page.locator("h1").inner_text()
    both_widths(page, screenshots, "compliance", language)
