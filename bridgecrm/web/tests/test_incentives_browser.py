"""Commission statements in a real browser, in both languages: a rep opens his statement (amounts and
links, no rates); his manager opens it (rates shown) and approves it, and it is locked.

Screenshots: test-artifacts/screenshots/incentives-<step>-<language>-<width>.png.
"""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.apps import apps

from bridgecrm.activities.models import Notification, NotificationKind
from bridgecrm.incentives import services
from bridgecrm.incentives.models import Statement, StatementStatus
from bridgecrm.incentives.tests.helpers import JULY, plan, target, won_deal
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
        "0006_grant_performance",
    ):
        module = importlib.import_module(f"bridgecrm.users.migrations.{name}")
        getattr(module, "grant", None) and module.grant(apps, None)


def t(language: str, text: str) -> str:
    return zh(text) if language == "zh-hans" else text


def both_widths(page, screenshots, name: str, language: str) -> None:
    shot(page, screenshots, f"incentives-{name}", language)
    page.set_viewport_size(PHONE)
    assert_fits(page, f"{name} {language} {PHONE['width']}")
    shot(page, screenshots, f"incentives-{name}", language)
    page.set_viewport_size(DESKTOP)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_rep_opens_statement_and_manager_approves(browser_page, company, live_server, screenshots, language) -> None:
    page = browser_page
    plan(company.admin, company.owner, accelerator="1.5", cap="3000")
    target(company.owner, "100000")
    won_deal(company.admin, company.owner, "50000", dt.date(2026, 7, 5), "Alpha")
    won_deal(company.admin, company.owner, "40000", dt.date(2026, 7, 12), "华丰机械")
    won_deal(company.admin, company.owner, "30000", dt.date(2026, 7, 20), "Gamma")
    statement = services.statement_generate(actor=company.manager_a, user=company.owner, period=JULY)
    page.set_viewport_size(DESKTOP)

    # The rep finds his statement in the list and opens it: amounts and sources, no rates.
    sign_in(page, company.owner.username)
    page.wait_for_url(f"{live_server.url}/")
    if language != "en":
        switch_language(page, language)
    page.goto("/incentives/statements/")
    assert page.locator("h1").first.inner_text() == t(language, "Commission statements")
    both_widths(page, screenshots, "statements-rep", language)
    with page.expect_navigation():
        page.locator('[data-testid="statement-link"]').first.click()
    assert page.locator('[data-testid="statement-total"]').inner_text().replace(",", "") == "3000.00"
    lines = page.locator('[data-testid="statement-lines"]')
    assert "华丰机械" in lines.inner_text() and lines.locator("tbody tr").count() == 6
    assert page.locator('[data-testid="plan-rates"]').count() == 0
    assert page.locator('[data-testid="approve"]').count() == 0
    assert "≥ 80 %" not in page.content()
    both_widths(page, screenshots, "statement-rep", language)

    # His manager sees the rates and approves; the statement is locked and the rep told.
    page.context.clear_cookies()
    sign_in(page, company.manager_a.username)
    page.wait_for_url(f"{live_server.url}/")
    if language != "en":
        switch_language(page, language)
    page.goto(f"/incentives/statements/{statement.pk}/")
    assert page.locator('[data-testid="plan-rates"]').count() == 1
    assert "≥ 80 %" in page.locator('[data-testid="statement-lines"]').inner_text()
    both_widths(page, screenshots, "statement-manager", language)
    with page.expect_navigation():
        page.click('[data-testid="approve"]')
    assert Statement.objects.get(pk=statement.pk).status == StatementStatus.APPROVED
    assert page.locator('[data-testid="approve"]').count() == 0
    assert Notification.objects.filter(recipient=company.owner, kind=NotificationKind.STATEMENT_READY).exists()
    both_widths(page, screenshots, "statement-approved", language)
    assert not page.problems, page.problems
