"""Issue 4's duplicate check and merge, in a real browser and in both languages: a manager types a
customer that already exists, is shown the match and saves it anyway, then finds the pair from the
new customer's page, picks which values stay in the merge wizard and merges them. The duplicate's
contact, follow-up and deal move over; the old customer is gone and the timeline says so.

Screenshots: test-artifacts/screenshots/merge-<step>-<language>-<width>.png.
"""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.apps import apps
from django.utils import timezone

from bridgecrm.activities import services as activity_services
from bridgecrm.activities.models import FollowUp
from bridgecrm.customers.models import Contact, Customer
from bridgecrm.customers.tests.factories import make_contact, make_customer
from bridgecrm.web.tests.test_browser import assert_fits, shot, sign_in, switch_language, zh

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(autouse=True)
def default_roles(transactional_db) -> None:
    """The roles and grants data migrations made: an earlier transactional test may have flushed them."""
    importlib.import_module("bridgecrm.users.migrations.0002_default_roles").create(apps, None)
    importlib.import_module("bridgecrm.users.migrations.0003_grant_company_management").grant(apps, None)
    importlib.import_module("bridgecrm.users.migrations.0004_grant_pipeline_management").grant(apps, None)
    importlib.import_module("bridgecrm.users.migrations.0005_grant_customer_operations").grant(apps, None)


def t(language: str, text: str) -> str:
    return zh(text) if language == "zh-hans" else text


def submit(page, form, selector: str = 'button[type="submit"]') -> None:
    with page.expect_navigation():
        form.locator(selector).first.click()


def both_widths(page, screenshots, name: str, language: str) -> None:
    shot(page, screenshots, f"merge-{name}", language)
    page.set_viewport_size(PHONE)
    assert_fits(page, f"{name} {language} {PHONE['width']}")
    shot(page, screenshots, f"merge-{name}", language)
    page.set_viewport_size(DESKTOP)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_duplicate_warning_and_merge(browser_page, company, live_server, screenshots, language) -> None:
    page = browser_page
    old = make_customer(company.owner, name="上海华丰机械", city="上海", province="SH", industry="manufacturing")
    make_contact(old, name="王伟", phones=["13800138000"], is_primary=True)
    activity_services.follow_up_log(
        actor=company.owner,
        customer=old,
        kind="call",
        summary="电话沟通 / called",
        occurred_at=timezone.now() - dt.timedelta(hours=2),
    )

    page.set_viewport_size(DESKTOP)
    sign_in(page, company.manager_a.username)
    page.wait_for_url(f"{live_server.url}/")
    if language != "en":
        switch_language(page, language)

    # 1. The new customer's name matches the owner's customer: the form shows it and asks.
    page.goto("/customers/new/")
    form = page.locator("form.form-columns")
    form.locator('[name="name"]').fill("上海华丰机械有限公司")
    submit(page, form)
    warning = page.locator('[data-testid="duplicate-matches"]')
    warning.wait_for()
    assert "上海华丰机械" in warning.inner_text()
    assert t(language, "same name") in warning.inner_text()
    assert Customer.objects.filter(name="上海华丰机械有限公司").count() == 0
    both_widths(page, screenshots, "warning", language)
    form = page.locator("form.form-columns")
    form.locator('[data-testid="allow-duplicate"]').check()
    submit(page, form)
    new = Customer.objects.get(name="上海华丰机械有限公司")
    page.wait_for_url(f"{live_server.url}/customers/{new.pk}/")

    # 2. The report lists the pair; from the new customer's page to its duplicates and the wizard.
    page.goto("/customers/duplicates/")
    group = page.locator('[data-testid="duplicate-group"]')
    assert group.count() == 1 and "上海华丰机械有限公司" in group.inner_text()
    both_widths(page, screenshots, "report-pair", language)
    page.goto(f"/customers/{new.pk}/")
    with page.expect_navigation():
        page.click('[data-testid="find-duplicates"]')
    rows = page.locator('[data-testid="duplicate-row"]')
    assert rows.count() == 1 and "上海华丰机械" in rows.first.inner_text()
    both_widths(page, screenshots, "duplicates", language)
    with page.expect_navigation():
        rows.first.locator('[data-testid="merge-link"]').click()
    assert page.locator("h1").inner_text() == t(language, "Merge customers")
    # The new one has no industry: the wizard proposes the old one's; take its city too.
    assert page.locator('[data-testid="choose-loser-industry"]').is_checked()
    page.locator('[data-testid="choose-loser-place"]').check()
    both_widths(page, screenshots, "wizard", language)
    submit(page, page.locator("form.merge-form"), '[data-testid="merge-submit"]')
    page.wait_for_url(f"{live_server.url}/customers/{new.pk}/")

    # 3. One customer left, with the other's contact, follow-up, industry and place; the timeline says so.
    new.refresh_from_db()
    assert (new.industry, new.province, new.city) == ("manufacturing", "SH", "上海")
    assert Customer.objects.get(pk=old.pk).merged_into_id == new.pk
    assert list(Contact.objects.filter(customer=new).values_list("name", flat=True)) == ["王伟"]
    assert FollowUp.objects.filter(customer=new).count() == 1
    assert "王伟" in page.locator("ul.contact-list").inner_text()
    timeline = page.locator('[data-testid="activity-timeline"]').inner_text()
    assert "上海华丰机械" in timeline
    both_widths(page, screenshots, "merged", language)
    page.goto(f"/customers/{old.pk}/")
    assert page.locator("h1").count() == 0 or page.locator("h1").inner_text() != "上海华丰机械"

    # 4. The report no longer lists the pair.
    page.goto("/customers/duplicates/")
    assert page.locator('[data-testid="duplicate-group"]').count() == 0
    both_widths(page, screenshots, "report", language)
