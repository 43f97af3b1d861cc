"""Issue 4's custom field acceptance in a real browser, in both languages: an admin adds a field
through the admin page (a single select with Chinese and English labels), a rep sets it on a
customer through the customer form, sees it as a column of the customer list, and filters by it.

Screenshots: test-artifacts/screenshots/fields-<step>-<language>-<width>.png.
"""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from bridgecrm.customers import services as customer_services
from bridgecrm.customers.models import Customer
from bridgecrm.customization.models import FieldDefinition
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


def submit(page, form) -> None:
    with page.expect_navigation():
        form.locator('button[type="submit"]').first.click()


def both_widths(page, screenshots, name: str, language: str) -> None:
    shot(page, screenshots, f"fields-{name}", language)
    page.set_viewport_size(PHONE)
    assert_fits(page, f"{name} {language} {PHONE['width']}")
    shot(page, screenshots, f"fields-{name}", language)
    page.set_viewport_size(DESKTOP)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_add_a_custom_field_and_see_it_in_the_customer_list(
    browser_page, company, live_server, screenshots, language
) -> None:
    page = browser_page
    other = customer_services.customer_create(actor=company.owner, name="北京远景科技有限公司")
    page.set_viewport_size(DESKTOP)

    # 1. The admin adds the field through the admin page.
    sign_in(page, company.admin.username)
    page.wait_for_url(f"{live_server.url}/")
    if language != "en":
        switch_language(page, language)
    page.click('nav.sidebar a[href="/manage/fields/"]')
    page.wait_for_url(f"{live_server.url}/manage/fields/")
    assert page.locator("h1").inner_text() == t(language, "Custom fields")
    page.click('[data-testid="field-add"]')
    form = page.locator('[data-testid="field-form"]')
    form.locator('[name="entity"]').select_option("customer")
    form.locator('[name="type"]').select_option("single_select")
    form.locator('[name="label_en"]').fill("Contract tier")
    form.locator('[name="label_zh"]').fill("合同级别")
    form.locator('[name="options"]').fill("gold | Gold | 金牌\nsilver | Silver | 银牌")
    form.locator('[name="section"]').fill("合同 / Contract")
    shot(page, screenshots, "fields-admin-form", language)
    submit(page, form)
    page.wait_for_url(f"{live_server.url}/manage/fields/")
    field = FieldDefinition.objects.get(entity="customer", key="contract_tier")
    label = "合同级别" if language == "zh-hans" else "Contract tier"
    assert label in page.locator('[data-testid="field-row"]').first.inner_text()
    both_widths(page, screenshots, "admin-list", language)
    page.context.clear_cookies()

    # 2. A rep creates a customer with the new field, in the form's new section.
    sign_in(page, company.owner.username)
    page.wait_for_url(f"{live_server.url}/")
    if language != "en":
        switch_language(page, language)
    page.goto("/customers/new/")
    form = page.locator("form.form-columns")
    assert "合同 / Contract" in form.locator(".cf-section").inner_text()
    form.locator('[name="name"]').fill("上海华丰机械有限公司")
    form.locator(f'[name="custom.{field.key}"]').select_option("gold")
    submit(page, form)
    customer = Customer.objects.get(name="上海华丰机械有限公司")
    assert customer.custom == {field.key: "gold"}
    gold = "金牌" if language == "zh-hans" else "Gold"
    assert gold in page.locator('[data-testid="custom-values"]').inner_text()
    both_widths(page, screenshots, "customer-detail", language)

    # 3. The customer list shows the column, and filters by the field.
    page.goto("/customers/")
    header = page.locator("table.customer-table thead").inner_text()
    assert label in header
    assert gold in page.locator("table.customer-table tbody").inner_text()
    page.click("form.filters details > summary")
    page.locator(f'form.filters [name="cf_{field.key}"]').select_option("gold")
    submit(page, page.locator("form.filters"))
    rows = page.locator("table.customer-table tbody").inner_text()
    assert "上海华丰机械有限公司" in rows
    assert other.name not in rows
    both_widths(page, screenshots, "customer-list", language)
    assert page.problems == []
