"""Targets in a real browser, in both languages: the admin sets a company target, previews and
saves its split to the region, splits the region to its teams, and sees them on the progress page;
a manager opens the dashboard and a plan.

Screenshots: test-artifacts/screenshots/targets-<step>-<language>-<width>.png.
"""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from bridgecrm.core import dates
from bridgecrm.targets import services
from bridgecrm.targets.models import Target
from bridgecrm.web.tests.test_browser import assert_fits, shot, sign_in, switch_language

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
    importlib.import_module("bridgecrm.tiers.migrations.0002_default_tiers").create_defaults(apps, None)


def both_widths(page, screenshots, name: str, language: str) -> None:
    shot(page, screenshots, f"targets-{name}", language)
    page.set_viewport_size(PHONE)
    assert_fits(page, f"{name} {language} {PHONE['width']}")
    shot(page, screenshots, f"targets-{name}", language)
    page.set_viewport_size(DESKTOP)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_set_a_company_target_and_decompose_it(browser_page, company, live_server, screenshots, language) -> None:
    page = browser_page
    year = str(dates.company_today().year)
    page.set_viewport_size(DESKTOP)
    sign_in(page, company.admin.username)
    page.wait_for_url(f"{live_server.url}/")
    if language != "en":
        switch_language(page, language)

    # Set the company's signed-amount target for the year.
    page.goto("/targets/")
    with page.expect_navigation():
        page.click('[data-testid="new-target"]')
    page.select_option('[name="measure"]', "signed_amount")
    page.fill('[name="period"]', year)
    page.select_option('[name="scope"]', "company")
    page.fill('[name="amount"]', "1000000.01")
    both_widths(page, screenshots, "new", language)
    with page.expect_navigation():
        page.click('[data-testid="save-target"]')
    top = Target.objects.get(scope="company")
    assert top.amount == top.amount.__class__("1000000.01")

    # Preview the split to the region, then save it.
    page.select_option('[name="dimension"]', "scope")
    page.select_option('[name="method"]', "equal")
    with page.expect_navigation():
        page.click('[data-testid="preview"]')
    assert page.locator('[data-testid="preview-total"]').inner_text() == "1,000,000.01"
    assert not Target.objects.filter(parent=top).exists()
    both_widths(page, screenshots, "preview", language)
    with page.expect_navigation():
        page.click('[data-testid="save-split"]')
    region = Target.objects.get(parent=top)
    assert region.team_id == company.region.pk

    # The region into its two teams: the cents go to the first.
    page.goto(f"/targets/{region.pk}/")
    page.select_option('[name="method"]', "equal")
    with page.expect_navigation():
        page.click('[data-testid="preview"]')
    assert page.locator('[data-testid="preview-amount"]').all_inner_texts() == ["500,000.01", "500,000.00"]
    with page.expect_navigation():
        page.click('[data-testid="save-split"]')
    assert sorted(t.amount for t in Target.objects.filter(parent=region)) == sorted(
        [top.amount.__class__("500000.01"), top.amount.__class__("500000.00")]
    )
    both_widths(page, screenshots, "detail", language)

    # Team B's part by hand, inline (htmx): the sum no longer matches, and the page says so.
    team_b = Target.objects.get(parent=region, team=company.team_b)
    page.fill(f'[data-testid="adjust-{team_b.pk}"]', "600000")
    page.locator(f'[data-testid="adjust-{team_b.pk}"] + button').click()
    page.wait_for_selector('[data-testid="mismatch"]')
    assert Target.objects.get(pk=team_b.pk).amount == top.amount.__class__("600000.00")

    # The progress page shows the company, the region and both teams with their targets.
    page.goto(f"/targets/?measure=signed_amount&period={year}")
    row = page.locator(f'[data-testid="row-team-{company.team_a.pk}"] [data-testid="target-amount"]')
    assert row.inner_text() in ("500,000.01", "500,000.00")
    assert page.locator('[data-testid="row-company-0"] [data-testid="target-amount"]').inner_text() == "1,000,000.01"
    assert page.locator("html").get_attribute("lang") == language
    assert page.locator('[data-testid="mismatch-warnings"]').count() == 1
    both_widths(page, screenshots, "progress", language)

    # A manager's dashboard and a plan with an overdue milestone.
    plan = services.plan_create(actor=company.manager_a, name="Q push", period=year, scope="team", team=company.team_a)
    services.milestone_add(
        actor=company.manager_a, plan=plan, title="Overdue one", due_on=f"{year}-01-02", owner=company.owner
    )
    page.context.clear_cookies()
    sign_in(page, company.manager_a.username)
    page.wait_for_url(f"{live_server.url}/")
    if language != "en":
        switch_language(page, language)
    page.goto("/manager/")
    assert page.locator('[data-testid="dashboard-milestones"]').inner_text().count("Overdue one") == 1
    both_widths(page, screenshots, "dashboard", language)
    page.goto(f"/plans/{plan.pk}/")
    both_widths(page, screenshots, "plan", language)
