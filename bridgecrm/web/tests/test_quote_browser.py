"""The quote flow in a real browser: pick a product, see the totals update (htmx), save, send,
accept (a draft contract appears), open the print page; at phone and desktop widths, no CSP errors."""

from __future__ import annotations

import importlib
from decimal import Decimal

import pytest
from django.apps import apps

from bridgecrm.contracts.models import Contract, Quote
from bridgecrm.customers.tests.factories import make_customer
from bridgecrm.pipeline.models import Product
from bridgecrm.web.tests.test_browser import assert_fits, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def default_roles(transactional_db) -> None:
    migration = importlib.import_module("bridgecrm.users.migrations.0002_default_roles")
    migration.create(apps, None)


def test_quote_from_editor_to_contract(browser_page, company, live_server, screenshots) -> None:
    page = browser_page
    customer = make_customer(company.owner, name="上海华丰机械有限公司")
    # Made directly: a flushed database has the default roles back (above) but not later grants.
    product = Product.objects.create(
        sku="LIC-001", name="CRM 标准版许可", category="software", list_price=Decimal("1000.00"), currency="CNY"
    )
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, company.owner.username)
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"/quotes/new/?customer={customer.pk}")
    page.select_option("select[name=currency]", "CNY")
    page.select_option("select[name=lines-0-product]", str(product.pk))
    page.fill("input[name=lines-0-quantity]", "3")
    page.fill("input[name=lines-0-discount_percent]", "10")
    page.locator("input[name=lines-0-discount_percent]").blur()
    totals = page.locator("#quote-totals")
    totals.get_by_text("CNY 3,051.00").wait_for()  # 2,700.00 + 13% tax, computed by the server
    assert not Quote.objects.exists()  # the preview saved nothing
    page.screenshot(path=str(screenshots / "quote-editor-en-1440.png"), full_page=True)
    page.click("form.quote-editor button[type=submit]:not([name])")
    page.wait_for_url(f"{live_server.url}/quotes/*/")
    quote = Quote.objects.get()
    assert quote.total == 3051
    page.get_by_role("button", name="Mark as sent").click()
    page.get_by_role("button", name="Accepted by the customer").click()
    page.get_by_text(Contract.objects.get().number).wait_for()
    page.set_viewport_size({"width": 375, "height": 800})
    assert_fits(page, "quote detail 375")
    page.screenshot(path=str(screenshots / "quote-detail-en-375.png"), full_page=True)
    page.goto(f"/quotes/{quote.pk}/print/")
    page.get_by_text("上海华丰机械有限公司").wait_for()
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(screenshots / "quote-print-en-1280.png"), full_page=True)
    page.emulate_media(media="print")
    assert page.locator("nav.no-print").is_hidden()
    assert not page.problems, page.problems
