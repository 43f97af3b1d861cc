"""Issue 4's pool acceptance test in a real browser and in both languages: a rep opens the public
pool from the navigation, sees a customer with its contact's phone and e-mail masked, opens it,
claims it and lands on the customer's own page, where the details show in full and the timeline
says how it came to them. Only the set-up (a customer released to the pool by the admin) is made
with services.

Screenshots: test-artifacts/screenshots/pool-<step>-<language>-<width>.png.
"""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.apps import apps
from django.utils import timezone

from bridgecrm.customers.models import Customer
from bridgecrm.customers.tests.factories import make_contact, make_customer
from bridgecrm.pool import selectors, services
from bridgecrm.pool.models import PoolEvent, PoolEventKind
from bridgecrm.web.tests.test_browser import assert_fits, shot, sign_in, switch_language, zh

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(autouse=True)
def default_roles(transactional_db) -> None:
    """The roles and grants data migrations made: an earlier transactional test may have flushed them."""
    importlib.import_module("bridgecrm.users.migrations.0002_default_roles").create(apps, None)
    importlib.import_module("bridgecrm.users.migrations.0005_grant_customer_operations").grant(apps, None)


def t(language: str, text: str) -> str:
    return zh(text) if language == "zh-hans" else text


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_rep_claims_a_customer_from_the_pool(browser_page, company, live_server, screenshots, language) -> None:
    page = browser_page
    customer = make_customer(
        company.admin, name="深圳蓝海电子有限公司", industry="technology", province="GD", city="深圳"
    )
    make_contact(
        customer, name="李娜", title="采购总监", phones=["13800138000"], email="lina@lanhai.cn", is_primary=True
    )
    services.pool_release(
        actor=company.admin, customer=customer, reason="预算冻结", now=timezone.now() - dt.timedelta(days=2)
    )
    other = make_customer(company.admin, name="杭州青山物流", industry="logistics", province="ZJ")
    services.pool_release(actor=company.admin, customer=other, reason="联系不上")

    page.set_viewport_size(DESKTOP)
    sign_in(page, company.owner.username)
    page.wait_for_url(f"{live_server.url}/")
    if language != "en":
        switch_language(page, language)

    # 1. The pool, from the navigation: masked details, the rep's standing.
    with page.expect_navigation():
        page.locator("nav.sidebar").get_by_role("link", name=t(language, "Public pool")).first.click()
    assert page.locator("h1").inner_text() == t(language, "Public pool")
    table = page.locator("table.pool-table").inner_text()
    assert "深圳蓝海电子有限公司" in table and "杭州青山物流" in table
    assert "138****8000" in table and "l***@lanhai.cn" in table
    assert "13800138000" not in page.content() and "lina@lanhai.cn" not in page.content()
    status = page.locator('[data-testid="pool-status"]').inner_text()
    assert f"{t(language, 'Your holdings')}: 0 / 200" in status
    assert f"{t(language, 'Claims left today')}: 10" in status
    shot(page, screenshots, "pool-list", language)
    page.set_viewport_size(PHONE)
    assert_fits(page, f"pool list {language} 390")
    shot(page, screenshots, "pool-list", language)
    page.set_viewport_size(DESKTOP)

    # 2. A filter, then the customer's pool page.
    page.locator('select[name="industry"]').select_option("technology")
    with page.expect_navigation():
        page.locator("form.filters button[type=submit]").click()
    assert page.locator('[data-testid="pool-row"]').count() == 1
    with page.expect_navigation():
        page.get_by_role("link", name="深圳蓝海电子有限公司").click()
    assert page.locator("h1").inner_text().startswith("深圳蓝海电子有限公司")
    contact = page.locator('[data-testid="pool-contact"]').inner_text()
    assert "李娜" in contact and "138****8000" in contact and "l***@lanhai.cn" in contact
    assert "预算冻结" in page.locator("section.panel").inner_text()
    shot(page, screenshots, "pool-detail", language)
    page.set_viewport_size(PHONE)
    assert_fits(page, f"pool detail {language} 390")
    shot(page, screenshots, "pool-detail", language)
    page.set_viewport_size(DESKTOP)

    # 3. Claim: the customer is the rep's, with its details in full and the claim on its timeline.
    with page.expect_navigation():
        page.locator('[data-testid="claim"]').click()
    page.wait_for_url(f"{live_server.url}/customers/{customer.pk}/")
    claimed = Customer.objects.get(pk=customer.pk)
    assert (claimed.owner_id, claimed.team_id, claimed.pooled_at) == (company.owner.pk, company.team_a.pk, None)
    assert PoolEvent.objects.filter(customer=customer, kind=PoolEventKind.CLAIMED, user=company.owner).count() == 1
    body = page.locator("main").inner_text()
    assert "138" in body and "8000" in body and "****" not in body
    assert "lina@lanhai.cn" in body
    claim_text = t(language, "Claimed from the public pool by %(name)s") % {"name": company.owner.display_name}
    assert claim_text in body
    shot(page, screenshots, "pool-claimed", language)

    # 4. Back in the pool: one customer fewer, one claim used.
    page.goto("/pool/")
    assert "深圳蓝海电子有限公司" not in page.locator("table.pool-table").inner_text()
    status = page.locator('[data-testid="pool-status"]').inner_text()
    assert f"{t(language, 'Your holdings')}: 1 / 200" in status
    assert f"{t(language, 'Claims left today')}: 9" in status
    assert not page.problems, page.problems


def test_manager_distributes_and_admin_sets_the_rules(browser_page, company, live_server, screenshots) -> None:
    page = browser_page
    names = ["苏州东方纺织", "无锡新材料", "常州精工"]
    for name in names:
        services.pool_release(actor=company.admin, customer=make_customer(company.admin, name=name), reason="x")

    page.set_viewport_size(DESKTOP)
    sign_in(page, company.manager_a.username)
    page.wait_for_url(f"{live_server.url}/")
    page.goto("/pool/")
    for box in page.locator('input[name="customers"]').all():
        box.check()
    page.locator('select[name="users"]').select_option([str(company.owner.pk), str(company.teammate.pk)])
    page.locator('select[name="mode"]').select_option("round_robin")
    shot(page, screenshots, "pool-distribute", "en")
    page.set_viewport_size(PHONE)
    assert_fits(page, "pool distribute en 390")
    shot(page, screenshots, "pool-distribute", "en")
    page.set_viewport_size(DESKTOP)
    with page.expect_navigation():
        page.locator('button[form="distribute"]').click()
    assert "3" in page.locator("ul.messages").inner_text()
    owners = sorted(Customer.objects.filter(name__in=names).values_list("owner_id", flat=True))
    assert owners == sorted([company.owner.pk, company.teammate.pk, company.owner.pk])
    assert page.locator('[data-testid="pool-row"]').count() == 0

    # The admin's rules page.
    page.context.clear_cookies()
    sign_in(page, company.admin.username)
    page.wait_for_url(f"{live_server.url}/")
    page.goto("/pool/rules/")
    page.fill('[name="holding_limit"]', "150")
    shot(page, screenshots, "pool-rules", "en")
    with page.expect_navigation():
        page.locator("form.form button[type=submit]").click()
    assert selectors.rules_get().holding_limit == 150
    assert not page.problems, page.problems
