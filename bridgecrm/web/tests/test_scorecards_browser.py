"""Scorecards in a real browser, in both languages: the admin defines a scorecard and runs an
evaluation; a manager adjusts a score with a reason; the admin publishes and locks it.

Screenshots: test-artifacts/screenshots/scorecards-<step>-<language>-<width>.png.
"""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.apps import apps

from bridgecrm.core.periods import Period
from bridgecrm.scorecards.models import Evaluation, EvaluationAdjustment, Scorecard
from bridgecrm.tiers.tests.helpers import customer
from bridgecrm.users.models import Role
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
    shot(page, screenshots, f"scorecards-{name}", language)
    page.set_viewport_size(PHONE)
    assert_fits(page, f"{name} {language} {PHONE['width']}")
    shot(page, screenshots, f"scorecards-{name}", language)
    page.set_viewport_size(DESKTOP)


def as_user(page, live_server, username: str, language: str) -> None:
    page.context.clear_cookies()
    sign_in(page, username)
    page.wait_for_url(f"{live_server.url}/")
    if language != "en":
        switch_language(page, language)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_define_run_review_lock(browser_page, company, live_server, screenshots, language) -> None:
    page = browser_page
    today = dt.date.today()
    last = Period.containing("quarter", today).previous()
    since = dt.datetime.combine(last.start + dt.timedelta(days=5), dt.time(2), tzinfo=dt.UTC)
    customer(company.owner, "新客户甲", since=since)
    customer(company.owner, "New B", since=since)
    customer(company.teammate, "New C", since=since)
    page.set_viewport_size(DESKTOP)

    # The admin defines a scorecard: two metrics, 50 % each.
    as_user(page, live_server, company.admin.username, language)
    page.goto("/scorecards/new/")
    page.fill('[name="name"]', "Field sales 外勤销售")
    page.locator(f'input[name="roles"][value="{Role.objects.get(code="rep").pk}"]').check()
    for code, weight in (("new_customers", "60"), ("visits", "30")):
        row = page.locator(f'[data-testid="metric-{code}"]')
        row.locator(f'[name="m_{code}_use"]').check()
        row.locator(f'[name="m_{code}_weight"]').fill(weight)
        row.locator(f'[name="m_{code}_target_kind"]').select_option("fixed")
        row.locator(f'[name="m_{code}_target_value"]').fill("2")
    with page.expect_navigation():
        page.click('[data-testid="save"]')
    assert "100" in page.locator(".errorlist").first.inner_text()  # 60 + 30: refused, nothing saved
    assert not Scorecard.objects.exists()
    page.locator('[name="m_visits_weight"]').fill("40")
    both_widths(page, screenshots, "define", language)
    with page.expect_navigation():
        page.click('[data-testid="save"]')
    card = Scorecard.objects.get()
    assert page.locator("h1").first.inner_text() == "Field sales 外勤销售"

    # It runs the evaluation for last quarter (the form's default).
    with page.expect_navigation():
        page.click('[data-testid="run"]')
    evaluation = Evaluation.objects.get(scorecard=card)
    assert evaluation.period_start == last.start
    rows = page.locator('[data-testid="entry-row"]')
    assert rows.count() == 3
    assert rows.first.locator('[data-testid="total"]').inner_text() == "60.00"  # the owner: 2 of 2 new
    with page.expect_navigation():
        page.click('[data-testid="advance"]')
    assert Evaluation.objects.get().status == "in_review"
    both_widths(page, screenshots, "evaluation", language)

    # Manager A adjusts the teammate's visits score, with a reason.
    as_user(page, live_server, company.manager_a.username, language)
    mate = evaluation.entries.get(user=company.teammate)
    page.goto(f"/evaluations/entries/{mate.pk}/")
    form = page.locator('[data-testid="adjust-form"]')
    form.locator('[name="metric"]').select_option("visits")
    form.locator('[name="points"]').fill("20")
    form.locator('[name="reason"]').fill("线下拜访补录 / visits logged late")
    with page.expect_navigation():
        page.click('[data-testid="adjust"]')
    assert EvaluationAdjustment.objects.get().reason == "线下拜访补录 / visits logged late"
    assert page.locator('[data-testid="entry-total"]').inner_text() == "50.00"
    assert "线下拜访补录" in page.locator('[data-testid="breakdown"]').inner_text()
    both_widths(page, screenshots, "entry", language)

    # The admin publishes and locks it; the what-if page leaves it as it is.
    as_user(page, live_server, company.admin.username, language)
    page.goto(f"/evaluations/{evaluation.pk}/what-if/")
    page.locator('[name="w_new_customers_weight"]').fill("90")
    page.locator('[name="w_visits_weight"]').fill("10")
    page.click('[data-testid="try"]')
    page.wait_for_selector('[data-testid="what-if-table"]')
    assert page.locator('[data-testid="what-if-row"]').count() == 3
    both_widths(page, screenshots, "what-if", language)
    page.goto(f"/evaluations/{evaluation.pk}/")
    for _step in ("published", "locked"):
        with page.expect_navigation():
            page.click('[data-testid="advance"]')
    evaluation.refresh_from_db()
    assert evaluation.status == "locked"
    assert page.locator('[data-testid="advance"]').count() == 0
    assert t(language, "Locked") in page.locator('[data-testid="evaluation-status"]').inner_text()
    both_widths(page, screenshots, "locked", language)
