"""Issue 3's acceptance test, in a real browser and in both languages: a rep creates a customer and a
contact, logs a follow-up, opens a deal with product lines, drags it across the board through a stage
gate, quotes it, gets the quote accepted, activates the contract, plans and partly collects the money,
and finds what is still owed in the aging report. Only the admin's set-up (a pipeline with a gated
stage, a product) is made with services; everything else is clicks and typing.

Screenshots: test-artifacts/screenshots/flow-<step>-<language>-<width>.png.
"""

from __future__ import annotations

import datetime as dt
import importlib
from decimal import Decimal

import pytest
from django.apps import apps
from django.utils import timezone

from bridgecrm.activities.models import FollowUp
from bridgecrm.contracts.models import Contract, ContractStatus, Payment, PaymentAllocation, PaymentPlanLine, Quote
from bridgecrm.customers.models import Contact, Customer
from bridgecrm.pipeline import services
from bridgecrm.pipeline.models import Deal, DealStageChange, Stage
from bridgecrm.pipeline.tests.factories import make_pipeline, make_product
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


def t(language: str, text: str) -> str:
    return zh(text) if language == "zh-hans" else text


def submit(page, form) -> None:
    """Submit a server-rendered form with its (first) submit button and wait for the page it leads to."""
    with page.expect_navigation():
        form.locator('button[type="submit"]').first.click()


