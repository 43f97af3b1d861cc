"""Logging a follow-up from the customer page and ticking off a task on "my day", in a real browser."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.apps import apps

from bridgecrm.activities.models import FollowUp, Task
from bridgecrm.activities.selectors import day_bounds
from bridgecrm.activities.tests.factories import make_task
from bridgecrm.core import dates
from bridgecrm.customers.tests.factories import make_customer
from bridgecrm.users.tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def default_roles(transactional_db) -> None:
    migration = importlib.import_module("bridgecrm.users.migrations.0002_default_roles")
    migration.create(apps, None)


def _sign_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click('[data-testid="sign-in"]')


def test_log_a_follow_up_and_finish_a_task(browser_page, company, screenshots) -> None:
    page = browser_page
    customer = make_customer(company.owner, "浏览器客户 Browser Ltd")
    # Due late today in the company's time zone: "now + 2 hours" is tomorrow after 22:00 in Shanghai.
    tonight = day_bounds(dates.company_today(), dates.company_zone())[1] - dt.timedelta(minutes=1)
    make_task(company.owner, title="Ring the buyer", customer=customer, due_at=tonight)
    _sign_in(page, company.owner.username)
    page.goto(f"/customers/{customer.pk}/")
    page.click('[data-testid="log-follow-up"] summary')
    panel = page.locator('[data-testid="log-follow-up"]')
    panel.locator('select[name="kind"]').select_option("wechat")
    panel.locator('textarea[name="summary"]').fill("微信沟通了报价 / sent the price on WeChat")
    with page.expect_navigation():
        panel.locator('button[type="submit"]').click()
    assert "微信沟通了报价" in page.locator('[data-testid="activity-timeline"]').inner_text()
    assert FollowUp.objects.get().kind == "wechat"
    page.screenshot(path=str(screenshots / "activities-customer-en-375.png"), full_page=True)
    page.goto("/my-day/")
    assert "Ring the buyer" in page.locator('[data-testid="my-day"]').inner_text()
    with page.expect_navigation():
        page.click('[data-testid="task-done"]')
    assert Task.objects.get().done_at is not None
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto("/calendar/?view=month")
    page.screenshot(path=str(screenshots / "activities-calendar-en-1440.png"), full_page=True)
    assert not page.problems, page.problems
