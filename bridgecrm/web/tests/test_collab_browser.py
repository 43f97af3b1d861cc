"""Collaboration in a real browser, in both languages: a rep comments on a customer and mentions
their manager through the @ picker; the manager finds the mention in the inbox (filtered by kind),
opens the comment, and reads the team's day in the feed.

Screenshots: test-artifacts/screenshots/collab-<step>-<language>-<width>.png.
"""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from bridgecrm.activities import services as activity_services
from bridgecrm.activities.models import Notification, NotificationKind
from bridgecrm.collab.models import Comment, Mention
from bridgecrm.customers.tests.factories import make_customer
from bridgecrm.web.tests.test_browser import assert_fits, shot, sign_in, switch_language

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(autouse=True)
def default_roles(transactional_db) -> None:
    """The roles and grants data migrations made: an earlier transactional test may have flushed them."""
    importlib.import_module("bridgecrm.users.migrations.0002_default_roles").create(apps, None)


def both_widths(page, screenshots, name: str, language: str) -> None:
    page.set_viewport_size(DESKTOP)
    assert_fits(page, f"{name} {language} desktop")
    shot(page, screenshots, f"collab-{name}", language)
    page.set_viewport_size(PHONE)
    assert_fits(page, f"{name} {language} phone")
    shot(page, screenshots, f"collab-{name}", language)
    page.set_viewport_size(DESKTOP)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_comment_mention_inbox_and_feed(browser_page, company, live_server, screenshots, language) -> None:
    page = browser_page
    customer = make_customer(company.owner, name="上海华丰机械有限公司")
    activity_services.follow_up_log(actor=company.owner, customer=customer, kind="call", summary="电话沟通需求")
    page.set_viewport_size(DESKTOP)
    sign_in(page, company.owner.username)
    page.wait_for_url(f"{live_server.url}/")
    if language != "en":
        switch_language(page, language)

    # 1. The rep writes a comment and picks their manager from the @ picker.
    page.goto(f"/customers/{customer.pk}/")
    panel = page.locator('[data-testid="comments"]')
    area = panel.locator('textarea[name="body"]')
    area.click()
    area.press_sequentially("请 @man")
    option = panel.locator('[data-testid="mention-option"]')
    option.first.wait_for()
    assert option.count() == 1  # only manager_a: the others cannot see this customer
    option.first.click()
    assert area.input_value() == "请 @manager_a "
    area.press_sequentially("看一下报价 https://example.com/q/1\n谢谢")
    with page.expect_navigation():
        panel.locator('[data-testid="comment-submit"]').click()
    comment = Comment.objects.get()
    assert list(Mention.objects.values_list("user__username", flat=True)) == ["manager_a"]
    shown = page.locator(f"#comment-{comment.pk}")
    assert shown.locator(".mention").inner_text() == "@manager_a"
    assert shown.locator('a[href="https://example.com/q/1"]').count() == 1
    both_widths(page, screenshots, "customer-comments", language)

    # 2. The manager finds the mention in the inbox, filtered by kind, and opens the comment.
    page.context.clear_cookies()
    sign_in(page, company.manager_a.username)
    page.wait_for_url(f"{live_server.url}/")
    if language != "en":
        switch_language(page, language)
    page.goto("/notifications/")
    page.locator("#inbox-kind").select_option(NotificationKind.MENTION)
    with page.expect_navigation():
        page.locator('[data-testid="inbox-kind"] button').click()
    assert "kind=mention" in page.url
    items = page.locator('[data-testid="notification"]')
    assert items.count() == 1
    both_widths(page, screenshots, "inbox", language)
    with page.expect_navigation():
        items.first.locator("form:has(input[name=open]) button").click()
    assert page.url.endswith(f"/customers/{customer.pk}/#comment-{comment.pk}")
    assert Notification.objects.get(recipient=company.manager_a).read_at is not None

    # 3. The manager follows the customer, then reads the team's day.
    with page.expect_navigation():
        page.locator('[data-testid="follow-toggle"]').click()
    assert "manager_a" not in page.locator('[data-testid="followers"]').inner_text()  # names, not usernames
    assert company.manager_a.display_name in page.locator('[data-testid="followers"]').inner_text()
    page.goto("/feed/")
    kinds = page.locator('[data-testid="feed-item"]').evaluate_all("els => els.map(e => e.dataset.kind)")
    assert set(kinds) == {"customer", "follow_up", "comment"}
    both_widths(page, screenshots, "feed", language)
    assert not page.problems, page.problems