def phone_check(page, screenshots, name: str, language: str) -> None:
    page.set_viewport_size(PHONE)
    assert_fits(page, f"{name} {language} {PHONE['width']}")
    shot(page, screenshots, f"flow-{name}", language)
    page.set_viewport_size(DESKTOP)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_customer_to_collection(browser_page, company, live_server, screenshots, language) -> None:
    page = browser_page
    today = timezone.localdate()
    # The admin's set-up: a pipeline whose third stage asks for a close date and a contact, and a product.
    company.admin.language = language  # the default stages are named in the admin's language
    company.admin.save(update_fields=["language"])
    pipeline = make_pipeline(company.admin, "新客户销售", is_default=True)
    stages = {s.order: s for s in Stage.objects.filter(pipeline=pipeline)}
    services.stage_update(actor=company.admin, stage=stages[3], gate_fields=["expected_close_date", "contact"])
    product = make_product(company.admin, sku="LIC-100", name="CRM 标准版许可", list_price="1000.00", currency="CNY")

    page.set_viewport_size(DESKTOP)
    sign_in(page, company.owner.username)
    page.wait_for_url(f"{live_server.url}/")
    if language != "en":
        switch_language(page, language)
        nav = page.locator("nav.sidebar").inner_text()
        assert "客户" in nav and "首页" in nav, nav  # real Chinese, not the English fallback

    # 1. A customer, through its form, then a contact on its page.
    page.goto("/customers/new/")
    assert page.locator("h1").inner_text() == t(language, "New customer")
    form = page.locator("form.form-columns")
    form.locator('[name="name"]').fill("上海华丰机械有限公司")
    form.locator('[name="city"]').fill("上海")
    submit(page, form)
    customer = Customer.objects.get(name="上海华丰机械有限公司")
    assert customer.owner_id == company.owner.pk
    page.wait_for_url(f"{live_server.url}/customers/{customer.pk}/")
    page.click('details:has(form[action$="/contacts/new/"]) > summary')
    contact_form = page.locator('form[action$="/contacts/new/"]')
    contact_form.locator('[name="name"]').fill("王伟")
    contact_form.locator('[name="title"]').fill("采购经理")
    contact_form.locator('[name="phones"]').fill("138 0013 8000")
    submit(page, contact_form)
    contact = Contact.objects.get(customer=customer)
    assert contact.name == "王伟"
    assert "王伟" in page.locator("ul.contact-list").inner_text()

    # 2. A follow-up, logged from the customer page.
    page.click('[data-testid="log-follow-up"] > summary')
    panel = page.locator('[data-testid="log-follow-up"]')
    assert t(language, "Log a follow-up") in panel.locator("summary").first.inner_text()
    panel.locator('select[name="kind"]').select_option("visit")
    panel.locator('select[name="contact"]').select_option(str(contact.pk))
    panel.locator('textarea[name="summary"]').fill("上门拜访，确认了需求 / visited, needs confirmed")
    submit(page, panel.locator("form").first)
    follow_up = FollowUp.objects.get(customer=customer)
    assert (follow_up.kind, follow_up.contact_id) == ("visit", contact.pk)
    assert "上门拜访" in page.locator('[data-testid="activity-timeline"]').inner_text()
    shot(page, screenshots, "flow-customer", language)
    phone_check(page, screenshots, "customer", language)

    # 3. A deal for the customer, and product lines on its page.
    page.goto(f"/deals/new/?customer={customer.pk}")
    assert page.locator("h1").inner_text() == t(language, "New deal")
    form = page.locator("form.deal-form")
    assert form.locator('[name="customer"]').input_value() == str(customer.pk)
    form.locator('[name="name"]').fill("华丰 CRM 项目")
    submit(page, form)
    deal = Deal.objects.get(customer=customer)
    assert (deal.pipeline_id, deal.stage_id, deal.contact_id) == (pipeline.pk, stages[1].pk, None)
    page.wait_for_url(f"{live_server.url}/deals/{deal.pk}/")
    lines_form = page.locator('form[action$="/lines/"]')
    lines_form.locator('select[name="line-0-product"]').select_option(str(product.pk))
    lines_form.locator('[name="line-0-quantity"]').fill("3")
    submit(page, lines_form)
    assert page.locator('[data-testid="lines-total"]').inner_text() == "CNY 3,000.00"
    assert page.locator('[data-testid="deal-amount"]').inner_text() == "CNY 3,000.00"
    deal.refresh_from_db()
    assert deal.amount == Decimal("3000.00")
    shot(page, screenshots, "flow-deal", language)

    # 4. Across the board: an ungated stage at once, then the gated one asks in place for what is missing.
    page.goto(f"/deals/board/?pipeline={pipeline.pk}")
    assert t(language, "Board") in page.locator("h1").inner_text()
    card = page.locator(f'[data-testid="deal-card"][data-deal="{deal.pk}"]')
    card.wait_for()
    card.drag_to(page.locator(f'.board-col[data-stage="{stages[2].pk}"]'))
    in_second = page.locator(
        f'.board-col[data-stage="{stages[2].pk}"] [data-testid="deal-card"][data-deal="{deal.pk}"]'
    )
    in_second.wait_for()
    in_second.drag_to(page.locator(f'.board-col[data-stage="{stages[3].pk}"]'))
    gate = page.locator('[data-testid="gate-form"]')
    gate.wait_for()
    assert gate.locator('[name="expected_close_date"]').is_visible()
    assert gate.locator('[name="contact"]').is_visible()
    assert gate.locator('[name="amount"]').count() == 0  # the amount is there already
    assert t(language, "Cancel") in gate.inner_text()
    shot(page, screenshots, "flow-board-gate", language)
    assert Deal.objects.get(pk=deal.pk).stage_id == stages[2].pk  # nothing moved yet
    close_on = today + dt.timedelta(days=30)
    gate.locator('[name="expected_close_date"]').fill(close_on.isoformat())
    gate.locator('[name="contact"]').select_option(str(contact.pk))
    gate.locator('button[type="submit"]').click()
    page.locator(f'.board-col[data-stage="{stages[3].pk}"] [data-testid="deal-card"][data-deal="{deal.pk}"]').wait_for()
    deal.refresh_from_db()
    assert (deal.stage_id, deal.expected_close_date, deal.contact_id) == (stages[3].pk, close_on, contact.pk)
    moves = list(
        DealStageChange.objects.filter(deal=deal).order_by("changed_at", "id").values_list("from_stage", "to_stage")
    )
    assert moves == [(None, stages[1].pk), (stages[1].pk, stages[2].pk), (stages[2].pk, stages[3].pk)]
    assert all(c.changed_by_id == company.owner.pk for c in DealStageChange.objects.filter(deal=deal))
    shot(page, screenshots, "flow-board", language)
    phone_check(page, screenshots, "board", language)

    # 5. A quote from the deal (its lines copied), sent, accepted: a draft contract.
    page.goto(f"/quotes/new/?customer={customer.pk}&deal={deal.pk}")
    assert page.locator("h1").inner_text() == t(language, "New quote")
    editor = page.locator("form.quote-editor")
    assert editor.locator('[name="from_deal"]').is_checked()
    assert editor.locator('[name="contact"]').input_value() == str(contact.pk)  # the deal's contact
    with page.expect_navigation():
        editor.locator('button[type="submit"]:not([name])').click()
    quote = Quote.objects.get(customer=customer)
    assert (quote.deal_id, quote.contact_id, quote.subtotal) == (deal.pk, contact.pk, Decimal("3000.00"))
    shot(page, screenshots, "flow-quote", language)
    for action in ("send", "accept"):
        submit(page, page.locator(f'form:has(input[name="action"][value="{action}"])'))
    contract = Contract.objects.get(quote=quote)
    assert (contract.status, contract.amount, contract.deal_id) == (ContractStatus.DRAFT, quote.total, deal.pk)
    link = page.locator('[data-testid="quote-contract"]')
    assert link.inner_text() == contract.number
    shot(page, screenshots, "flow-quote-accepted", language)
    with page.expect_navigation():
        link.click()
    page.wait_for_url(f"{live_server.url}/contracts/{contract.pk}/")

    # 6. The contract: signed and activated, a payment plan, a partial payment that pays the oldest line first.
    assert t(language, "Activate the contract before recording payments.") in page.locator("main").inner_text()
    page.click(f'a[href="/contracts/{contract.pk}/edit/"]')
    page.wait_for_url(f"{live_server.url}/contracts/{contract.pk}/edit/")
    form = page.locator("form.form-columns")
    form.locator('[name="signed_on"]').fill((today - dt.timedelta(days=60)).isoformat())
    submit(page, form)
    submit(page, page.locator('form:has([data-testid="status-active"])'))
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE
    plan = page.locator('form[action$="/plan/"]')
    older, newer = today - dt.timedelta(days=45), today - dt.timedelta(days=10)
    # The later instalment is typed first: the allocation must follow the dates, not the rows.
    plan.locator('[name="due_on"]').nth(0).fill(newer.isoformat())
    plan.locator('[name="amount"]').nth(0).fill("2000")
    plan.locator('[name="note"]').nth(0).fill("尾款")
    plan.locator('[name="due_on"]').nth(1).fill(older.isoformat())
    plan.locator('[name="amount"]').nth(1).fill("1000")
    plan.locator('[name="note"]').nth(1).fill("首付款")
    submit(page, plan)
    lines = {line.due_on: line for line in PaymentPlanLine.objects.filter(contract=contract)}
    assert {d: line.amount for d, line in lines.items()} == {older: Decimal("1000.00"), newer: Decimal("2000.00")}
    assert page.locator('[data-testid="line-status"]').count() == 2
    page.click('details:has(form[action$="/payments/"]) > summary')
    pay = page.locator('form[action$="/payments/"]')
    pay.locator('[name="amount"]').fill("600")
    pay.locator('[name="reference"]').fill("HF-2026-001")
    submit(page, pay)
    payment = Payment.objects.get(contract=contract)
    assert payment.amount == Decimal("600.00")
    allocations = list(PaymentAllocation.objects.filter(payment=payment).values_list("plan_line_id", "amount"))
    assert allocations == [(lines[older].pk, Decimal("600.00"))]
    paid = dict(PaymentPlanLine.objects.filter(contract=contract).values_list("due_on", "paid_amount"))
    assert paid == {older: Decimal("600.00"), newer: Decimal("0.00")}
    assert page.locator('[data-testid="received"]').inner_text() == "CNY 600.00"
    assert t(language, "Payment plan") in page.locator("main").inner_text()
    shot(page, screenshots, "flow-contract", language)
    phone_check(page, screenshots, "contract", language)

    # 7. Aging: the 400 left of the 45-day-old line is in 31–60 days, the 2,000 in 1–30 days.
    page.goto("/collections/aging/")
    assert page.locator("h1").inner_text() == t(language, "Receivables aging")
    headers = [h.strip() for h in page.locator("table thead th").all_inner_texts()]
    assert headers[1:6] == [
        t(language, label) for label in ("Not yet due", "1–30 days", "31–60 days", "61–90 days", "Over 90 days")
    ]
    row = page.locator("table tbody tr", has=page.locator(f'a:text-is("{customer.name}")'))
    cells = [c.strip() for c in row.locator("td").all_inner_texts()]
    assert cells[1:] == ["0.00", "2,000.00", "400.00", "0.00", "0.00", "2,400.00", "2,400.00"], cells
    shot(page, screenshots, "flow-aging", language)
    phone_check(page, screenshots, "aging", language)

    # Refused moves are answered 400 (the gate), which Chromium logs; nothing else.
    assert not [p for p in page.problems if "status of 400" not in p], page.problems
