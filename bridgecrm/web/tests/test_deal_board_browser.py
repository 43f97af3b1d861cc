"""The deal board in a real browser: columns load lazily, drag and drop moves a deal, the stage gate
asks in place for exactly the missing fields, a stale card is told of the conflict, and on a phone
the "move to" select does the same without drag and drop."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from bridgecrm.customers.tests.factories import make_contact, make_customer
from bridgecrm.pipeline import services
from bridgecrm.pipeline.models import Deal, Stage
from bridgecrm.pipeline.tests.deal_factories import make_deal
from bridgecrm.pipeline.tests.factories import make_pipeline
from bridgecrm.web.tests.test_browser import assert_fits, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def default_roles(transactional_db) -> None:
    """The roles and grants data migrations made: an earlier transactional test may have flushed them."""
    importlib.import_module("bridgecrm.users.migrations.0002_default_roles").create(apps, None)
    importlib.import_module("bridgecrm.users.migrations.0003_grant_company_management").grant(apps, None)
    importlib.import_module("bridgecrm.users.migrations.0004_grant_pipeline_management").grant(apps, None)


def test_drag_to_a_gated_stage_asks_for_the_missing_fields(browser_page, company, live_server, screenshots):
    pipeline = make_pipeline(company.admin, "新客户销售", is_default=True)
    target = Stage.objects.get(pipeline=pipeline, order=3)
    services.stage_update(actor=company.admin, stage=target, gate_fields=["amount", "contact"])
    customer = make_customer(company.owner, "华东电气")
    contact = make_contact(customer, "王伟")
    deal = make_deal(company.owner, customer, "拖拽商机")
    stale = make_deal(company.owner, customer, "过期卡片")
    page = browser_page
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, company.owner.username)
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"/deals/board/?pipeline={pipeline.pk}")
    card = page.locator(f'[data-testid="deal-card"][data-deal="{deal.pk}"]')
    card.wait_for()
    column = page.locator(f'.board-col[data-stage="{target.pk}"]')
    card.drag_to(column)
    gate = page.locator('[data-testid="gate-form"]')
    gate.wait_for()
    assert gate.locator('[name="amount"]').is_visible()
    assert gate.locator('[name="contact"]').is_visible()
    assert gate.locator('[name="expected_close_date"]').count() == 0
    shot(page, screenshots, "board-gate", "en")
    assert Deal.objects.get(pk=deal.pk).stage.order == 1
    gate.locator('[name="amount"]').fill("8800")
    gate.locator('[name="contact"]').select_option(str(contact.pk))
    gate.locator('button[type="submit"]').click()
    page.locator(f'.board-col[data-stage="{target.pk}"] [data-testid="deal-card"][data-deal="{deal.pk}"]').wait_for()
    moved = Deal.objects.get(pk=deal.pk)
    assert (moved.stage_id, str(moved.amount), moved.contact_id) == (target.pk, "8800.00", contact.pk)
    assert page.locator(f'.board-col[data-stage="{target.pk}"] [data-testid="col-count"]').inner_text() == "1"

    # Someone else moves the other card meanwhile: this board's copy is stale, and it says so.
    services.deal_update(actor=company.manager_a, deal=stale, version=1, next_step="电话")
    second = Stage.objects.get(pipeline=pipeline, order=2)
    page.locator(f'[data-testid="deal-card"][data-deal="{stale.pk}"]').drag_to(
        page.locator(f'.board-col[data-stage="{second.pk}"]')
    )
    page.locator("#board-message").wait_for()
    assert "Someone else changed this deal" in page.locator("#board-message").inner_text()
    assert Deal.objects.get(pk=stale.pk).stage.order == 1
    # The refused moves are answered 400 (gate) and 409 (conflict), which Chromium logs; nothing else.
    expected = ("status of 400", "status of 409")
    assert not [p for p in page.problems if not any(e in p for e in expected)], page.problems


def test_phone_uses_the_move_select(browser_page, company, live_server, screenshots):
    pipeline = make_pipeline(company.admin, "新客户销售", is_default=True)
    customer = make_customer(company.owner, "华东电气")
    deal = make_deal(company.owner, customer, "手机商机", amount="1000")
    second = Stage.objects.get(pipeline=pipeline, order=2)
    page = browser_page
    sign_in(page, company.owner.username)
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"/deals/board/?pipeline={pipeline.pk}")
    card = page.locator(f'[data-testid="deal-card"][data-deal="{deal.pk}"]')
    card.wait_for()
    page.locator('[data-testid="board"]').wait_for()
    width = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert width[0] <= width[1], width  # the columns scroll sideways inside the board, not the page
    shot(page, screenshots, "board", "en")
    card.locator("select").select_option(str(second.pk))
    card.locator('button[type="submit"]').click()
    page.locator(f'.board-col[data-stage="{second.pk}"] [data-testid="deal-card"][data-deal="{deal.pk}"]').wait_for()
    assert Deal.objects.get(pk=deal.pk).stage_id == second.pk
    for url in ("/deals/", f"/deals/{deal.pk}/", "/deals/new/"):
        page.goto(url)
        assert_fits(page, url)
    assert not page.problems, page.problems
