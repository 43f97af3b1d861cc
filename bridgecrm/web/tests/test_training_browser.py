"""Training in a real browser, in both languages: a manager records a training session (creates it,
enrols a rep, marks attendance and a score) and the rep sees the completion on "My training" and in
his scorecard.

Screenshots: test-artifacts/screenshots/training-<step>-<language>-<width>.png.
"""

from __future__ import annotations

import datetime as dt
import importlib
from decimal import Decimal

import pytest
from django.apps import apps
from django.utils import timezone

from bridgecrm.core.periods import Period
from bridgecrm.scorecards import scoring
from bridgecrm.scorecards import services as scorecard_services
from bridgecrm.training import selectors, services
from bridgecrm.training.models import Enrollment, TrainingSession
from bridgecrm.users.tests.factories import role
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
    shot(page, screenshots, f"training-{name}", language)
    page.set_viewport_size(PHONE)
    assert_fits(page, f"{name} {language} {PHONE['width']}")
    shot(page, screenshots, f"training-{name}", language)
    page.set_viewport_size(DESKTOP)


def start(page, live_server, username: str, language: str) -> None:
    page.context.clear_cookies()
    sign_in(page, username)
    page.wait_for_url(f"{live_server.url}/")
    if language != "en":
        switch_language(page, language)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_record_a_training_session(browser_page, company, live_server, screenshots, language) -> None:
    page = browser_page
    page.set_viewport_size(DESKTOP)
    course = services.course_create(actor=company.admin, title="异议处理 Objection handling", pass_score="70")
    services.article_create(
        actor=company.owner, kind="objection", title="“太贵了” Too expensive", body="先问：和什么比贵？", tags="价格"
    )
    services.coaching_plan_create(
        actor=company.manager_a,
        rep=company.owner,
        title="提升赢单率",
        kpis="win_rate: 赢单率",
        next_check_in=timezone.localdate(),
    )

    # The manager of team A creates yesterday's session.
    start(page, live_server, company.manager_a.username, language)
    page.goto("/training/sessions/new/")
    assert page.locator("h1").inner_text() == t(language, "New session")
    both_widths(page, screenshots, "session-new", language)
    page.select_option('[name="course"]', str(course.pk))
    yesterday = timezone.localtime() - dt.timedelta(days=1)
    page.fill('[name="starts_at"]', yesterday.strftime("%Y-%m-%dT10:00"))
    page.fill('[name="location"]', "上海总部 3F")
    with page.expect_navigation():
        page.click('[data-testid="save-session"]')
    session = TrainingSession.objects.get()
    assert page.url.endswith(f"/training/sessions/{session.pk}/")

    # … enrols the owner …
    page.select_option('[name="users"]', [str(company.owner.pk)])
    with page.expect_navigation():
        page.click('[data-testid="enrol"]')
    enrollment = Enrollment.objects.get()
    assert enrollment.user_id == company.owner.pk

    # … and marks attendance with a score above the pass score (70): the course is completed.
    row = page.locator(f'[data-testid="enrolment-row"][data-user="{company.owner.username}"]')
    row.locator("select").select_option("yes")
    row.locator('input[name$="-score"]').fill("85")
    with page.expect_navigation():
        page.click('[data-testid="save-attendance"]')
    enrollment.refresh_from_db()
    assert enrollment.attended is True and str(enrollment.score) == "85.00" and enrollment.completed_at is not None
    row = page.locator(f'[data-testid="enrolment-row"][data-user="{company.owner.username}"]')
    assert row.locator('[data-testid="completed"]').inner_text() == t(language, "Completed")
    both_widths(page, screenshots, "session", language)

    page.goto("/training/sessions/")
    assert page.locator('[data-testid="session-row"]').count() == 1
    both_widths(page, screenshots, "sessions", language)
    page.goto("/coaching/")
    assert page.locator('[data-testid="coaching-due"]').count() == 1
    both_widths(page, screenshots, "coaching", language)

    # The rep sees the completion on "My training", and what the scorecards will read.
    start(page, live_server, company.owner.username, language)
    page.goto("/training/")
    assert page.locator('[data-testid="my-completed"]').inner_text().replace(" ", "") == "1/1"
    assert page.locator('[data-testid="my-enrolment"]').count() == 1
    both_widths(page, screenshots, "mine", language)
    local_day = timezone.localtime(session.starts_at).date()
    period = Period.containing("quarter", local_day)
    assert selectors.completion_rates(period=period, user_ids=[company.owner.pk])[company.owner.pk] == 1

    # … and in the scorecard: a scorecard of training completion, run for the quarter and
    # published, shows the rep full points for it, with the figure behind them.
    card = scorecard_services.scorecard_save(
        actor=company.admin,
        values=scorecard_services.ScorecardValues(
            name="Training",
            description="",
            period_kind="quarter",
            is_active=True,
            role_ids=[role("rep").pk],
            team_ids=[],
            rules=[scoring.Rule("training_completion", Decimal(100), target_value=Decimal(1))],
        ),
    )
    evaluation = scorecard_services.evaluation_run(actor=company.admin, scorecard=card, period=period)
    for step in ("in_review", "published"):
        evaluation = scorecard_services.evaluation_advance(actor=company.admin, evaluation=evaluation, to=step)
    entry = evaluation.entries.get(user=company.owner)
    page.goto(f"/evaluations/entries/{entry.pk}/")
    line = page.locator('[data-testid="line-training_completion"]')
    assert line.locator("strong").first.inner_text() == "100.00"
    assert page.locator('[data-testid="entry-total"]').inner_text() == "100.00"
    both_widths(page, screenshots, "scorecard-entry", language)

    page.goto("/library/?tag=价格")
    assert page.locator('[data-testid="article-row"]').count() == 1
    both_widths(page, screenshots, "library", language)
    page.locator('[data-testid="article-row"] a').first.click()
    page.wait_for_selector('[data-testid="article-body"]')
    both_widths(page, screenshots, "article", language)
    assert not page.problems, page.problems
